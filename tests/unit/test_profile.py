"""Profiles (docs/profile.md) load strictly: every problem is one ProfileError line naming file, line and key."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.errors import ProfileError, UsageError
from wa_compliance.profile import (
    Api, Containers, Cron, Database, Deployment, Profile, Schedule, Settings, Thresholds, Traffic,
    Waiver, available_profiles, load_profile, resolve_host,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"


def write(directory: Path, text: str, name: str = "prod1.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problem_of(directory: Path, text: str) -> tuple[int | None, str]:
    with pytest.raises(ProfileError) as caught:
        load_profile(write(directory, text))
    return caught.value.line, caught.value.problem


# --- examples and defaults -------------------------------------------------------------------

def test_single_instance_example_loads():
    profile = load_profile(EXAMPLES / "single-instance.yaml")
    assert profile.name == "shop-prod"
    assert profile.target == "local"
    assert profile.deployment.topology == "single"
    assert profile.deployment.db_env == "/opt/whatsapp/db.env"
    assert profile.deployment.compose_file == "/opt/whatsapp/docker-compose.yml"
    assert profile.deployment.containers == Containers(webapp=["biz_waweb_1"], coreapp=["biz_wacore_1"], master=[])
    assert profile.database == Database(host="127.0.0.1", port=33060)
    assert (profile.api.username_env, profile.api.password_env) == ("WA_API_USER", "WA_API_PASSWORD")
    assert profile.waivers == [Waiver(check="LOG-004", subject="biz_waweb_1", expires=dt.date(2027, 1, 31),
                                      reason=profile.waivers[0].reason)]
    assert profile.waivers[0].reason.strip()


def test_multiconnect_example_loads():
    profile = load_profile(EXAMPLES / "multiconnect.yaml")
    assert profile.target == "ssh://audit@wa-node1.example.com"
    assert profile.deployment.topology == "multiconnect"
    assert profile.deployment.containers is None                 # discovered
    assert profile.database.port == 5432
    assert profile.database.password_env == "WA_NODE1_DB_PASSWORD"
    assert profile.api.token_env == "WA_NODE1_API_TOKEN"
    assert profile.traffic.peak_rps == 180
    assert profile.thresholds == Thresholds()


@pytest.mark.parametrize("example", ["single-instance.yaml", "multiconnect.yaml"])
def test_every_example_key_is_commented(example):
    for number, line in enumerate((EXAMPLES / example).read_text().splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#") and not line.lstrip().startswith("reason:"):
            assert "#" in line, f"{example}:{number} has no comment"


def test_empty_mapping_gives_every_default(tmp_path):
    path = write(tmp_path, "{}\n")
    assert load_profile(path) == Profile(name="prod1", path=str(path))
    profile = load_profile(str(path))
    assert profile.path == str(path)
    assert profile.target == "local" and profile.docker_host is None
    assert profile.deployment == Deployment()
    assert profile.schedule.off_peak == "00:00-06:00"
    assert profile.thresholds == Thresholds(2_000_000, 10_000_000, 120, 1.5)
    assert profile.cron == Cron([], []) and profile.waivers == []


def test_name_defaults_to_file_stem_also_for_yml(tmp_path):
    assert load_profile(write(tmp_path, "target: local\n", "edge-2.yml")).name == "edge-2"
    assert load_profile(write(tmp_path, "name: other\n", "edge-3.yaml")).name == "other"


def test_path_is_kept_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "target: local\n", "lab.yaml")
    assert load_profile("lab.yaml").path == "lab.yaml"
    assert load_profile(Path("./lab.yaml")).path == "lab.yaml"


def test_types_follow_the_annotations(tmp_path):
    profile = load_profile(write(tmp_path, """\
        docker_host: unix:///var/run/docker.sock
        deployment:
          containers:
            webapp: [a_waweb_1, 4f2c9e1d0b7a]
        database: {host: "::1", port: 3306, messages_table: wa_coreapp.messages}
        api: {url: "http://localhost:9090", verify_tls: no}
        traffic: {peak_rps: 12.5}
        settings: {pass_through: true, db_garbagecollector_enable: off}
        thresholds: {api_gc_rps: 100, log_tolerance: 2}
        waivers:
          - {check: GC-004, reason: x, expires: "2027-02-28"}
        """))
    assert profile.deployment.containers == Containers(webapp=["a_waweb_1", "4f2c9e1d0b7a"])
    assert profile.database == Database(host="::1", port=3306, messages_table="wa_coreapp.messages")
    assert profile.api == Api(url="http://localhost:9090", verify_tls=False)
    assert profile.traffic == Traffic(12.5)
    assert profile.settings == Settings(pass_through=True, db_garbagecollector_enable=False)
    assert profile.thresholds.api_gc_rps == 100.0 and isinstance(profile.thresholds.api_gc_rps, float)
    assert profile.waivers == [Waiver("GC-004", "x", dt.date(2027, 2, 28))]


def test_empty_section_and_empty_list_mean_defaults(tmp_path):
    profile = load_profile(write(tmp_path, """\
        database:
        #  host: 127.0.0.1
        cron:
          users:
        waivers:
        """))
    assert profile.database == Database()
    assert profile.cron == Cron([], [])
    assert profile.waivers == []


def test_containers_null_role_stays_null_and_empty_stays_empty(tmp_path):
    profile = load_profile(write(tmp_path, "deployment: {containers: {webapp: null, master: []}}\n"))
    assert profile.deployment.containers == Containers(webapp=None, coreapp=None, master=[])


@pytest.mark.parametrize("target", [
    "local", "ssh://wa-node1", "ssh://audit@wa-node1.example.com", "ssh://audit@10.0.0.7:2222",
    "ssh://root@[fe80::1]:22",
])
def test_valid_targets(tmp_path, target):
    assert load_profile(write(tmp_path, f"target: {target!r}\n")).target == target


@pytest.mark.parametrize("docker_host", [
    "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", "tcp://docker", "ssh://audit@wa-node1",
])
def test_valid_docker_hosts(tmp_path, docker_host):
    assert load_profile(write(tmp_path, f"docker_host: {docker_host}\n")).docker_host == docker_host


def test_off_peak_may_cross_midnight(tmp_path):
    assert load_profile(write(tmp_path, "schedule: {off_peak: '22:00-04:00'}\n")).schedule == Schedule("22:00-04:00")


# --- errors: exact line and problem ----------------------------------------------------------

def test_error_renders_file_line_and_problem(tmp_path):
    path = write(tmp_path, "target: local\nname: prod1\ndatabse:\n  host: x\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value) == f"{path}:3: unknown key 'databse' (did you mean 'database'?)"
    assert isinstance(caught.value, UsageError)


TOP_KEYS = ("name, target, docker_host, hosts, deployment, database, api, traffic, schedule, settings, "
            "thresholds, cron, waivers")

ERRORS = {
    "unknown top-level key, close match": (
        "target: local\ndatabse: {}\n", 2, "unknown key 'databse' (did you mean 'database'?)"),
    "unknown top-level key, no close match": (
        "zzz: 1\n", 1, f"unknown key 'zzz' (valid keys: {TOP_KEYS})"),
    "unknown nested key": (
        "database:\n  host: db\n  prot: 3306\n", 3, "unknown key 'prot' in database (did you mean 'port'?)"),
    "unknown key in a waiver": (
        "waivers:\n  - check: LOG-004\n    reason: r\n    expires: 2027-01-01\n    subjet: x\n", 5,
        "unknown key 'subjet' in waivers[0] (did you mean 'subject'?)"),
    "path is not a key": (
        "path: /tmp/x.yaml\n", 1, f"unknown key 'path' (valid keys: {TOP_KEYS})"),
    "duplicate key": (
        "target: local\ndatabase:\n  port: 1\n  port: 2\n", 4,
        "duplicate key 'port' in database (first set on line 3)"),
    "duplicate top-level key": (
        "target: local\ntarget: local\n", 2, "duplicate key 'target' (first set on line 1)"),
    "integer from text": (
        "database:\n  port: abc\n", 2, "database.port must be an integer, got 'abc'"),
    "bool is not an integer": (
        "database:\n  port: true\n", 2, "database.port must be an integer, got true"),
    "float is not an integer": (
        "thresholds:\n  large_table_rows: 2000000.0\n", 2,
        "thresholds.large_table_rows must be an integer, got 2000000.0"),
    "quoted number is text": (
        "database: {port: '5432'}\n", 1, "database.port must be an integer, got '5432'"),
    "bool is not a number": (
        "traffic: {peak_rps: yes}\n", 1, "traffic.peak_rps must be a number, got yes"),
    "number must be finite": (
        "thresholds: {api_gc_rps: .inf}\n", 1, "thresholds.api_gc_rps must be a number, got .inf"),
    "text is not a bool": (
        "api: {verify_tls: sometimes}\n", 1, "api.verify_tls must be true or false, got 'sometimes'"),
    "number is not text": (
        "deployment:\n  compose_project: 2024\n", 2,
        "deployment.compose_project must be a string, got 2024 (quote it to keep it as text)"),
    "null where no null is allowed": (
        "deployment:\n  db_env:\n", 2, "deployment.db_env must be a string, got null"),
    "section is not a mapping": (
        "database: 127.0.0.1\n", 1, "database must be a mapping, got '127.0.0.1'"),
    "list is not a section": (
        "api:\n  - url\n", 2, "api must be a mapping, got a list"),
    "list expected": (
        "cron:\n  users: root\n", 2, "cron.users must be a list, got 'root'"),
    "list item of the wrong type": (
        "cron:\n  users:\n    - root\n    - {name: x}\n", 4, "cron.users[1] must be a string, got a mapping"),
    "target": (
        "target: prod1.example.com\n", 1,
        "target must be 'local' or 'ssh://[user@]host[:port]', got 'prod1.example.com'"),
    "target port": (
        "target: ssh://a@b:70000\n", 1,
        "target must be 'local' or 'ssh://[user@]host[:port]', got 'ssh://a@b:70000'"),
    "docker_host": (
        "docker_host: /var/run/docker.sock\n", 1,
        "docker_host must be null, 'unix:///path', 'tcp://host[:port]' or 'ssh://[user@]host[:port]', "
        "got '/var/run/docker.sock'"),
    "topology": (
        "deployment: {topology: multi}\n", 1, "deployment.topology must be 'single' or 'multiconnect', got 'multi'"),
    "relative path": (
        "deployment:\n  topology: single\n  db_env: biz/db.env\n", 3,
        "deployment.db_env must be an absolute path, got 'biz/db.env'"),
    "cron file relative": (
        "cron: {files: [/etc/crontab, cron.d/wa]}\n", 1, "cron.files[1] must be an absolute path, got 'cron.d/wa'"),
    "compose project": (
        "deployment: {compose_project: Biz}\n", 1,
        "deployment.compose_project must be a Compose project name (lowercase letters, digits, '-' and '_'), "
        "got 'Biz'"),
    "container name": (
        "deployment:\n  containers:\n    coreapp: [biz_wacore_1, 'biz wacore 2']\n", 3,
        "deployment.containers.coreapp[1] must be a container name or ID, got 'biz wacore 2'"),
    "container role not a list": (
        "deployment:\n  containers:\n    webapp: biz_waweb_1\n", 3,
        "deployment.containers.webapp must be a list, got 'biz_waweb_1'"),
    "off_peak format": (
        "schedule:\n  off_peak: 0h-6h\n", 2,
        "schedule.off_peak must be 'HH:MM-HH:MM' (24-hour host time, e.g. '00:00-06:00') or auto, got '0h-6h'"),
    "off_peak hour": (
        "schedule: {off_peak: '22:00-24:00'}\n", 1,
        "schedule.off_peak must be 'HH:MM-HH:MM' (24-hour host time, e.g. '00:00-06:00') or auto, got '22:00-24:00'"),
    "off_peak empty window": (
        "schedule: {off_peak: '02:00-02:00'}\n", 1,
        "schedule.off_peak must not start and end at the same time, got '02:00-02:00'"),
    "port too low": (
        "database: {port: 0}\n", 1, "database.port must be between 1 and 65535, got 0"),
    "port too high": (
        "database: {port: 65536}\n", 1, "database.port must be between 1 and 65535, got 65536"),
    "database host": (
        "database: {host: 'db host'}\n", 1, "database.host must be a host name or IP address, got 'db host'"),
    "threshold not positive": (
        "thresholds:\n  large_table_rows: 0\n", 2, "thresholds.large_table_rows must be positive, got 0"),
    "negative rate": (
        "thresholds: {api_gc_rps: -5}\n", 1, "thresholds.api_gc_rps must be positive, got -5"),
    "log tolerance": (
        "thresholds: {log_tolerance: 0.5}\n", 1,
        "thresholds.log_tolerance must be at least 1 (a multiple of the rotation size), got 0.5"),
    "thresholds out of order": (
        "thresholds:\n  large_table_rows: 5000000\n  very_large_table_rows: 3000000\n", 3,
        "thresholds.very_large_table_rows must not be below thresholds.large_table_rows"),
    "thresholds out of order against a default": (
        "thresholds:\n  large_table_rows: 20000000\n", 2,
        "thresholds.very_large_table_rows must not be below thresholds.large_table_rows"),
    "negative traffic": (
        "traffic: {peak_rps: -1}\n", 1, "traffic.peak_rps must not be negative, got -1"),
    "secret instead of a variable name": (
        "database:\n  password_env: 'S3cret!pass'\n", 2,
        "database.password_env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), "
        "never hold the secret itself, got 'S3cret!pass'"),
    "token instead of a variable name": (
        "api: {token_env: 'Bearer abc.def'}\n", 1,
        "api.token_env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), "
        "never hold the secret itself, got 'Bearer abc.def'"),
    "login without password": (
        "api:\n  url: https://wa:9090\n  username_env: WA_API_USER\n", 3,
        "api.username_env needs api.password_env too (basic-auth login)"),
    "audit account without its password": (
        "database:\n  host: db1\n  user: wa_audit\n", 3,
        "database.user needs database.password_env too (the audit account's password)"),
    "api url": (
        "api: {url: 'wa-node1:9090'}\n", 1, "api.url must be an http:// or https:// URL, got 'wa-node1:9090'"),
    "messages table": (
        "database: {messages_table: messages}\n", 1,
        "database.messages_table must be 'database.table' (letters, digits, '_' and '$'), got 'messages'"),
    "profile name": (
        "name: ../etc\n", 1,
        "name must be letters, digits, '.', '_' or '-' (it names the report folder), got '../etc'"),
    "waiver without reason": (
        "waivers:\n  - check: LOG-004\n    reason: r\n    expires: 2027-01-01\n"
        "  - check: ENV-010\n    expires: 2027-01-01\n",
        5, "waivers[1] is missing 'reason' (a waiver needs check, reason and expires)"),
    "waiver without reason and expiry": (
        "target: local\nwaivers:\n  - check: LOG-004\n", 3,
        "waivers[0] is missing 'reason' and 'expires' (a waiver needs check, reason and expires)"),
    "empty waiver": (
        "waivers:\n  -\n", 2,
        "waivers[0] is missing 'check', 'reason' and 'expires' (a waiver needs check, reason and expires)"),
    "waiver blank reason": (
        "waivers:\n  - {check: LOG-004, reason: ' ', expires: 2027-01-01}\n", 2,
        "waivers[0].reason must not be empty, got ' '"),
    "waiver check ID": (
        "waivers:\n  - {check: log-4, reason: r, expires: 2027-01-01}\n", 2,
        "waivers[0].check must be a check ID such as 'LOG-004', got 'log-4'"),
    "waiver impossible date": (
        "waivers:\n  - check: LOG-004\n    reason: r\n    expires: 2027-02-30\n", 4,
        "waivers[0].expires must be a date (YYYY-MM-DD), got 2027-02-30"),
    "waiver date with time": (
        "waivers:\n  - {check: LOG-004, reason: r, expires: 2027-02-01 10:00:00}\n", 2,
        "waivers[0].expires must be a date (YYYY-MM-DD), got 2027-02-01 10:00:00"),
    "waiver date as other text": (
        "waivers:\n  - {check: LOG-004, reason: r, expires: 31/12/2026}\n", 2,
        "waivers[0].expires must be a date (YYYY-MM-DD), got '31/12/2026'"),
    "waivers not a list": (
        "waivers: {check: LOG-004}\n", 1, "waivers must be a list, got a mapping"),
    "top level is a list": (
        "- target: local\n", 1, "a profile must be a mapping of keys, got a list"),
    "top level is text": (
        "\n\nprod1\n", 3, "a profile must be a mapping of keys, got 'prod1'"),
    "empty file": (
        "", 1, "profile is empty; write at least 'target: local' (see docs/profile.md)"),
    "only comments": (
        "# target: local\n", 1, "profile is empty; write at least 'target: local' (see docs/profile.md)"),
    "document marker only": (
        "---\n", 1, "profile is empty; write at least 'target: local' (see docs/profile.md)"),
    "explicit null document": (
        "null\n", 1, "profile is empty; write at least 'target: local' (see docs/profile.md)"),
    "yaml syntax": (
        "target: local\ndatabase:\n  host: db\n port: 1\n", 4,
        "invalid YAML: expected <block end>, but found '<block mapping start>'"),
    "tab indentation": (
        "database:\n\thost: db\n", 2, "invalid YAML: found character '\\t' that cannot start any token"),
    "two documents": (
        "target: local\n---\ntarget: local\n", 2, "invalid YAML: but found another document"),
    "undefined alias": (
        "target: *where\n", 1, "invalid YAML: found undefined alias 'where'"),
    "control character": (
        "target: lo\x07cal\n", 1, "invalid YAML: character '\\x07' is not allowed"),
    "python tag on a value": (
        "target: !!python/object:os.system echo\n", 1,
        "target must be a string, got !!python/object:os.system 'echo'"),
    "python tag on a section": (
        "database: !!python/object:os.system {a: 1}\n", 1,
        "database has an unsupported YAML tag !!python/object:os.system"),
    "set is not a list": (
        "cron:\n  users: !!set {root: null}\n", 2, "cron.users has an unsupported YAML tag !!set"),
    "merge key": (
        "base: &base {host: db}\n", 1, "unknown key 'base' (did you mean 'database'?)"),
    "merge key inside a section": (
        "database:\n  <<: {host: db}\n", 2, "merge keys ('<<') are not supported in database; write the keys out"),
    "key that is a list": (
        "? [a, b]\n: 1\n", 1, "keys must be plain names, got a list"),
}


@pytest.mark.parametrize("text, line, problem", ERRORS.values(), ids=ERRORS.keys())
def test_error(tmp_path, text, line, problem):
    assert problem_of(tmp_path, text) == (line, problem)


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "prod1.yaml")
    assert str(caught.value) == f"{tmp_path / 'prod1.yaml'}: no such profile file"


def test_directory_is_not_a_profile(tmp_path):
    with pytest.raises(ProfileError, match="is a directory, not a profile file$"):
        load_profile(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "prod1.yaml"
    path.write_bytes(b"target: local\nname: caf\xe9\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert (caught.value.line, caught.value.problem) == (2, "not UTF-8 text (byte 0xe9)")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "prod1.yaml"
    path.write_bytes("\ufefftarget: local\n".encode())
    assert load_profile(path).target == "local"


def test_deep_nesting_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError):
        load_profile(write(tmp_path, "target: " + "[" * 5000 + "]" * 5000 + "\n"))


def test_recursive_alias_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="unknown key 'containers' in deployment.containers"):
        load_profile(write(tmp_path, "deployment: &d\n  containers: *d\n"))


def test_error_value_is_shortened_to_one_line(tmp_path):
    line, problem = problem_of(tmp_path, "target: '" + "x" * 500 + "\\nmore'\n")
    assert line == 1 and "\n" not in problem and len(problem) < 150


# --- resolve_host / available_profiles -------------------------------------------------------

@pytest.fixture
def profiles_dir(tmp_path):
    directory = tmp_path / "profiles"
    directory.mkdir()
    for name in ("lab.yaml", "lab-pg.yaml", "lab-mc.yml", "notes.txt", ".hidden.yaml"):
        (directory / name).write_text("target: local\n")
    (directory / "examples").mkdir()
    (directory / "examples" / "deep.yaml").write_text("target: local\n")
    (directory / "dir.yaml").mkdir()
    return directory


def test_available_profiles_lists_top_level_yaml_stems_sorted(profiles_dir):
    assert available_profiles(profiles_dir) == ["lab", "lab-mc", "lab-pg"]
    assert available_profiles(str(profiles_dir)) == ["lab", "lab-mc", "lab-pg"]


def test_available_profiles_of_a_missing_directory_is_empty(tmp_path):
    assert available_profiles(tmp_path / "nowhere") == []


def test_resolve_host_by_name(profiles_dir):
    assert resolve_host("lab", profiles_dir) == profiles_dir / "lab.yaml"
    assert resolve_host("lab-mc", profiles_dir) == profiles_dir / "lab-mc.yml"


def test_resolve_host_prefers_yaml_over_yml(profiles_dir):
    (profiles_dir / "lab.yml").write_text("target: local\n")
    assert resolve_host("lab", profiles_dir) == profiles_dir / "lab.yaml"
    assert available_profiles(profiles_dir) == ["lab", "lab-mc", "lab-pg"]


def test_resolve_host_by_path(profiles_dir, tmp_path):
    assert resolve_host(str(profiles_dir / "examples" / "deep.yaml"), profiles_dir) == \
        profiles_dir / "examples" / "deep.yaml"
    elsewhere = write(tmp_path, "target: local\n", "other.yml")
    assert resolve_host(str(elsewhere), profiles_dir) == elsewhere


def test_resolve_host_unknown_name_lists_available(profiles_dir):
    with pytest.raises(UsageError) as caught:
        resolve_host("nope", profiles_dir)
    assert not isinstance(caught.value, ProfileError)
    assert str(caught.value) == f"unknown host 'nope': no {profiles_dir}/nope.yaml (available: lab, lab-mc, lab-pg)"


def test_resolve_host_message_uses_the_directory_as_given(profiles_dir, monkeypatch):
    monkeypatch.chdir(profiles_dir.parent)
    with pytest.raises(UsageError, match=r"^unknown host 'nope': no profiles/nope\.yaml \(available: lab, "):
        resolve_host("nope", "profiles")


def test_resolve_host_missing_path(profiles_dir):
    with pytest.raises(UsageError, match=r"^unknown host 'x/prod9\.yaml': no x/prod9\.yaml \(available: lab, "):
        resolve_host("x/prod9.yaml", profiles_dir)


def test_resolve_host_rejects_a_file_that_is_not_yaml(profiles_dir):
    notes = str(profiles_dir / "notes.txt")
    with pytest.raises(UsageError, match=f"^unknown host '{notes}': {notes} is not a .yaml or .yml file"):
        resolve_host(notes, profiles_dir)


@pytest.mark.parametrize("name", ["", ".", "..", "dir", "examples", "notes"])
def test_resolve_host_odd_names_are_usage_errors(profiles_dir, name):
    with pytest.raises(UsageError, match="available: lab, lab-mc, lab-pg"):
        resolve_host(name, profiles_dir)


def test_resolve_host_with_no_profiles_at_all(tmp_path):
    with pytest.raises(UsageError, match=r"\(available: none\)$"):
        resolve_host("lab", tmp_path / "empty")


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("profiles") / "fuzz.yaml"


def load_or_profile_error(path: Path) -> Profile | None:
    try:
        return load_profile(path)
    except ProfileError as error:
        assert "\n" not in str(error) and str(error).startswith(str(path))
        return None


YAML_ALPHABET = st.sampled_from(list(":-[]{},&*!|>'\"%@`#?~.<=\\ \t\n") + ["target", "database", "port",
                                "waivers", "check", "expires", "  ", "- ", ": ", "!!int ", "2027-02-30", "1"])


@PROPERTY
@given(text=st.text() | st.lists(YAML_ALPHABET, max_size=40).map("".join))
def test_any_text_is_a_profile_or_a_profile_error(scratch, text):
    scratch.write_text(text, encoding="utf-8")
    load_or_profile_error(scratch)


@PROPERTY
@given(data=st.binary(max_size=200))
def test_any_bytes_are_a_profile_or_a_profile_error(scratch, data):
    scratch.write_bytes(data)
    load_or_profile_error(scratch)


SCHEMA_KEYS = ["name", "target", "docker_host", "deployment", "topology", "db_env", "containers", "webapp",
               "database", "host", "port", "password_env", "messages_table", "api", "url", "verify_tls",
               "traffic", "peak_rps", "schedule", "off_peak", "settings", "pass_through", "thresholds",
               "large_table_rows", "log_tolerance", "cron", "users", "files", "waivers", "check", "reason",
               "expires", "subject"]
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.dates()
          | st.datetimes() | st.binary(max_size=4))
YAMLABLE = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=25)


@PROPERTY
@given(document=st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8), YAMLABLE, max_size=6)
       | YAMLABLE)
def test_any_yaml_document_is_a_profile_or_a_profile_error(scratch, document):
    scratch.write_text(yaml.safe_dump(document), encoding="utf-8")
    load_or_profile_error(scratch)


# valid values, drawn from the rules of docs/profile.md
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True)
HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,15}[a-z0-9])?", fullmatch=True)
PORTS = st.integers(1, 65535)
SSH = st.builds(lambda user, host, port: f"ssh://{user + '@' if user else ''}{host}{f':{port}' if port else ''}",
                st.none() | st.from_regex(r"[a-z_][a-z0-9_-]{0,8}", fullmatch=True), HOSTS, st.none() | PORTS)
ENV_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
ABS_PATHS = st.from_regex(r"/[A-Za-z0-9._/-]{0,30}", fullmatch=True)
CONTAINERS = st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True), max_size=3)
HHMM = st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))
WINDOWS = st.tuples(HHMM, HHMM).filter(lambda w: w[0] != w[1]).map("-".join)
TEXT = st.text(min_size=1, max_size=40).filter(str.strip)
ROWS = st.tuples(st.integers(1, 10**12), st.integers(1, 10**12)).map(sorted)
POSITIVE = st.integers(1, 10**6) | st.floats(min_value=0.001, max_value=1e9)


VALID_PROFILES = st.fixed_dictionaries({}, optional={
    "name": NAMES,
    "target": st.just("local") | SSH,
    "docker_host": st.none() | st.just("unix:///var/run/docker.sock") | SSH
    | st.builds("tcp://{}:{}".format, HOSTS, PORTS),
    "deployment": st.fixed_dictionaries({}, optional={
        "topology": st.sampled_from(["single", "multiconnect"]),
        "compose_project": st.none() | st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True),
        "db_env": ABS_PATHS, "compose_file": st.none() | ABS_PATHS,
        "media_path": ABS_PATHS, "log_dir": ABS_PATHS,
        "containers": st.none() | st.fixed_dictionaries({}, optional={
            "webapp": st.none() | CONTAINERS, "coreapp": st.none() | CONTAINERS, "master": st.none() | CONTAINERS}),
    }),
    "database": st.fixed_dictionaries({}, optional={
        "host": st.none() | HOSTS, "port": st.none() | PORTS, "password_env": st.none() | ENV_NAMES,
        "messages_table": st.none() | st.from_regex(r"[A-Za-z0-9_$]{1,10}\.[A-Za-z0-9_$]{1,10}", fullmatch=True),
    }),
    "api": st.fixed_dictionaries({}, optional={
        "url": st.none() | st.builds("https://{}:{}".format, HOSTS.filter(lambda h: h[0].isalpha()), PORTS),
        "token_env": st.none() | ENV_NAMES, "verify_tls": st.booleans(),
    }).flatmap(lambda api: st.just(api) | st.builds(
        lambda user, password: {**api, "username_env": user, "password_env": password}, ENV_NAMES, ENV_NAMES)),
    "traffic": st.fixed_dictionaries({"peak_rps": st.none() | st.integers(0, 10**5)
                                      | st.floats(min_value=0, max_value=1e6)}),
    "schedule": st.fixed_dictionaries({"off_peak": WINDOWS}),
    "settings": st.fixed_dictionaries({}, optional={
        "pass_through": st.none() | st.booleans(), "db_garbagecollector_enable": st.none() | st.booleans()}),
    "thresholds": st.builds(
        lambda rows, rate, tolerance: {"large_table_rows": rows[0], "very_large_table_rows": rows[1],
                                       "api_gc_rps": rate, "log_tolerance": tolerance},
        ROWS, POSITIVE, st.floats(min_value=1, max_value=100)),
    "cron": st.fixed_dictionaries({}, optional={
        "users": st.lists(st.from_regex(r"[a-z_][a-z0-9_-]{0,10}", fullmatch=True), max_size=3),
        "files": st.lists(ABS_PATHS, max_size=3)}),
    "waivers": st.lists(st.fixed_dictionaries(
        {"check": st.from_regex(r"[A-Z]{2,5}-[0-9]{3}", fullmatch=True), "reason": TEXT, "expires": st.dates()},
        optional={"subject": st.none() | TEXT}), max_size=3),
})


def assert_loaded_as(profile: Profile, document: dict, stem: str):
    assert profile.name == document.get("name", stem)
    for key, value in document.items():
        loaded = getattr(profile, key)
        if key == "waivers":
            assert loaded == [Waiver(**waiver) for waiver in value]
        elif isinstance(value, dict):
            for field_name, field_value in value.items():
                got = getattr(loaded, field_name)
                if field_name == "containers" and field_value is not None:
                    assert got == Containers(**field_value)
                else:
                    assert got == field_value, (key, field_name)
        elif key != "name":
            assert loaded == value, key


@PROPERTY
@given(document=VALID_PROFILES)
def test_valid_profile_round_trips_through_yaml(scratch, document):
    scratch.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert_loaded_as(load_profile(scratch), document, scratch.stem)


def leaf_paths(document, prefix=()):
    if isinstance(document, dict):
        for key, value in document.items():
            yield prefix + (key,)
            yield from leaf_paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield prefix + (index,)
            yield from leaf_paths(value, prefix + (index,))


@PROPERTY
@given(document=VALID_PROFILES.filter(bool), data=st.data())
def test_a_valid_profile_with_one_value_replaced_is_a_profile_or_a_profile_error(scratch, document, data):
    path = data.draw(st.sampled_from(list(leaf_paths(document))))
    container = document
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = data.draw(YAMLABLE)
    scratch.write_text(yaml.safe_dump(document), encoding="utf-8")
    load_or_profile_error(scratch)
