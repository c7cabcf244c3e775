"""The lab's stand-in of the client's REST API (R-GC) and the gc.* deviations, for real: an
HTTPS server on 127.0.0.1 per deployment (lab/api_server.py), and host cron files of
API-driven GC jobs that curl really runs.

One single-instance deployment of its own under a temporary root; its cron files go to a
temporary folder too (cron_dir=), so the host's cron daemon never runs these test jobs and
no audit of the shared deployments sees them.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tests.private_lab import private_lab
from cronsim import CronSim
from prometheus_client.parser import text_string_to_metric_families

from lab import Lab
from lab import ports
from lab.api import TOKEN_TTL_SECONDS, ApiConfig

pytestmark = pytest.mark.lab

GC = "/v1/services/message/gc"
SETTINGS = "/v1/settings/application"
LOGIN = "/v1/users/login"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # its cron files stay out of the host's /etc/cron.d, which audits of other labs read
    yield from private_lab(tmp_path_factory, "labapi", cron_dir=tmp_path_factory.mktemp("cron.d"))


@pytest.fixture
def compliant(lab):
    """Checks, after the test, that the deployment is back to what `up` makes."""
    yield
    assert lab.active_deviations() == []
    assert lab.api_config() == ApiConfig()
    assert lab.api_server.pid() is not None
    assert not lab.gc_cron_file.exists() and not lab.api_token_file.exists()
    assert application(lab, login(lab))["garbagecollector_enable"]["messages"] is True


# --- a client, verifying the deployment's own certificate ----------------------------------
def call(lab: Lab, method: str, path: str, authorization: str | None = None,
         body: dict | None = None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(lab.api_server.cert_file))
    request = urllib.request.Request(
        lab.api_url + path, method=method,
        headers={"Authorization": authorization} if authorization else {},
        data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def login(lab: Lab) -> str:
    status, body = call(lab, "POST", LOGIN, basic(lab.api_username, lab.api_password))
    assert status == 200, body
    return json.loads(body)["users"][0]["token"]


def application(lab: Lab, token: str) -> dict:
    status, body = call(lab, "GET", SETTINGS, f"Bearer {token}")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["meta"] == {"api_status": "stable", "version": lab.version}
    return answer["settings"]["application"]


def requests_served(lab: Lab, token: str) -> tuple[int, int]:
    """(API requests counted, uptime seconds) from the JSON /metrics."""
    status, body = call(lab, "GET", "/metrics", f"Bearer {token}")
    assert status == 200, body
    metrics = json.loads(body)["metrics"]
    counted = sum(point["value"] for point in metrics["api_requests_duration_ms_count"]["data"])
    return counted, metrics["web_uptime"]["data"][0]["value"]


def measured_rps(lab: Lab, token: str, seconds: float = 2.0) -> float:
    """The rate a checker reads: two readings of the counter; ours is one request of it."""
    first, started = requests_served(lab, token)[0], time.monotonic()
    time.sleep(seconds)
    second, elapsed = requests_served(lab, token)[0], time.monotonic() - started
    return (second - first - 1) / elapsed


def error_of(body: bytes) -> dict:
    [error] = json.loads(body)["errors"]
    return error


def entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit()]


# --- login and tokens ---------------------------------------------------------------------
def test_login_answers_a_token_valid_7_days(lab):
    status, body = call(lab, "POST", LOGIN, basic("admin", lab.api_password), body={})
    assert status == 200
    [user] = json.loads(body)["users"]
    expires = datetime.strptime(user["expires_after"], "%Y-%m-%d %H:%M:%S%z")
    assert user["expires_after"].endswith("+00:00")
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=7)) < timedelta(minutes=1)
    assert len(user["token"]) >= 32
    assert application(lab, user["token"])["pass_through"] is False


@pytest.mark.parametrize("authorization", [
    basic("admin", "wrong-password"), basic("root", "x"), "Basic !!!", "Bearer x", None])
def test_login_refuses_anything_but_the_credentials(lab, authorization):
    status, body = call(lab, "POST", LOGIN, authorization)
    assert status == 401
    assert error_of(body) == {"code": 1005, "title": "Access denied",
                              "details": "Invalid username or password"}


def test_endpoints_refuse_missing_invalid_and_expired_tokens(lab, compliant):
    token = login(lab)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for path in (SETTINGS, "/metrics"):
        for authorization in (None, "Bearer", f"Bearer {forged}", basic("admin", lab.api_password)):
            status, body = call(lab, "GET", path, authorization)
            assert status == 401 and error_of(body)["code"] == 1005, (path, authorization)
    lab.configure_api(token_ttl_seconds=1)
    try:
        short_lived = login(lab)
        time.sleep(2.1)
        status, body = call(lab, "GET", SETTINGS, f"Bearer {short_lived}")
        assert status == 401 and error_of(body)["details"] == "Token expired"
    finally:
        lab.configure_api(token_ttl_seconds=TOKEN_TTL_SECONDS)
    application(lab, token)          # signed tokens survive the restarts


# --- settings, metrics, the request log ---------------------------------------------------
def test_compliant_settings_use_the_newer_payload(lab):
    settings = application(lab, login(lab))
    assert settings["pass_through"] is False
    assert settings["garbagecollector_enable"] == {"messages": True, "media": False}
    assert "db_garbagecollector_enable" not in settings
    assert settings["callback_persist"] is True and "webhooks" in settings


def test_metrics_count_requests_at_the_configured_rate(lab):
    token = login(lab)
    counted, uptime = requests_served(lab, token)
    assert uptime >= 0 and counted >= 20 * uptime
    assert 16 <= measured_rps(lab, token, seconds=3) <= 24
    status, body = call(lab, "GET", "/metrics?format=prometheus", f"Bearer {token}")
    assert status == 200
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    assert families["web_uptime"].type == "gauge"
    assert families["api_requests_duration_ms_count"].type == "counter"
    methods = {sample.labels["method"] for sample in
               families["api_requests_duration_ms_count"].samples}
    assert {"POST_v1_messages", "POST_v1_users_login", "GET_metrics"} <= methods
    assert call(lab, "GET", "/metrics")[0] == 401


def test_request_log_records_every_method_and_no_secret(lab, compliant):
    lab.clear_api_requests()
    token = login(lab)
    bearer = f"Bearer {token}"
    assert call(lab, "GET", "/metrics?format=prometheus", bearer)[0] == 200
    assert json.loads(call(lab, "PUT", GC, bearer)[1])["services"]["message"]["gc"] == {
        "status": "processing"}
    assert call(lab, "PATCH", SETTINGS, bearer, body={"pass_through": True})[0] == 200
    assert call(lab, "DELETE", "/v1/nothing", bearer)[0] == 404
    assert application(lab, token)["pass_through"] is False      # a PATCH changes nothing
    recorded = lab.api_requests()
    assert [(r["method"], r["path"], r["status"], r["auth"]) for r in recorded] == [
        ("POST", LOGIN, 200, "Basic"),
        ("GET", "/metrics?format=prometheus", 200, "Bearer"),
        ("PUT", GC, 200, "Bearer"),
        ("PATCH", SETTINGS, 200, "Bearer"),
        ("DELETE", "/v1/nothing", 404, "Bearer"),
        ("GET", SETTINGS, 200, "Bearer"),
    ]
    assert all(datetime.fromisoformat(r["time"]).tzinfo for r in recorded)
    log = (lab.state.path / "api-requests.jsonl").read_text()
    for secret in (lab.api_password, token, token.rsplit(".", 1)[1]):
        assert secret not in log
    lab.clear_api_requests()
    assert lab.api_requests() == []


def test_concurrent_requests_are_served_while_a_client_stays_silent(lab):
    token = login(lab)
    with socket.create_connection(("127.0.0.1", int(lab.api_url.rsplit(":", 1)[1])), timeout=5):
        started = time.monotonic()        # the silent connection never starts its handshake
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda _: call(lab, "GET", SETTINGS, f"Bearer {token}")[0],
                                     range(48)))
        assert statuses == [200] * 48
        assert time.monotonic() - started < 10


# --- the process ----------------------------------------------------------------------------
def test_up_reuses_the_server_and_a_new_configuration_restarts_it(lab, compliant):
    pid, url = lab.api_server.pid(), lab.api_url
    lab.up()
    assert lab.api_server.pid() == pid
    assert lab.configure_api(rps=50) == ApiConfig(rps=50)
    assert lab.api_server.pid() not in (None, pid)
    assert lab.api_url == url                          # a deployment keeps its port
    assert 42 <= measured_rps(lab, login(lab)) <= 58
    lab.up()
    assert lab.api_config() == ApiConfig()
    status = lab.status()
    assert status.running and status.api_pid == lab.api_server.pid()
    assert f"API stand-in: {url} running" in "\n".join(status.lines())


def test_down_stops_the_server(tmp_path):
    """A deployment with only its API brought up: down stops the process, frees the port."""
    project = f"labapidown{os.getpid()}"
    deployment = Lab(project=project, root=tmp_path, cron_dir=tmp_path,
                     api_port=ports.reserve(tmp_path / project))
    deployment.state.create()
    deployment.ensure_api_server()
    pid = deployment.api_server.pid()
    assert pid is not None
    port = int(deployment.api_url.rsplit(":", 1)[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    deployment.down()
    assert deployment.api_server.pid() is None and not deployment.dir.exists()
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


# --- deviations -------------------------------------------------------------------------------
SETTINGS_DEVIATIONS = {
    # name -> the settings the API answers while it is on
    "gc.old_payload": {"pass_through": False, "db_garbagecollector_enable": True},
    "gc.pass_through_gc_off": {"pass_through": True,
                               "garbagecollector_enable": {"messages": False, "media": False}},
    "gc.automatic_gc_off": {"pass_through": False,
                            "garbagecollector_enable": {"messages": False, "media": False}},
    "gc.pass_through_gc_on": {"pass_through": True,
                              "garbagecollector_enable": {"messages": True, "media": False}},
}


@pytest.mark.parametrize("name", SETTINGS_DEVIATIONS)
def test_settings_deviation_changes_what_the_api_answers(lab, compliant, name):
    token = login(lab)
    with lab.deviation(name):
        settings = application(lab, token)
        expected = SETTINGS_DEVIATIONS[name]
        assert {key: settings.get(key) for key in expected} == expected
        other = {"db_garbagecollector_enable", "garbagecollector_enable"} - expected.keys()
        assert not other & settings.keys()
        assert lab.active_deviations() == [name]


def test_high_traffic_makes_the_counter_grow_at_200_rps(lab, compliant):
    with lab.deviation("gc.high_traffic"):
        assert lab.api_config().rps == 200
        assert 180 <= measured_rps(lab, login(lab)) <= 220
    assert 16 <= measured_rps(lab, login(lab)) <= 24


def test_api_down_stops_the_server_and_restore_starts_it(lab, compliant):
    port = int(lab.api_url.rsplit(":", 1)[1])
    with lab.deviation("gc.api_down"):
        assert lab.api_server.pid() is None
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        status = lab.status()
        assert status.running and status.api_pid is None      # down as asked
        assert "NOT running" in "\n".join(status.lines())
        lab.deviate("gc.high_traffic")                          # stays down
        assert lab.api_server.pid() is None and lab.api_config().rps == 200
        lab.restore("gc.high_traffic")
        assert lab.api_server.pid() is None
    assert application(lab, login(lab))["pass_through"] is False


def test_api_deviations_combine_and_restoring_one_keeps_the_other(lab, compliant):
    lab.deviate("gc.old_payload")
    lab.deviate("gc.pass_through_gc_off")
    try:
        settings = application(lab, login(lab))
        assert (settings["pass_through"], settings["db_garbagecollector_enable"]) == (True, False)
        lab.restore("gc.old_payload")
        settings = application(lab, login(lab))
        assert settings["pass_through"] is True and "db_garbagecollector_enable" not in settings
        assert lab.active_deviations() == ["gc.pass_through_gc_off"]
    finally:
        lab.restore()


JOBS = {
    # name -> its schedule's next two runs after Thursday 2026-01-01 12:00
    "gc.api_job_daily": [datetime(2026, 1, 2, 3, 0), datetime(2026, 1, 3, 3, 0)],
    "gc.api_job_weekly": [datetime(2026, 1, 4, 3, 0), datetime(2026, 1, 11, 3, 0)],
    "gc.api_job_14h": [datetime(2026, 1, 1, 14, 0), datetime(2026, 1, 2, 14, 0)],
}


@pytest.mark.parametrize("name", JOBS)
def test_api_job_is_a_cron_line_that_calls_the_gc_endpoint(lab, compliant, name):
    cleanup = lab.cron_file.read_text()
    with lab.deviation(name):
        path = lab.gc_cron_file
        assert path.parent == lab.cron_dir and path.name == f"wa-lab-{lab.project}-gc"
        assert "." not in path.name and path.stat().st_mode & 0o777 == 0o644
        text = path.read_text()
        assert text.endswith("\n") and "%" not in text
        [line] = entries(text)
        fields = line.split(maxsplit=6)
        schedule, user, command = " ".join(fields[:5]), fields[5], fields[6]
        runs = CronSim(schedule, datetime(2026, 1, 1, 12, 0))
        assert [next(runs), next(runs)] == JOBS[name]
        assert user == "root"
        assert "-X PUT" in command and f"{lab.api_url}{GC}" in command
        assert lab.api_token_file.stat().st_mode & 0o777 == 0o600
        assert lab.cron_file.read_text() == cleanup           # the cleanup file untouched
        # The job works: run its command as cron would (its output kept, for the test).
        lab.clear_api_requests()
        ran = subprocess.run(["sh", "-c", command.replace(" >/dev/null 2>&1", "")],
                             capture_output=True, text=True, timeout=30)
        assert json.loads(ran.stdout)["services"]["message"]["gc"]["status"] == "processing"
        assert [(r["method"], r["path"], r["status"]) for r in lab.api_requests()] == [
            ("PUT", GC, 200)]


def test_api_jobs_combine_with_api_deviations_and_restore_converges(lab, compliant):
    lab.deviate("gc.high_traffic")
    lab.deviate("gc.api_job_daily")
    lab.deviate("gc.api_job_14h")
    try:
        schedules = [" ".join(line.split()[:5]) for line in entries(lab.gc_cron_file.read_text())]
        assert schedules == ["0 3 * * *", "0 14 * * *"]
        assert lab.api_config().rps == 200
        lab.restore("gc.api_job_daily")
        schedules = [" ".join(line.split()[:5]) for line in entries(lab.gc_cron_file.read_text())]
        assert schedules == ["0 14 * * *"]
        assert lab.api_config().rps == 200
        assert lab.active_deviations() == ["gc.high_traffic", "gc.api_job_14h"]
    finally:
        lab.restore()


def test_up_ends_gc_deviations(lab, compliant):
    lab.deviate("gc.api_down")
    lab.deviate("gc.api_job_weekly")
    lab.up()


# --- profile and credentials ------------------------------------------------------------------
def test_profile_names_the_api_and_api_env_exports_its_login(lab, monkeypatch):
    variable = f"WA_LAB_API_PASSWORD_{lab.project.upper()}"
    assert lab.profile()["api"] == {"url": lab.api_url, "username_env": "WA_LAB_API_USER",
                                    "password_env": variable, "verify_tls": False}
    assert lab.api_env() == {"WA_LAB_API_USER": "admin", variable: lab.api_password}
    assert len(lab.api_password) >= 24 and lab.api_password != lab.db_password
    printed = subprocess.run(
        [sys.executable, "-m", "lab", "api-env", "--project", lab.project, "--root", str(lab.root)],
        capture_output=True, text=True, check=True, timeout=60).stdout
    shell = subprocess.run(["sh", "-c", f'{printed}\nprintf "%s %s" "$WA_LAB_API_USER" '
                                        f'"${variable}"'],
                           capture_output=True, text=True, check=True, timeout=30).stdout
    assert shell == f"admin {lab.api_password}"
    assert all(line.startswith("export ") for line in printed.splitlines())
    assert shlex.split(printed.splitlines()[0]) == ["export", "WA_LAB_API_USER=admin"]
