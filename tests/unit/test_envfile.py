"""wa_compliance.envfile: db.env parsed as Docker Compose parses an env_file."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import dotenv
import pytest
import yaml
from dotenv.parser import parse_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.envfile import EnvEntry, EnvFile, parse_env_file
from wa_compliance.errors import EnvFileError

META = Path("/work/shared/reference/meta-setup/WhatsApp-Business-API-Setup-Scripts/installation")
COMPOSE = "/usr/bin/docker-compose"
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(text):
    return parse_env_file(text, "db.env").values


def error(text) -> EnvFileError:
    with pytest.raises(EnvFileError) as caught:
        parse_env_file(text, "db.env")
    return caught.value


def compose_reads(data: bytes) -> dict:
    """What the library Compose uses returns for these bytes, read as Compose opens the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "db.env")
        path.write_bytes(data)
        return dotenv.dotenv_values(dotenv_path=path, encoding="utf-8-sig", interpolate=False)


# --- unit cases ---------------------------------------------------------------


def test_plain_lines_and_api():
    env = parse_env_file(b"WA_DB_ENGINE=MYSQL\nWA_DB_PORT=3306\n", "/opt/whatsapp/db.env")
    assert env == EnvFile(
        "/opt/whatsapp/db.env",
        (EnvEntry("WA_DB_ENGINE", "MYSQL", 1), EnvEntry("WA_DB_PORT", "3306", 2)),
    )
    assert env.values == {"WA_DB_ENGINE": "MYSQL", "WA_DB_PORT": "3306"}
    assert env.line_of("WA_DB_PORT") == 2
    assert env.line_of("WA_DB_PASSWORD") is None


def test_values_keep_file_order():
    assert list(values("B=1\nA=2\nC=3")) == ["B", "A", "C"]


@pytest.mark.parametrize(
    "line, value",
    [
        ("A='a b'", "a b"),
        ('A="a b"', "a b"),
        ("A='it\\'s'", "it's"),
        ('A="say \\"hi\\""', 'say "hi"'),
        ('A="tab\\there\\nnew"', "tab\there\nnew"),  # escapes are decoded in double quotes ...
        ("A='tab\\there'", "tab\\there"),  # ... not in single quotes
        ('A="back\\\\slash"', "back\\slash"),
        ("A=  spaced  ", "spaced"),
        ("A='  kept  '", "  kept  "),
        ("A=\"x\" # note", "x"),
        ("A=a\"b'c", "a\"b'c"),  # quotes inside an unquoted value are plain characters
    ],
)
def test_quotes_and_escapes(line, value):
    assert values(line) == {"A": value}


def test_export_prefix():
    assert values("export A=1\nexport  B='2'\nexport\n") == {"A": "1", "B": "2", "export": None}


def test_crlf_and_cr_line_ends():
    assert values(b"A=1\r\nB=2\r\n") == {"A": "1", "B": "2"}
    assert values(b"A=1\rB=2\r") == {"A": "1", "B": "2"}
    env = parse_env_file(b"A=1\r\n\r\nB=2\rC=3", "db.env")
    assert [e.line for e in env.entries] == [1, 3, 4]


def test_crlf_inside_quoted_value_becomes_lf_as_in_compose():
    # Compose opens the file in text mode, so newlines are translated before parsing.
    assert values(b'A="x\r\ny"\r\n') == {"A": "x\ny"}


def test_bom_is_dropped():
    env = parse_env_file(b"\xef\xbb\xbfWA_DB_ENGINE=PGSQL\n", "db.env")
    assert env.values == {"WA_DB_ENGINE": "PGSQL"}
    assert values("\ufeffA=1") == {"A": "1"}


def test_only_one_bom_is_dropped():
    # utf-8-sig drops one; a second is part of the key, as in Compose.
    assert values(b"\xef\xbb\xbf\xef\xbb\xbfA=1") == {"\ufeffA": "1"}


def test_comments():
    text = "# header\n#A=1\n  # indented\nB=2 # inline\nC=x#not-a-comment\nD='y' #c\nE=#z\n"
    assert values(text) == {"B": "2", "C": "x#not-a-comment", "D": "y", "E": "#z"}


def test_equals_inside_values():
    assert values("A=b=c==\nB='x=y'\nC=\"=\"") == {"A": "b=c==", "B": "x=y", "C": "="}


def test_blank_lines_do_not_shift_line_numbers():
    # python-dotenv numbers a statement from the blank lines before it; we do not.
    env = parse_env_file("\n\n  \nA=1\n\n\tB=2\n", "db.env")
    assert [(e.key, e.line) for e in env.entries] == [("A", 4), ("B", 6)]


def test_bare_key_and_empty_value():
    env = parse_env_file("WA_DB_PASSWORD\nA=\nB=''\nC=\"\"\n", "db.env")
    assert env.values == {"WA_DB_PASSWORD": None, "A": "", "B": "", "C": ""}


def test_multiline_quoted_value_keeps_the_line_of_its_key():
    env = parse_env_file('A="one\ntwo"\nB=3\n', "db.env")
    assert env.values == {"A": "one\ntwo", "B": "3"}
    assert env.line_of("B") == 3


def test_empty_file():
    assert parse_env_file(b"", "db.env") == EnvFile("db.env", ())


def test_interpolation_from_earlier_keys_only():
    text = "\n".join(
        [
            "HOST=db",
            "URL=mysql://${HOST}:${PORT}/",  # PORT is set later: empty, as an unset variable
            "PORT=3306",
            "SINGLE='${HOST}'",  # python-dotenv expands single-quoted values too
            "DEFAULT=${NOPE:-fallback}",
            "NOBRACES=$HOST",  # python-dotenv only expands ${...}
            "DOUBLE=$${HOST}",  # $$ is no escape in an env_file
            "BARE",
            "FROM_BARE=${BARE:-d}",  # a bare key counts as set, to nothing
        ]
    )
    assert values(text) == {
        "HOST": "db",
        "URL": "mysql://db:/",
        "PORT": "3306",
        "SINGLE": "db",
        "DEFAULT": "fallback",
        "NOBRACES": "$HOST",
        "DOUBLE": "$db",
        "BARE": None,
        "FROM_BARE": "",
    }


def test_interpolation_ignores_the_auditors_environment():
    with mock.patch.dict(os.environ, {"WA_AUDIT_SECRET": "leak"}):
        assert values("A=${WA_AUDIT_SECRET}\nB=${HOME}") == {"A": "", "B": ""}


def test_duplicate_key_names_both_lines():
    err = error("WA_DB_ENGINE=MYSQL\nWA_DB_PORT=3306\n\nWA_DB_PORT=3307\n")
    assert (err.path, err.line) == ("db.env", 4)
    assert err.problem == "duplicate key WA_DB_PORT (first set on line 2)"
    assert str(err) == "db.env:4: duplicate key WA_DB_PORT (first set on line 2)"
    assert "3307" not in str(err) and "3306" not in str(err)


def test_duplicate_bare_key_and_export_form():
    assert error("A\nexport A=1").problem == "duplicate key A (first set on line 1)"


def test_duplicate_of_an_odd_quoted_key_stays_on_one_line():
    err = error("'A\nB'=1\n'A\nB'=2\n")
    assert err.line == 3 and "\n" not in str(err)


@pytest.mark.parametrize(
    "text, line, shown",
    [
        ('A=1\n\nWA_DB_PASSWORD="s3cr3t-value\n', 3, "WA_DB_PASSWORD"),  # unterminated quote
        ("WA_DB_PASSWORD='s3cr3t-value'trailing\n", 1, "WA_DB_PASSWORD"),  # text after the quote
        ("A=1\nWA_DB_PASSWORD s3cr3t-value\n", 2, "WA_DB_PASSWORD"),  # no '='
        ("export WA_DB_PASSWORD 's3cr3t-value'\n", 1, "WA_DB_PASSWORD"),
        ("A=1\n=s3cr3t-value\n", 2, None),  # no key at all
        ("\n\n   =s3cr3t-value\n", 3, None),
        ("'s3cr3t-value=1\n", 1, None),  # unterminated quoted key: could be anything
    ],
)
def test_unparsable_line_names_line_and_key_never_value(text, line, shown):
    err = error(text)
    assert err.line == line
    assert "s3cr3t" not in str(err)
    assert err.problem.startswith("cannot parse")
    if shown:
        assert f"the {shown} line" in err.problem
    else:
        assert "cannot parse this line" in err.problem


def test_unparsable_line_after_a_good_one_still_fails():
    # python-dotenv would only log a warning and skip it; an auditor must not.
    assert error("A=1\nB='x\nC=3").line == 2


def test_not_utf8_names_the_line():
    err = error(b"A=1\r\nB=2\nC=caf\xe9\n")
    assert (err.line, err.problem) == (3, "not valid UTF-8")
    assert error(b"\xef\xbb\xbf\xff").line == 1
    assert error(b"A=1\rB=\xc3").line == 2


def test_utf8_values():
    assert values("A=café ☕\nB='日本'".encode()) == {"A": "café ☕", "B": "日本"}


def test_meta_mysql_db_env():
    env = parse_env_file((META / "db.env").read_bytes(), str(META / "db.env"))
    assert env.values == {
        "WA_DB_ENGINE": "MYSQL",
        "WA_DB_HOSTNAME": "db",
        "WA_DB_PORT": "3306",
        "WA_DB_USERNAME": "root",
        "WA_DB_PASSWORD": "testpass",
        "WA_DB_CONNECTION_IDLE_TIMEOUT": "180000",
    }
    assert env.line_of("WA_DB_ENGINE") == 6


def test_meta_postgres_db_env():
    env = parse_env_file((META / "postgres" / "db.env").read_bytes(), "db.env")
    assert env.values == {
        "WA_DB_ENGINE": "PGSQL",
        "WA_DB_HOSTNAME": "db",
        "WA_DB_PORT": "3306",  # sic: Meta's postgres sample keeps the MySQL port
        "WA_DB_USERNAME": "root",
        "WA_DB_PASSWORD": "testpass",
    }


# --- properties ---------------------------------------------------------------

# Characters that matter to the grammar, so generated text hits its corners.
GRAMMAR = st.sampled_from(list("AB_9=#'\"\\$ {}:-\t\n\r") + ["export ", "${A}", "\ufeff", "é"])
ENVISH_TEXT = st.lists(GRAMMAR, max_size=40).map("".join)
KEYS = st.from_regex(r"[A-Z_][A-Z0-9_]{0,11}", fullmatch=True)
PRINTABLE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)


def _check_shape(env: EnvFile, line_count: int):
    keys = [e.key for e in env.entries]
    assert len(keys) == len(set(keys))
    assert all(1 <= e.line <= line_count for e in env.entries)
    assert [e.line for e in env.entries] == sorted(e.line for e in env.entries)


@PROPS
@given(st.one_of(st.text(max_size=200), ENVISH_TEXT))
def test_any_text_gives_envfile_or_envfileerror(text):
    try:
        env = parse_env_file(text, "db.env")
    except EnvFileError as err:
        assert err.path == "db.env" and err.line >= 1 and "\n" not in str(err)
    else:
        _check_shape(env, text.count("\n") + text.count("\r") + 1)


@PROPS
@given(st.one_of(st.binary(max_size=200), ENVISH_TEXT.map(lambda t: t.encode("utf-8") + b"\xff")))
def test_any_bytes_give_envfile_or_envfileerror(data):
    try:
        env = parse_env_file(data, "db.env")
    except EnvFileError as err:
        assert err.line >= 1 and "\n" not in str(err)
    else:
        _check_shape(env, data.count(b"\n") + data.count(b"\r") + 1)


def _double_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _single_quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@PROPS
@given(
    # python-dotenv (hence Compose) cannot read back a quoted value ending in a backslash:
    # `B="\\"` runs on to the next quote. The differential test covers that case.
    st.dictionaries(KEYS, PRINTABLE.filter(lambda v: "${" not in v and not v.endswith("\\")), max_size=8),
    st.lists(st.sampled_from([_double_quoted, _single_quoted]), min_size=8, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
)
def test_round_trip_of_quoted_values(env, quoters, newline):
    text = newline.join(f"{k}={quote(v)}" for (k, v), quote in zip(env.items(), quoters))
    assert values(text.encode()) == env


# One line of a generated file: the shapes python-dotenv knows, none with '$'.
NO_DOLLAR = PRINTABLE.filter(lambda v: "$" not in v)
LINE = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", KEYS, NO_DOLLAR),
    st.builds(lambda k, v: f"export {k}={v}", KEYS, NO_DOLLAR),
    st.builds(lambda k, v: f"{k}={_double_quoted(v)}", KEYS, NO_DOLLAR),
    st.builds(lambda k, v: f"{k} = {_single_quoted(v)} # c", KEYS, NO_DOLLAR),
    st.builds(lambda k, v: f'{k}="{v}\n{v}"', KEYS, NO_DOLLAR.filter(lambda v: '"' not in v and "\\" not in v)),
    KEYS,  # bare key
    st.builds(lambda k: f"{k}=", KEYS),
    st.just(""),
    st.builds(lambda c: f"# {c}", NO_DOLLAR),
    ENVISH_TEXT.filter(lambda t: "$" not in t),  # anything, errors included
)


@PROPS
@given(st.lists(LINE, max_size=10), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_same_values_as_the_library_compose_uses(lines, newline, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode()
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    # The first statement python-dotenv fails on, or the first key it sees again, is our error.
    seen = set()
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.key in seen):
            err = error(data)
            start = binding.original
            leading = len(start.string) - len(start.string.lstrip())
            assert err.line == start.line + start.string[:leading].count("\n")
            assert err.problem.startswith("cannot parse" if binding.error else "duplicate key")
            return
        seen.add(binding.key)
    assert values(data) == compose_reads(data)


@PROPS
@given(st.lists(st.sampled_from(["A", "B", "${A}", "${B}", "${C:-d}", "x", "$"]), max_size=4), st.integers(0, 3))
def test_same_interpolation_as_the_library_with_an_empty_environment(parts, bare_at):
    lines = [f"A={''.join(parts)}x", f"B='{''.join(reversed(parts))}'", f"C=\"${{A}}{''.join(parts)}\"", "D=${C}"]
    lines.insert(bare_at, "E")
    data = "\n".join(lines).encode()
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {}, clear=True):
        Path(tmp, "db.env").write_bytes(data)
        expected = dotenv.dotenv_values(dotenv_path=Path(tmp, "db.env"), encoding="utf-8-sig", interpolate=True)
    assert values(data) == expected


@PROPS
@given(
    st.lists(KEYS, min_size=2, max_size=8, unique=True),
    st.data(),
)
def test_duplicate_error_names_the_right_lines(keys, data):
    first, second = sorted(data.draw(st.lists(st.integers(0, len(keys) - 1), min_size=2, max_size=2, unique=True)))
    keys[second] = keys[first]
    filler = data.draw(st.lists(st.sampled_from(["", "# c", "  "]), min_size=len(keys), max_size=len(keys)))
    lines, numbers = [], []
    for key, fill in zip(keys, filler):
        if fill:
            lines.append(fill)
        lines.append(f"{key}=v")
        numbers.append(len(lines))
    err = error("\n".join(lines))
    assert err.line == numbers[second]
    assert err.problem == f"duplicate key {keys[first]} (first set on line {numbers[first]})"


# --- the real Compose ---------------------------------------------------------

COMPOSE_SAMPLES = {
    "quotes": b"A='single \"q\"'\nB=\"double 'q' \\\"esc\\\" \\n\"\nC='it\\'s'\nD=\"\"\nE=\n",
    "export": b"export A=1\nexport  B='two'\nexport\n",
    "comments": b"# c\n  # indented\nA=1 # inline\nB=x#y\nC='q' # after quote\nD=#e\n",
    "crlf": b"A=1\r\nB='x y'\r\n\r\nC=\"m\r\nn\"\r\n",
    "cr": b"A=1\rB=2\r",
    "bom": b"\xef\xbb\xbfWA_DB_ENGINE=PGSQL\nWA_DB_PORT=5432\n",
    "equals": b"A=b=c==\nB='x=y'\nC==\n",
    "bare": b"WA_AUDIT_UNSET_IN_COMPOSE\nA=1\n",
    "interpolation": b"H=db\nU=${H}:${P}/${Q:-d}\nP=1\nS='${H}'\nN=$H\nD=$${H}\n",
    "spaces": b"  A =  spaced out  \n\tB\t=\t'tab'\nC=a  b\n",
    "multiline": b"A=\"one\ntwo\"\nB='three\nfour'\n",
    "unicode": "A=caf\u00e9 \u2615\nB='\u65e5\u672c'\n".encode(),
}


def _undollar(value):
    # `config` doubles every '$' so that its output can be fed back to Compose.
    return value.replace("$$", "$") if isinstance(value, str) else value


def test_same_values_as_docker_compose_config(tmp_path):
    if not os.access(COMPOSE, os.X_OK) and not shutil.which("docker-compose"):
        pytest.fail(f"docker-compose not found at {COMPOSE}: install Debian's docker-compose package (1.29)")
    binary = COMPOSE if os.access(COMPOSE, os.X_OK) else shutil.which("docker-compose")
    services = {}
    for name, data in COMPOSE_SAMPLES.items():
        (tmp_path / f"{name}.env").write_bytes(data)
        services[name] = {"image": "busybox", "env_file": f"{name}.env"}
    (tmp_path / "compose.yml").write_text(yaml.safe_dump({"services": services}))
    # An empty environment: ${...} and bare keys resolve from nothing, as for our parser.
    run = subprocess.run(
        [binary, "-f", str(tmp_path / "compose.yml"), "config"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    resolved = yaml.safe_load(run.stdout)["services"]
    for name, data in COMPOSE_SAMPLES.items():
        compose_env = {k: _undollar(v) for k, v in resolved[name].get("environment", {}).items()}
        assert parse_env_file(data, f"{name}.env").values == compose_env, name


def test_quoted_value_ending_in_a_backslash_fails_as_in_compose():
    # Found by hypothesis: python-dotenv's double-quote rule reads `\\"` as an escaped quote,
    # so this line runs on into the next one; Compose drops it, we report it.
    with pytest.raises(EnvFileError, match=r"db.env:1: cannot parse the B line"):
        parse_env_file(b'B="\\\\"\nA=""', "db.env")
