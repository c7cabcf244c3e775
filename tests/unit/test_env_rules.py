"""The R-ENV rule functions, without a lab: every branch, and properties over arbitrary values."""

from hypothesis import given, settings, strategies as st

from wa_compliance.rules import env as rules


def test_missing_required_treats_blank_and_bare_as_missing():
    values = {"WA_DB_ENGINE": "MYSQL", "WA_DB_HOSTNAME": "  ", "WA_DB_PORT": None, "WA_DB_USERNAME": "u"}
    assert rules.missing_required(values) == ["WA_DB_HOSTNAME", "WA_DB_PORT", "WA_DB_PASSWORD"]


def test_engine_accepts_meta_spellings_case_insensitively():
    assert rules.engine_problems("MYSQL") == []
    assert rules.engine_problems("pgsql") == []
    assert rules.engine_problems("postgres") == ["WA_DB_ENGINE is 'postgres'; accepted values: MYSQL, PGSQL"]
    assert rules.engine_problems(None) == ["WA_DB_ENGINE is not set; accepted values: MYSQL, PGSQL"]


def test_port_bounds():
    assert rules.port_problems("1") == [] and rules.port_problems("65535") == []
    for bad in ("0", "65536", "-1", "33o6", " 3306", "", "3306.0"):
        assert rules.port_problems(bad) == [f"WA_DB_PORT is {bad!r}, expected an integer 1-65535"]


def test_idle_timeout_rules():
    assert rules.idle_timeout_problems("180000", "MYSQL") == []
    assert rules.idle_timeout_problems("1000", "mysql") == []
    [seconds] = rules.idle_timeout_problems("180", "MYSQL")
    assert "probably meant as seconds (180000 ms?)" in seconds
    [pgsql] = rules.idle_timeout_problems("180000", "PGSQL")
    assert "only has an effect with MySQL" in pgsql
    assert len(rules.idle_timeout_problems("0", "PGSQL")) == 2
    assert "expected a positive integer" in rules.idle_timeout_problems("3m", "MYSQL")[0]


def test_prefix_rules():
    assert rules.prefix_problems("prod1_", "MYSQL") == []
    assert "contains '-' '.'" in rules.prefix_problems("a-b.c", "MYSQL")[0]
    assert rules.prefix_problems("p" * 48, "MYSQL") == []           # 64 - 16 reserved
    assert "64-character identifier limit" in rules.prefix_problems("p" * 49, "MYSQL")[0]
    assert "63-character identifier limit" in rules.prefix_problems("p" * 48, "PGSQL")[0]


def test_unknown_variables_suggest_the_closest_known_name():
    found = rules.unknown_variables(["WA_DB_HOST", "WA_DB_PORT", "WA_DB_ZZZZZZZZZZZZ", "OTHER", "WA_DB_SSL_CA"])
    assert found == {"WA_DB_HOST": "WA_DB_HOSTNAME", "WA_DB_ZZZZZZZZZZZZ": None}


def test_password_rules():
    assert rules.password_problems("x" * 12) == []
    assert rules.password_problems("testpass") == [
        "WA_DB_PASSWORD is the sample value from Meta's published db.env",
        "WA_DB_PASSWORD has 8 characters, fewer than 12"]
    assert rules.password_problems(None) == ["WA_DB_PASSWORD is empty"]


def test_env_drift_names_every_difference_and_hides_the_password():
    file_values = {"WA_DB_HOSTNAME": "db2", "WA_DB_PASSWORD": "new-secret", "WA_DB_PORT": "3306",
                   "WA_DB_NAME_PREFIX": "p_", "WA_DB_SSL_CA": None}
    live = {"WA_DB_HOSTNAME": "db", "WA_DB_PASSWORD": "old-secret", "WA_DB_PORT": "3306",
            "WA_DB_USERNAME": "u", "WA_DB_SSL_CA": "/ca.pem", "PATH": "/bin"}
    drift = rules.env_drift(file_values, live)
    assert drift == [
        "WA_DB_HOSTNAME is 'db' in the container, 'db2' in db.env",
        "WA_DB_NAME_PREFIX is in db.env but not in the container",
        "WA_DB_PASSWORD differs",
        "WA_DB_USERNAME is in the container but not in db.env",
    ]
    assert not any("secret" in line for line in drift)


WA_DB_KEYS = st.from_regex(r"WA_DB_[A-Z_]{1,20}", fullmatch=True)
# Passwords drawn from characters no message uses, so any leak would show.
PASSWORDS = st.text(alphabet="§¤µ", min_size=1, max_size=12)
VALUES = st.text(alphabet=st.characters(blacklist_characters="§¤µ"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(WA_DB_KEYS, VALUES), st.dictionaries(WA_DB_KEYS, VALUES), PASSWORDS, PASSWORDS)
def test_env_drift_is_empty_exactly_when_the_values_agree_and_never_shows_a_password(
        file_values, live, file_password, live_password):
    file_values["WA_DB_PASSWORD"], live["WA_DB_PASSWORD"] = file_password, live_password
    drift = rules.env_drift(file_values, live)
    assert (drift == []) == (file_values == live)
    assert not any(c in line for line in drift for c in "§¤µ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["MYSQL", "PGSQL", "mysql", "x", None]))
def test_rule_functions_never_raise_on_arbitrary_values(text, engine):
    rules.engine_problems(text)
    rules.port_problems(text)
    rules.idle_timeout_problems(text, engine)
    rules.prefix_problems(text, engine)
    rules.password_problems(text)
