"""Bad input (issue 8): every parser of text from outside the tool fails only with its own error.

What is proven here, each by a Hypothesis property (bounded examples) whose found failures and
hand-picked nasty inputs (NUL bytes, CRLF, invalid UTF-8 decoded with replacement, huge numbers,
deep nesting) are kept as ``@example`` regression cases:

- ``parse_inside`` (what a script prints inside a container, which a hostile or broken
  container controls): a snapshot, or FactUnavailable on one line naming the container.
- the host cron script's output (``read_host_cron``): a HostCron, or FactUnavailable on one
  line naming the host.
- the client's API: any body decodes to JSON or fails as FactUnavailable naming the request;
  any JSON body read as ``/v1/settings/application`` gives the GC settings (booleans or
  unknown) or FactUnavailable; ``requests_served`` over any text is a finite count of
  requests, or FactUnavailable.
- ``docker inspect`` (``DockerEngine._facts``): ContainerFacts of the declared types, or
  FactUnavailable naming the engine; ``role_of`` and ``_ago`` are total on any text.
- the Compose file (``media_declarations``): declarations, or ComposeFileError on one line
  starting with the file's path.
- ``gc_calls`` over any cron command: GC URLs, or GcCommandError.
- YAML from outside is read safely: a Compose file, a profile or an inventory carrying
  ``!!python/...`` tags is refused with the reader's own error and runs nothing (a marker file
  those payloads create under an unsafe loader stays absent).

db.env, crontab, logrotate, profile, inventory, cleanup-command and schedule parsers have
their own properties in their test files; they are not repeated here.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import string
from types import SimpleNamespace

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wa_compliance.composefile import ComposeFileError, MediaDeclaration, media_declarations
from wa_compliance.errors import FactUnavailable, ProfileError
from wa_compliance.facts.deployment import DeploymentFacts
from wa_compliance.facts.gc import _settings
from wa_compliance.facts.host_cron import CronSource, HostCron, HostFile, read_host_cron
from wa_compliance.facts.inside import InsideSnapshot, parse_inside
from wa_compliance.facts.api import requests_served
from wa_compliance.inventory import InventoryError, parse_inventory
from wa_compliance.parsers.gc_job import GcCommandError, gc_calls
from wa_compliance.profile import load_profile
from wa_compliance.facts.gc import Known
from wa_compliance.transport.api import ApiClient
from wa_compliance.transport.containers import ROLES, ContainerFacts, DockerEngine, _ago, role_of

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTAINER = "biz_waweb_1"
TARGET = "ssh://deploy@wa1"
ENGINE = "ssh://deploy@wa1 (docker)"
API_URL = "https://wa.example:9090"
SETTINGS_PATH = "/v1/settings/application"
COMPOSE_PATH = "/opt/whatsapp/docker-compose.yml"
MEDIA = "/usr/local/wamedia"

# Hand-picked nasty pieces, mixed into the generated records and lines.
INVALID_UTF8 = b"caf\xe9 \xff\xfe\xc3".decode("utf-8", "replace")
HUGE = "9" * 5000                      # past int()'s 4300-digit limit
DEEP_JSON = "[" * 5_000 + "]" * 5_000          # past the interpreter's recursion limit
DEEP_YAML = "[" * 1_000                         # as deep, for PyYAML's recursive parser (deeper is only slower)
NASTY = st.sampled_from(["\x00", "\r\n", "\r", INVALID_UTF8, HUGE, "-" + HUGE, "\u2028", "\x85", "\x1c", "\t",
                         "٣", "²", "0x1f", "-1", "1e999", "NaN", "", " ", "=", "_", "'", '"', "\\"])


def one_line(message: str) -> bool:
    return len(message.splitlines()) == 1


FAILED = object()


def only(error_type, call, *named: str):
    """call()'s value, or FAILED when it raised error_type: one line, naming each of `named`.

    Any other exception escapes, and fails the test."""
    try:
        return call()
    except error_type as exc:
        message = str(exc)
        assert one_line(message), message
        for name in named:
            assert name in message, (name, message)
        return FAILED


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def framed(records: list[str], newline: str, header: str, end: str = "end") -> str:
    return newline.join([header, *records, end])


WORD = st.one_of(NASTY, st.text(max_size=6), st.text(max_size=8).map(b64), st.integers().map(str))


def records(kinds: list[str], words: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(kinds), st.lists(words, max_size=6)).map(lambda r: " ".join([r[0], *r[1]]))


# --- what a script prints inside a container ----------------------------------------------------

INSIDE_KINDS = ["user", "dir", "entry", "cleanup", "logrotate", "confdir", "confentry", "conf", "debug", "tls",
                "wa-inside", "end", "bogus", ""]
INSIDE_WORDS = st.one_of(WORD, st.sampled_from(["log", "archive", "present", "missing", "notdir", "1", "0", "81a4",
                                                "644", "-", "unreadable", "644_regular_file", b64("/etc/x")]))
INSIDE_OUTPUT = st.one_of(
    st.builds(framed, st.lists(records(INSIDE_KINDS, INSIDE_WORDS), max_size=10), st.sampled_from(["\n", "\r\n"]),
              st.sampled_from(["wa-inside 1", "wa-inside 1", "wa-inside 2"]), st.sampled_from(["end", "end", "en"])),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda data: data.decode("utf-8", "replace")),
)


@PROPS
@given(INSIDE_OUTPUT)
@example("")
@example("\x00")
@example("wa-inside 1\r\nuser 0\r\nend\r\n")
@example(f"wa-inside 1\nuser {HUGE}\nentry log {HUGE} 81a4 1 x\nend")
@example(f"wa-inside 1\nlogrotate -\nconf 644 0 {b64('/etc/x')} {INVALID_UTF8}\nend")
@example("wa-inside 1\nconfdir eA==\nconfentry eA==\nend")         # a conf record before `logrotate`
@example("wa-inside 1\ndir log\nentry log 1\ncleanup present\ndebug x\nend")
@example("wa-inside 1\nuser ²\nend")                               # isdigit() but not int()
@example("wa-inside 1\nentry log 1 \x00 1 n\u2028m\nend")
@example("wa-inside 1\n" + "entry log 1 81a4 1 x\n" * 5_000 + "end")
@example("wa-inside 1\n" + "entry 1 81a4 1 archive/x\n" * 5_000 + "end")
@example("wa-inside 1\ncleanup present 1\nentry 1 4000 1 /opt/whatsapp/bin/cleanup.sh\nend")
@example("wa-inside 1\nentry 1 81a4 1 /x\nentry 2 zz 1 archive/\nend")
@example(f"wa-inside 1\ntls {b64('/opt/certs/db-ca.pem')} present\nend")      # content cut off
@example(f"wa-inside 1\ntls {b64('/opt/certs/db-ca.pem')} present {INVALID_UTF8}\nend")
def test_inside_output_gives_a_snapshot_or_fact_unavailable_naming_the_container(output):
    snapshot = only(FactUnavailable, lambda: parse_inside(CONTAINER, output), CONTAINER)
    if snapshot is not FAILED:
        assert isinstance(snapshot, InsideSnapshot) and snapshot.container == CONTAINER
        for folder in (snapshot.log_dir, snapshot.archive):
            assert all(isinstance(e.size, int) and isinstance(e.mode, int) for e in folder.entries)
        assert all(isinstance(v, bytes) or v in ("missing", "unreadable") for v in snapshot.tls_files.values())


# --- the host cron script's output ----------------------------------------------------------------


class FakeHost:
    """A host whose cron script prints `stdout` (and `stderr`)."""

    target = TARGET

    def __init__(self, stdout: str, stderr: str = ""):
        self.result = SimpleNamespace(stdout=stdout, stderr=stderr, rc=0)

    def run(self, script, *args):
        return self.result


CRON_WORDS = st.one_of(WORD, st.sampled_from([
    "readable", "unreadable", "missing", "other", "present", "81a4_0_1_regular", "81a4_0_1_regular_file",
    "41ed_0_2_directory", "cron", "1", b64("/etc/crontab"), b64("/etc/cron.d/gc"), b64("0 3 * * * root x"),
    "binary", "large", "81ed_0_183", b64("/usr/local/bin/wa-cleanup.sh"), b64("#!/bin/sh\ndocker exec a b\n")]))
CRON_OUTPUT = st.one_of(
    st.builds(framed, st.lists(records(["proc", "dir", "file", "script", "bogus", "wa-cron", ""], CRON_WORDS),
                               max_size=10),
              st.sampled_from(["\n", "\r\n"]), st.sampled_from(["wa-cron 1", "wa-cron 1", "wa-cron 2"])),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda data: data.decode("utf-8", "replace")),
)


@PROPS
@given(CRON_OUTPUT, st.sampled_from(["", "sh: 1: base64: not found\nsh: 2: stat: not found", "\x00\r\n"]))
@example("wa-cron 1\nproc\nend", "")                                  # found: IndexError escaped
@example("wa-cron 1\ndir x\nend", "")                                 # found: IndexError escaped
@example("wa-cron 1\nfile\nend", "")                                  # found: IndexError escaped
@example(f"wa-cron 1\nfile {b64('/etc/crontab')} readable\nend", "")  # found: IndexError escaped
@example("", "line one\nline two")                                   # found: a message on two lines
@example("wa-cron 1\r\nproc 1 cron\r\nend\r\n", "")
@example(f"wa-cron 1\nproc {HUGE} cron\nend", "")
@example("wa-cron 1\nproc ² cron\nend", "")
@example(f"wa-cron 1\nfile {b64('/etc/crontab')} readable 81a4_0_1_f {INVALID_UTF8}\nend", "")
@example("wa-cron 1\nfile \x00 missing\nend", "\x00")
@example(f"wa-cron 1\nscript {b64('/x.sh')} readable 81ed_0 {b64('ls')}\nend", "")   # a meta field cut short
@example(f"wa-cron 1\nscript {b64('/x.sh')} readable 81ed_0_x_y {b64('ls')}\nend", "")
def test_cron_script_output_gives_host_cron_or_fact_unavailable_naming_the_host(stdout, stderr):
    cron = only(FactUnavailable, lambda: read_host_cron(FakeHost(stdout, stderr), ["deploy"], ["/etc/x"]), TARGET)
    if cron is not FAILED:
        assert isinstance(cron, HostCron)
        assert all(isinstance(d.pid, int) and isinstance(d.name, str) and isinstance(d.flavour, str) for d in cron.daemons)
        assert all(isinstance(s, CronSource) and (s.content is None or isinstance(s.content, bytes))
                   for s in cron.sources)
        assert all(isinstance(f, HostFile) and (f.content is None or isinstance(f.content, bytes))
                   and (f.size is None or isinstance(f.size, int)) for f in cron.files)


# --- the client's API -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


class FakeOpener:
    """Answers every request with `body`, as urllib's opener would."""

    def __init__(self, body: bytes):
        self.body = body

    def open(self, request, timeout):
        body = self.body

        class Response:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def read(self):
                return body

        return Response()


@functools.cache
def api_client() -> ApiClient:
    return ApiClient(API_URL)     # one: each builds a TLS context, ~50 ms


def api_answering(body: bytes) -> ApiClient:
    client = api_client()
    client._opener = FakeOpener(body)
    return client


API_BODIES = st.one_of(JSON.map(lambda value: json.dumps(value).encode()), st.binary(max_size=200),
                       st.text(max_size=100).map(str.encode))


@PROPS
@given(API_BODIES)
@example(DEEP_JSON.encode())                                        # found: RecursionError escaped
@example(b'{"a":' * 5_000)                                        # found: RecursionError escaped
@example(HUGE.encode())
@example(b"1e999999")
@example(b"NaN")
@example(b"\x00")
@example(b'{"settings": {"application": {}}}\r\n')
@example(b"\xff\xfe{\x00}")
@example('{"a": "caf\xe9"}'.encode("latin-1"))
def test_any_api_body_is_json_or_fact_unavailable_naming_the_request(body):
    client = api_answering(body)
    value = only(FactUnavailable, lambda: client.get_json(SETTINGS_PATH), API_URL + SETTINGS_PATH)
    if value is not FAILED:
        assert value is None or isinstance(value, (dict, list, str, int, float))
    assert isinstance(client.get_text("/metrics"), str)


class FakeDeployment:
    """What gc._settings reads: the API's application settings (or their failure), nothing declared."""

    def __init__(self, application):
        self._application = application
        self.profile = SimpleNamespace(settings=SimpleNamespace(pass_through=None, db_garbagecollector_enable=None))

    @property
    def application_settings(self):
        if isinstance(self._application, FactUnavailable):
            raise self._application
        return self._application


def application_settings(body) -> dict | FactUnavailable:
    """DeploymentFacts.application_settings itself, over an API answering `body`."""
    read = DeploymentFacts.application_settings.fget.__wrapped__
    try:
        return read(SimpleNamespace(api=SimpleNamespace(get_json=lambda path: body)))
    except FactUnavailable as exc:
        assert one_line(str(exc)) and SETTINGS_PATH in str(exc)
        return exc


def check_gc_settings(application):
    pass_through, auto_gc, why = _settings(FakeDeployment(application))
    for name, known in (("pass_through", pass_through), ("automatic GC", auto_gc)):
        assert known is None or (isinstance(known, Known) and isinstance(known.value, bool))
        # each unknown setting says why, in one line; a failed read of the API is the reason for both
        assert (known is None) == (name in why)
        if known is None:
            assert one_line(why[name])
            assert ("could not be read" in why[name]) == isinstance(application, FactUnavailable)


SETTINGS_SHAPED = st.fixed_dictionaries({}, optional={
    "pass_through": JSON, "db_garbagecollector_enable": JSON,
    "garbagecollector_enable": st.one_of(JSON, st.fixed_dictionaries({"messages": JSON})),
}).flatmap(lambda application: st.one_of(st.just(application), JSON.map(lambda extra: {**application, "x": extra})))


@PROPS
@given(st.one_of(
    JSON,
    JSON.map(lambda value: {"settings": value}),
    JSON.map(lambda value: {"settings": {"application": value}}),
    SETTINGS_SHAPED.map(lambda application: {"settings": {"application": application}}),
))
@example({"settings": {"application": [["pass_through", True]]}})   # dict() of pairs: still a mapping
@example({"settings": {"application": [[["unhashable"], 1]]}})
@example({"settings": {"application": "pass_through"}})
@example({"settings": {"application": {"garbagecollector_enable": {"messages": None}, "pass_through": 0}}})
@example({"settings": {"application": {"db_garbagecollector_enable": float("nan"), "pass_through": [0]}}})
@example({"settings": {"application": {"pass_through": 10 ** 5000}}})
@example(json.loads("[" * 200 + "]" * 200))
@example(None)
def test_any_api_json_gives_gc_settings_or_fact_unavailable(body):
    check_gc_settings(application_settings(body))


@PROPS
@given(st.dictionaries(st.text(max_size=8), JSON, max_size=4) | SETTINGS_SHAPED)
@example({"garbagecollector_enable": "messages"})                    # not a mapping: no .messages
@example({"garbagecollector_enable": ["messages"]})
@example({"pass_through": "\x00", "db_garbagecollector_enable": "\r\n"})
def test_any_application_mapping_gives_gc_settings(application):
    # What the API client hands over is always a dict (application_settings builds one); its values are anything.
    check_gc_settings(application)


METRICS_LINE = st.one_of(
    st.builds("{}{} {}".format,
              st.sampled_from(["api_requests_duration_ms_count", "api_requests_duration_ms_count_total", "x", ""]),
              st.sampled_from(["", '{method="GET"}', '{a="\\"}', "{", '{a="x",}']),
              st.one_of(NASTY, st.floats().map(repr), st.integers().map(str))),
    st.sampled_from(["# TYPE api_requests_duration_ms_count counter", "# TYPE api_requests_duration_ms_count gauge",
                     "# HELP api_requests_duration_ms_count x", "# TYPE api_requests_duration_ms counter", "# EOF",
                     "#", ""]),
    st.text(max_size=20),
)


@PROPS
@given(st.one_of(st.builds(lambda lines, newline: newline.join(lines) + newline,
                           st.lists(METRICS_LINE, max_size=8), st.sampled_from(["\n", "\r\n"])),
                 st.text(max_size=200), st.binary(max_size=200).map(lambda data: data.decode("utf-8", "replace"))))
@example("# TYPE api_requests_duration_ms_count counter\napi_requests_duration_ms_count NaN\n")     # found: NaN
@example("# TYPE api_requests_duration_ms_count counter\napi_requests_duration_ms_count +Inf\n")    # found: inf
@example("# TYPE api_requests_duration_ms_count counter\napi_requests_duration_ms_count -5\n")      # found: < 0
@example(f"# TYPE api_requests_duration_ms_count counter\napi_requests_duration_ms_count {HUGE}\n")
@example("# TYPE api_requests_duration_ms_count counter\r\napi_requests_duration_ms_count 1\r\n")
@example("api_requests_duration_ms_count{a=\"\x00\"} 1\n")
@example("\x00")
@example(INVALID_UTF8)
@example("0\x1e0")                                                   # found: the parser's message on two lines
def test_metrics_text_gives_a_finite_count_or_fact_unavailable(text):
    served = only(FactUnavailable, lambda: requests_served(text), "/metrics")
    if served is not FAILED:
        assert isinstance(served, float) and math.isfinite(served) and served >= 0


# --- docker inspect -------------------------------------------------------------------------------


WRONG = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                  st.lists(st.integers() | st.text(max_size=3), max_size=3),
                  st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=3), max_size=3))


def maybe(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """What Docker sends, or a JSON value of any other type in its place."""
    return st.one_of(plausible, plausible, WRONG)


IMAGES = st.one_of(st.sampled_from(["docker.whatsapp.biz/web:v2.53.1", "docker.whatsapp.biz/coreapp:v2.53.1",
                                    "sha256:" + "a" * 64, "mysql:8", ""]), st.text(max_size=20))
TIMESTAMPS = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00Z", "2026-11-28T17:20:01.123456789Z"]),
    st.builds("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}".format, st.integers(0, 9999), *[st.integers(0, 99)] * 5,
              st.sampled_from(["Z", ".123456789Z", "+02:00", "", "\x00"])),
    st.text(max_size=25))
ENV_ITEMS = st.lists(st.one_of(st.builds("{}={}".format, st.sampled_from(["WA_MASTER_NODE", "WA_DB_ENGINE", ""]),
                                         st.text(max_size=5)), st.text(max_size=8)), max_size=4)
CONFIG = st.fixed_dictionaries({}, optional={
    "Env": maybe(ENV_ITEMS), "Image": maybe(IMAGES),
    "Labels": maybe(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3))})
STATE = st.fixed_dictionaries({}, optional={
    "Status": maybe(st.sampled_from(["running", "exited", "restarting", "created", "paused", "dead"])),
    "ExitCode": maybe(st.integers()), "FinishedAt": maybe(TIMESTAMPS)})
MOUNT = st.fixed_dictionaries({}, optional={"Type": maybe(st.sampled_from(["bind", "volume"])),
                                           "Destination": maybe(st.just(MEDIA)), "RW": maybe(st.booleans())})
INSPECT = st.fixed_dictionaries({}, optional={
    "Config": maybe(CONFIG), "State": maybe(STATE), "Mounts": maybe(st.lists(maybe(MOUNT), max_size=3)),
    "Name": maybe(st.text(max_size=10).map(lambda name: "/" + name)), "Id": maybe(st.text("0123456789abcdef"))})


def engine(image_answer=None) -> DockerEngine:
    """A DockerEngine that never connected; inspecting an image answers `image_answer`."""
    fake = DockerEngine.__new__(DockerEngine)
    fake.base_url, fake.shown_as = "unix:///nowhere.sock", ENGINE
    fake._client = SimpleNamespace(api=SimpleNamespace(inspect_image=lambda image_id: image_answer or {}))
    return fake


def check_container_facts(facts: ContainerFacts):
    for text in (facts.name, facts.id, facts.image, facts.status):
        assert isinstance(text, str)
    assert facts.exit_code is None or isinstance(facts.exit_code, int)
    assert facts.finished_at is None or isinstance(facts.finished_at, str)
    for mapping in (facts.env, facts.labels):
        assert all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items())
    assert all(isinstance(mount, dict) for mount in facts.mounts)
    assert facts.role in (*ROLES, None)
    assert facts.state_line().startswith(facts.name)
    assert facts.compose_project is None or isinstance(facts.compose_project, str)


@PROPS
@given(INSPECT | JSON, st.sampled_from([None, "webapp"]), st.one_of(st.none(), JSON))
@example({"Config": "x"}, None, None)                                  # found: AttributeError escaped
@example({"Config": {"Env": [1]}}, None, None)                         # found: TypeError escaped
@example({"Config": {"Image": 5}}, None, None)                         # found: AttributeError escaped
@example({"Name": 5}, None, None)                                      # found: AttributeError escaped
@example({"Config": {"Env": "AB"}}, None, None)                        # found: env read letter by letter
@example({"Mounts": "abc"}, None, None)                                # found: mounts read letter by letter
@example({"Config": {"Labels": ["a"]}}, None, None)
@example({"State": {"Status": "exited", "FinishedAt": "2024-13-45T99:99:99Z"}}, None, None)  # found: ValueError
@example({"State": {"Status": "exited", "FinishedAt": "0000-01-01T00:00:00Z"}}, None, None)  # found: ValueError
@example({"Config": {"Image": "sha256:" + "a" * 64}}, None, {"RepoTags": "x"})
@example({"Config": {"Image": "sha256:" + "a" * 64}}, None, {"RepoTags": [5]})    # found: a tag that is no text
@example({"Config": {"Image": "sha256:" + "a" * 64}}, None, ["not", "a", "mapping"])
@example({"Name": "/\x00\r\n", "Config": {"Env": ["A=\x00", INVALID_UTF8]}, "State": {"ExitCode": 10 ** 5000}},
         None, None)
@example([], None, None)
def test_docker_inspect_gives_typed_container_facts_or_fact_unavailable(attrs, role, image_answer):
    facts = only(FactUnavailable, lambda: engine(image_answer)._facts(attrs, role), ENGINE)
    if facts is not FAILED:
        check_container_facts(facts)
        if role:
            assert facts.role == role


TAG_CHARACTERS = string.ascii_letters + string.digits + "_.-"
ENVIRONMENTS = st.dictionaries(st.sampled_from(["WA_MASTER_NODE", "A"]) | st.text(max_size=5),
                               st.sampled_from(["1", "0"]) | st.text(max_size=5), max_size=3)


@PROPS
@given(IMAGES, ENVIRONMENTS)
@example("\x00", {"\x00": "\r\n"})
@example(":", {})
@example("docker.whatsapp.biz/web:", {})
@example(INVALID_UTF8 + ":" + HUGE, {"WA_MASTER_NODE": HUGE})
def test_role_of_any_image_and_environment_is_a_role_or_none(image, env):
    assert role_of(image, env) in (*ROLES, None)


@PROPS
@given(st.sampled_from(["docker.whatsapp.biz/web", "docker.whatsapp.biz/coreapp"]),
       st.none() | st.text(TAG_CHARACTERS, min_size=1, max_size=20), ENVIRONMENTS)
@example("docker.whatsapp.biz/coreapp", "v2.53.1", {"WA_MASTER_NODE": "1"})
def test_role_of_a_whatsapp_reference_follows_image_and_master_flag(repository, tag, env):
    image = repository if tag is None else f"{repository}:{tag}"
    if repository.endswith("/web"):
        expected = "webapp"
    else:
        expected = "master" if env.get("WA_MASTER_NODE") == "1" else "coreapp"
    assert role_of(image, env) == expected


@PROPS
@given(st.one_of(TIMESTAMPS, st.none()))
@example("2024-13-45T99:99:99Z")                                      # found: ValueError escaped
@example("0000-01-01T00:00:00Z")                                      # found: ValueError escaped
@example("٢٠٢٤-٠١-٠١T٠٠:٠٠:٠٠Z")
@example("9999-12-31T23:59:59Z")                                      # the future: 0 seconds
@example("0001-01-01T00:00:00Z")                                      # Docker's "never"
@example("2024-01-01T00:00:00\x00")
def test_ago_of_any_timestamp(timestamp):
    ago = _ago(timestamp)
    assert ago is None or re.fullmatch(r"\d+ (day|hour|minute|second)s? ago", ago)


# --- the Compose file -----------------------------------------------------------------------------

COMPOSE_FRAGMENTS = st.sampled_from([
    "services:", "  waweb:", "    image: docker.whatsapp.biz/web:v2", "    image: docker.whatsapp.biz/coreapp:v2",
    "    volumes:", "      - whatsappMedia:/usr/local/wamedia:ro", "      - type: bind",
    "        target: /usr/local/wamedia",
    "    environment:", "      - WA_MASTER_NODE=1", "      WA_MASTER_NODE: 1", "volumes:", "---", "&a", "*a", "<<: *a",
    "!!python/object/apply:os.system [echo]", "{", "[", "\t", "  - ", ": ", "'", '"', "#", "\x00", "\r", ""])


@PROPS
@given(st.one_of(st.lists(COMPOSE_FRAGMENTS, max_size=12).map("\n".join), st.text(max_size=200),
                 st.binary(max_size=200).map(lambda data: data.decode("utf-8", "replace"))))
@example("services:\n  a: \x00\n")                                  # found: a message on two lines
@example("\ufeffservices: {}\x85")
@example("services:\r\n  waweb:\r\n    image: docker.whatsapp.biz/web:v2\r\n")
@example(DEEP_YAML)
@example("{a: " * 1_000)
@example(f"services: {{a: {{image: docker.whatsapp.biz/web, volumes: [{HUGE}]}}}}")
@example("services: !!python/object/apply:os.system ['echo x']")
@example("services:\n  - a\n---\nx")
@example(INVALID_UTF8)
def test_compose_file_gives_declarations_or_its_own_error_naming_the_path(text):
    try:
        declarations = media_declarations(text, COMPOSE_PATH, MEDIA)
    except ComposeFileError as exc:
        assert exc.path == COMPOSE_PATH and str(exc).startswith(COMPOSE_PATH + ":")
        assert one_line(str(exc)), str(exc)
        assert exc.line is None or exc.line >= 1
        return
    assert all(isinstance(d, MediaDeclaration) and d.role in ROLES for d in declarations)


# --- a cron command's GC calls --------------------------------------------------------------------

GC_URL = "https://wa.example:9090/v1/services/message/gc"
GC_WORDS = ["curl", "-X", "PUT", "-XPUT", "wget", "--method=PUT", "http", GC_URL, "'", '"', "\\", "$(", ")", "`", ";",
            "|", "&&", "#", "\x00", "\r\n", "-T", "x"]


@PROPS
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(GC_WORDS), max_size=12).map(" ".join)))
@example(f"curl -X PUT '{GC_URL}")                                 # unbalanced quote
@example(f"curl -X PUT {GC_URL} \\")                                # a trailing escape
@example(f"curl\x00-X PUT {GC_URL}")
@example(f"curl -X PUT {GC_URL}\r\n")
@example(f"$(curl -X PUT {GC_URL}")
@example(f"{INVALID_UTF8} curl -XPUT {GC_URL}?{HUGE}")
def test_gc_calls_give_urls_or_gc_command_error(command):
    calls = only(GcCommandError, lambda: gc_calls(command))
    if calls is not FAILED:
        assert isinstance(calls, tuple)
        assert all(isinstance(call.url, str) and "/v1/services/message/gc" in call.url for call in calls)
        assert all(call.text in command for call in calls)     # a fragment the caller can find


# --- YAML from outside runs no code --------------------------------------------------------------


PAYLOADS = {   # YAML values that create the file `marker` when an unsafe loader constructs them
    "os.system": '!!python/object/apply:os.system ["touch {marker}"]',
    "os.system, new": '!!python/object/new:os.system ["touch {marker}"]',
    "subprocess": "!!python/object/apply:subprocess.check_call [[touch, {marker}]]",
    "os.mkdir": '!!python/object/apply:os.mkdir ["{marker}"]',
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_payloads_do_run_under_an_unsafe_loader(tmp_path, payload):
    # the control: without it, an absent marker below would prove nothing
    marker = tmp_path / "ran"
    yaml.unsafe_load(f"x: {payload.format(marker=marker)}\n")
    assert marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("where", ["top", "nested"])
def test_python_tags_are_refused_and_run_nothing(tmp_path, payload, where):
    marker = tmp_path / "ran"
    payload = payload.format(marker=marker)
    compose = f"services: {payload}\n" if where == "top" else f"services:\n  waweb:\n    volumes: {payload}\n"
    with pytest.raises(ComposeFileError, match=f"^{re.escape(COMPOSE_PATH)}:"):
        media_declarations(compose, COMPOSE_PATH, MEDIA)
    profile = tmp_path / "prod1.yaml"
    profile.write_text(f"target: local\ndatabase: {payload}\n" if where == "top"
                       else f"target: local\ndeployment:\n  db_env: {payload}\n")
    with pytest.raises(ProfileError, match=f"^{re.escape(str(profile))}:"):
        load_profile(profile)
    inventory = f"all: {payload}\n" if where == "top" else f"all:\n  hosts:\n    web1:\n      x: {payload}\n"
    with pytest.raises(InventoryError, match="^hosts.yml:"):
        parse_inventory(inventory, "hosts.yml")
    assert not marker.exists()


def test_ini_inventory_values_are_literals_never_evaluated(tmp_path):
    marker = tmp_path / "ran"
    hosts = parse_inventory(f"[web]\nweb1 x=\"__import__('os').system('touch {marker}')\"\n", "hosts.ini")
    assert hosts[0].vars["x"] == f"__import__('os').system('touch {marker}')"
    assert not marker.exists()
