"""The fault matrix (issue 8, SECURITY.md): every piece an audit reaches, broken in turn.

Docker engine stopped; database down, refusing the password, or accepting and never
answering; the client's API down, refusing the login, answering something that is not JSON,
or showing a certificate nobody vouches for; a container stopped and one restarting; the
reports folder full or read-only; an SSH target that drops the connection mid-run. In every
case the run ends within twice the timeout of the piece that is broken (plus pytest's own
start), the affected checks say what failed in one line naming it, every other check gives
the outcome it gives on the healthy deployment, the reports are written where they can be,
the console holds no traceback, and the exit code is 1 — except where README documents
otherwise, said at the test: a refused password *fails* ENV-009, an unusable API *fails*
GC-002 (unknown settings), and settings declared in the profile let an API-less run pass.

The deployment is one of this module's own (tests/private_lab.py): its containers are stopped
and its password changed here, and no audit of the shared deployments (exec counts, API
request logs) sees these runs. Each fault is made the way an operator meets it; nothing in
the checker is patched.
"""

from __future__ import annotations

import json

import contextlib
import http.server
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import docker
import pytest

from lab.api import free_port, password_env
from lab.profiles import REMOVE, merge, profile_for, write
from lab.sshd import SshServer
from tests.audit_runner import run_audit
from tests.lab.silent_port import silent_listener
from tests.private_lab import private_lab
from wa_compliance.timeouts import CONNECT_SECONDS

pytestmark = pytest.mark.lab

HOST = "faults"               # every profile here audits under this name
STARTUP = 4                   # seconds of pytest start-up in each audit, on top of the timeouts
ENGINE_CHECKS = ("CRON-002", "CRON-003", "CRON-004", "CRON-005", "ENV-008", "LOG-001", "LOG-002",
                 "LOG-003", "LOG-004", "LOG-005", "VER-001", "VOL-001", "VOL-002", "VOL-003", "VOL-004")


# --- the deployment and its healthy outcomes ------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    for deployment in private_lab(tmp_path_factory, "faults"):
        # GC-001 needs a messages table; an empty one does (lab.seed would wait for the
        # seeding lock the benchmarks hold for minutes)
        connection = deployment.connect_db()
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE IF NOT EXISTS messages (id BIGINT PRIMARY KEY)")
        finally:
            connection.close()
        yield deployment


@pytest.fixture(scope="module")
def healthy(lab, tmp_path_factory):
    """(check, subject) -> outcome of the same audit on the intact deployment."""
    folder = tmp_path_factory.mktemp("healthy")
    run = run_audit(f"--host={write(profile_for(lab, HOST), folder / 'faults.yaml')}",
                    reports_dir=folder / "reports", env=lab.api_env())
    assert run.exit_code == 0, run.console
    outcomes = {(r["id"], r["subject"]): r["outcome"] for r in run.results(HOST)}
    assert set(outcomes.values()) == {"pass", "skip"}, outcomes     # skip: GC-004, GC-006
    return outcomes


def profile(lab, folder: Path, **overrides) -> str:
    return str(write(merge(profile_for(lab, HOST), overrides), folder / "faults.yaml"))


def timed(audit, *args, **options):
    started = time.monotonic()
    run = audit(*args, **options)
    return run, time.monotonic() - started


def assert_contained(run, elapsed, healthy, *, timeout, affected, exit_code=1, reports=True):
    """What every fault must give. `affected[check] = (outcome, text)`: each result of that
    check that differs from the healthy run has this outcome and `text` in its message; or
    `(outcome, text, subject)`: the results whose subject holds `subject` (and only those)."""
    assert run.exit_code == exit_code, run.console
    assert elapsed <= 2 * timeout + STARTUP, f"{elapsed:.1f}s for a {timeout}s timeout"
    assert "Traceback" not in run.console, run.console
    assert "INTERNALERROR" not in run.console and "internal error" not in run.console, run.console
    if not reports:
        return
    results = run.results(HOST)
    assert results, run.console
    for result in results:
        assert "\n" not in result["message"] and result["message"].strip(), result
    seen = set()
    for result in results:
        key, outcome = (result["id"], result["subject"]), result["outcome"]
        expected = affected.get(result["id"])
        if expected and (len(expected) < 3 or expected[2] in result["subject"]):
            if outcome != healthy.get(key):
                assert outcome == expected[0], result
                assert expected[1] in result["message"], result
                seen.add(result["id"])
        else:
            assert outcome == healthy.get(key, "pass"), result
    assert seen == set(affected), f"unaffected after all: {set(affected) - seen}"


# --- 1. the Docker engine -------------------------------------------------------------------
@pytest.mark.parametrize("socket_file", ["missing", "stale"])
def test_docker_engine_stopped(audit, lab, healthy, tmp_path, socket_file):
    """A stopped engine, as its clients see it: no socket file, or a socket nobody listens on."""
    path = tmp_path / "docker.sock"
    if socket_file == "stale":
        with socket.socket(socket.AF_UNIX) as stale:
            stale.bind(str(path))                 # the file stays, nothing accepts on it
    engine = f"unix://{path}"
    run, elapsed = timed(audit, f"--host={profile(lab, tmp_path, docker_host=engine)}", env=lab.api_env())
    error = ("error", f"cannot reach the Docker engine at {engine}")
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS,
                     affected={check: error for check in ENGINE_CHECKS})


# --- 2. the database ------------------------------------------------------------------------
def test_database_down(audit, lab, healthy, tmp_path):
    port = free_port()
    run, elapsed = timed(audit, f"--host={profile(lab, tmp_path, database={'port': port})}", env=lab.api_env())
    where = f"mysql://{lab.db_user}@127.0.0.1:{port}"
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS,
                     affected={"ENV-009": ("error", where), "GC-001": ("error", where)})
    assert "Connection refused" in run.of(HOST, "ENV-009")[0]["message"]


def test_database_refuses_the_password(audit, lab, healthy, tmp_path):
    """The server's password changed, db.env's did not: ENV-009 *fails* (the server answered
    no: the rule, README "Choices"); GC-001 cannot read the table, so it is `error`."""
    with lab.deviation("env.wrong_password"):
        run, elapsed = timed(audit, f"--host={profile(lab, tmp_path)}", env=lab.api_env())
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS,
                     affected={"ENV-009": ("fail", "Access denied"), "GC-001": ("error", "Access denied")})


@pytest.mark.parametrize("engine", ["mysql", "pgsql"])
def test_database_port_accepts_but_never_answers(audit, lab, healthy, tmp_path, engine):
    """One connect timeout for the whole run: ENV-009 and GC-001 share the attempt (they made
    two, of 20 s each on MySQL, whose handshake waited for the query timeout). PostgreSQL
    through a db.env of its own: the checks that need neither a container nor the API."""
    with silent_listener() as port:
        if engine == "mysql":
            run, elapsed = timed(audit, f"--host={profile(lab, tmp_path, database={'port': port})}",
                                 env=lab.api_env())
            baseline, said = healthy, f"mysql://{lab.db_user}@127.0.0.1:{port}: Lost connection to MySQL server"
        else:
            db_env = tmp_path / "db.env"
            db_env.write_text(f"WA_DB_ENGINE=PGSQL\nWA_DB_HOSTNAME=db\nWA_DB_PORT={port}\nWA_DB_USERNAME=wa_pg\n"
                              f"WA_DB_PASSWORD=a-long-enough-password\nWA_DB_NAME_PREFIX=wapg_\n")
            db_env.chmod(0o600)
            pg_profile = profile(lab, tmp_path, deployment={"db_env": str(db_env)}, database={"port": port},
                                 api=REMOVE)
            run, elapsed = timed(audit, f"--host={pg_profile}", "-k", "(test_env and not env_008 and not env_012) or gc_001")
            baseline, said = {}, f"postgresql://wa_pg@127.0.0.1:{port}: connection timeout expired"
        attempts = _connections_to(port)
    assert_contained(run, elapsed, baseline, timeout=CONNECT_SECONDS,
                     affected={"ENV-009": ("error", said), "GC-001": ("error", said)})
    assert attempts == 1, attempts


def _connections_to(port: int) -> int:
    """Connections accepted on 127.0.0.1:`port` and still held (the silent listener closes none)."""
    local = f"0100007F:{port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] != "0A")     # 0A: LISTEN


# --- 3. the client's API ----------------------------------------------------------------------
class NotJson(http.server.BaseHTTPRequestHandler):
    """200 and `{not json` to every request, the login included."""

    def _answer(self):
        body = b"{not json"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def not_json_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotJson)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


API_FAULTS = {
    # fault: what GC-002 says of it
    "down": "cannot reach the client's API at https://127.0.0.1:",
    "wrong_password_401": "/v1/users/login answered 401 Unauthorized",
    "invalid_json": "/v1/users/login did not answer JSON",
    "tls_certificate_mismatch": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
}


@pytest.mark.parametrize("fault", list(API_FAULTS))
def test_api_fault(audit, lab, healthy, tmp_path, fault):
    """The API's settings are unknown: GC-002 *fails* (README: "else the profile's settings";
    its fix is to give the audit API access or declare them), GC-003 has nothing to compare
    (`skip`, pointing at GC-002); nothing else moves (GC-004/005 are `skip` on the healthy lab
    already: its quiet rate now says nothing of the peak)."""
    environment = lab.api_env()
    with not_json_server() as not_json:
        api = {"down": {"url": f"https://127.0.0.1:{free_port()}"},
               "wrong_password_401": {},
               "invalid_json": {"url": not_json},
               # the stand-in's certificate is self-signed, as the client's default one
               "tls_certificate_mismatch": {"verify_tls": True}}[fault]
        if fault == "wrong_password_401":
            environment[password_env(lab.project)] = "not-the-api-password"
        run, elapsed = timed(audit, f"--host={profile(lab, tmp_path, api=api)}", env=environment)
    # an API call may take COMMAND_SECONDS; these faults answer at once, so CONNECT_SECONDS holds
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, affected={
        "GC-002": ("fail", API_FAULTS[fault]), "GC-003": ("skip", "unknown (see GC-002)")})
    message = run.of(HOST, "GC-002")[0]["message"]
    assert message.startswith("pass_through and automatic GC unknown: the API could not be read ("), message
    assert "not-the-api-password" not in run.console


def test_api_down_with_declared_settings(audit, lab, healthy, tmp_path):
    """With `settings` declared, an unreachable API is no finding: GC-002 and GC-003 use them
    and say so; the run passes (exit 0)."""
    host_profile = profile(lab, tmp_path, api={"url": f"https://127.0.0.1:{free_port()}"},
                           settings={"pass_through": False, "db_garbagecollector_enable": True})
    run, elapsed = timed(audit, f"--host={host_profile}", env=lab.api_env())
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, exit_code=0, affected={})
    for check in ("GC-002", "GC-003"):
        assert "declared in the profile" in run.of(HOST, check)[0]["message"]
        assert "cannot reach the client's API" in run.of(HOST, check)[0]["message"]


# --- 4. containers --------------------------------------------------------------------------
@pytest.fixture
def engine():
    client = docker.from_env()
    yield client
    client.close()


def test_one_container_stopped_and_one_restarting(audit, lab, healthy, tmp_path, engine):
    """The Coreapp stopped, and a second Coreapp of the project stuck restarting: every check
    that needs a running container is `error` naming that container and its state; the
    Webapp's results, and what the stopped ones' configuration shows, are as healthy."""
    names = lab.container_names()
    webapp, coreapp = names["webapp"][0], names["coreapp"][0]
    image = engine.containers.get(coreapp).attrs["Config"]["Image"]
    restarting = engine.containers.run(
        image, ["sh", "-c", "exit 1"], name=f"{lab.project}_wacore2_1", detach=True,
        restart_policy={"Name": "always"}, network_mode="none",
        labels={"com.docker.compose.project": lab.project, "com.docker.compose.service": "wacore2"},
        volumes={lab.media_volume: {"bind": "/usr/local/wamedia", "mode": "rw"}},
        environment=lab.db_env_variables())
    try:
        engine.containers.get(coreapp).stop(timeout=1)
        _until_restarting_for_a_while(restarting)
        run, elapsed = timed(audit, f"--host={profile(lab, tmp_path)}", env=lab.api_env())
    finally:
        restarting.remove(force=True)
        engine.containers.get(coreapp).start()
    not_running = ("error", "is not running (", "_wacore")
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, affected={
        **{check: not_running for check in ("ENV-008", "CRON-005", "LOG-003", "LOG-004", "LOG-005")},
        "VOL-004": ("error", ""),          # every container: the messages are checked below
        # a container no cron entry names is not cleaned, running or not: a finding, not an error
        "CRON-002": ("fail", f"no cron entry runs /opt/whatsapp/bin/cleanup.sh in {restarting.name}",
                     restarting.name)})
    states = {restarting.name: r"restarting", coreapp: r"exited \d+, \d+ seconds? ago"}
    lone = [r for r in run.of(HOST, "VOL-004") if r["subject"] == webapp]
    # the Webapp is the only one running: no other container can read its probe back
    assert [r["message"] for r in lone] == ["no other container is running to read its probe back: "
                                            "the round trip needs two"]
    for result in run.results(HOST):
        if result in lone:
            continue
        if result["outcome"] == "error":
            state = states[result["subject"]]
            assert re.fullmatch(rf"{result['subject']} is not running \({state}\)", result["message"]), result
        if result["subject"] == webapp:
            assert result["outcome"] == "pass", result
    # what needs no running container reads the configuration of both all the same
    for check in ("VOL-001", "VOL-002", "VOL-003", "CRON-002"):
        assert {r["subject"] for r in run.of(HOST, check) if r["outcome"] == "pass"} >= {webapp, coreapp}


def _until_restarting_for_a_while(container, delay_index: int = 7, limit: float = 30) -> None:
    """Docker doubles the delay between restarts (100 ms, 200 ms...): wait for a delay long
    enough that the audit's discovery, a few seconds later, sees "restarting", not one of
    its short spells of "running"."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] == "restarting" and container.attrs["RestartCount"] >= delay_index:
            return
        time.sleep(0.05)
    raise AssertionError(f"{container.name} never settled into restarting: {container.attrs['State']}")


# --- 5. the reports folder ------------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(folder: Path, *options: str):
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=64k", *options)), "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_reports_folder_full(audit, lab, healthy, tmp_path):
    """64 KiB fill up half-way through a host's reports (about 80 KiB): one red line, the run folder is not made `latest`, no temporary file
    and no half-written report is left, and the run exits 1 although every check passed
    (README "When an output cannot be written")."""
    with tmpfs(tmp_path / "small") as small:
        run, elapsed = timed(audit, f"--host={profile(lab, tmp_path)}", f"--metrics-file={small / 'wa.prom'}",
                             reports_dir=small, env=lab.api_env())
        left = sorted(str(path.relative_to(small)) for path in small.rglob("*"))
        for written in small.rglob("results.json"):     # a report file there is whole
            json.loads(written.read_text())
        metrics = small / "wa.prom"
        metrics_text = metrics.read_text() if metrics.exists() else ""
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, exit_code=1, reports=False, affected={})
    summary = _summary(run)
    assert summary[0].startswith(f"{HOST}: ") and summary[0].endswith(
        " — reports NOT written: [Errno 28] No space left on device"), summary
    # the half-written report was removed, which may leave room for the small metrics file:
    # either it is there whole, or the summary says it is not
    assert (f"metrics: {metrics}" in summary and "wa_compliance_results" in metrics_text
            or f"metrics NOT written to {metrics}: No space left on device" in summary), summary
    assert not [name for name in left if name.endswith("latest") or name == "index.html"
                or name.endswith(".tmp")], left


def test_reports_folder_read_only(audit, lab, healthy, tmp_path):
    with tmpfs(tmp_path / "ro", "ro") as read_only:
        run, elapsed = timed(audit, f"--host={profile(lab, tmp_path)}", reports_dir=read_only, env=lab.api_env())
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, exit_code=1, reports=False, affected={})
    assert _summary(run)[0].endswith(
        f" — reports NOT written: [Errno 30] Read-only file system: '{read_only / HOST}'"), run.console


def _summary(run) -> list[str]:
    """The lines of the wa-compliance section at the end of the console."""
    lines = run.console.splitlines()
    start = next(i for i, line in enumerate(lines) if " wa-compliance " in line)
    return [line for line in lines[start + 1:] if line.strip() and not line.startswith("=")]


# --- 6. an SSH target that drops the connection ---------------------------------------------
@pytest.fixture
def sshd(tmp_path):
    server = SshServer(tmp_path / "sshd")
    server.start()
    yield server
    server.stop()


def test_ssh_connection_dropped_mid_run(audit, lab, healthy, sshd, tmp_path, engine):
    """The audit's one SSH connection is cut (its sshd processes killed) when its first
    `docker exec` reaches the engine through it, the containers listed: what came through
    before stands, what needed the link after is `error` naming the target or the container;
    nothing is judged on half an answer."""
    dropped = threading.Event()
    watcher = threading.Thread(target=_drop_at_first_exec, args=(sshd, engine, lab.project, dropped), daemon=True)
    watcher.start()
    run, elapsed = timed(audit, f"--host={profile(lab, tmp_path, target=sshd.target)}",
                         f"--ssh-config={sshd.client_config}", env=lab.api_env())
    watcher.join()
    assert dropped.is_set(), sshd.log.read_text()[-2000:]
    assert_contained(run, elapsed, healthy, timeout=CONNECT_SECONDS, affected={}, reports=False)
    containers = [name for names in lab.container_names().values() for name in names]
    cut = []
    for result in run.results(HOST):
        normal = healthy.get((result["id"], result["subject"].replace(sshd.target, "local")), "pass")
        if result["outcome"] != normal:
            # never a verdict on half an answer: what could not be read is `error`, and says where
            assert result["outcome"] == "error", result
            assert "\n" not in result["message"], result
            named = f"{result['subject']} {result['message']}"
            assert sshd.target in named or any(container in named for container in containers), result
            cut.append(result)
    assert any(r["message"].startswith(f"cannot reach {sshd.target}: ") for r in cut), cut
    _remove_probes(lab)


def _remove_probes(lab) -> None:
    """A probe written just before the link went down stays (VOL-004 says so): not in the
    next test's volume."""
    for probe in lab.media_source().glob(".wa-compliance-probe-*"):
        probe.unlink()


def _drop_at_first_exec(server: SshServer, engine, project: str, dropped: threading.Event,
                        limit: float = 60) -> None:
    """Once the engine logs the first exec in the deployment's containers, SIGKILL the SSH
    connection's sshd processes (the listener's descendants; the listener stays): the client
    sees the link die with commands and execs in flight."""
    since, deadline = time.time() - 1, time.monotonic() + limit
    while time.monotonic() < deadline:
        events = engine.events(since=since, until=time.time(), decode=True,
                               filters={"type": "container", "event": "exec_create",
                                        "label": f"com.docker.compose.project={project}"})
        if any(True for _ in events):
            for pid in _descendants(server._process.pid):
                if _command(pid).startswith("sshd"):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            dropped.set()
            return
        time.sleep(0.01)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
