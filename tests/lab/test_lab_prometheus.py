"""lab/prometheus.py for real: Debian's Prometheus on 127.0.0.1 over backfilled weeks of request
history, asked through its HTTP API as the engine asks it. Every server here lives in a pytest
temporary folder (no lab deployment's), and is stopped at the end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lab.prometheus import BURST, BUSY_BY_DAY, METRIC, QUIET, LabPrometheus
from lab.purge import _prometheus_servers

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
TOTAL_RATE = f"sum(rate({METRIC}[5m]))"
P99_14D = f"quantile_over_time(0.99, {TOTAL_RATE}[14d:5m])"
NIGHT_P99_14D = f"quantile_over_time(0.99, ({TOTAL_RATE} and on() hour() < 6)[14d:5m])"
GC_PER_DAY = f'increase({METRIC}{{method="PUT_v1_services_message_gc"}}[1d])'


def query(server: LabPrometheus, expression: str) -> list[dict]:
    """An instant query over plain HTTP, as the engine sends it."""
    url = f"{server.url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=60) as answer:
        document = json.loads(answer.read())
    assert document["status"] == "success", document
    return document["data"]["result"]


def scalar(server: LabPrometheus, expression: str) -> float:
    (point,) = query(server, expression)
    return float(point["value"][1])


def loaded(folder: Path, history) -> tuple[LabPrometheus, dict]:
    server = LabPrometheus(folder)
    timings = {}
    started = time.monotonic()
    server.backfill(history)
    timings["backfill"] = time.monotonic() - started
    started = time.monotonic()
    server.start()
    timings["start"] = time.monotonic() - started
    print(f"\n{folder.name}: backfill {timings['backfill']:.1f}s, start {timings['start']:.1f}s")
    return server, timings


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    server, timings = loaded(tmp_path_factory.mktemp("prometheus") / "busy", BUSY_BY_DAY)
    yield server
    server.remove()


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    server, _ = loaded(tmp_path_factory.mktemp("prometheus") / "burst", BURST)
    yield server
    server.remove()


def test_the_series_is_stored_under_the_clients_name_and_labels(busy):
    found = query(busy, METRIC)
    assert sorted(point["metric"]["method"] for point in found) == [
        "GET_v1_contacts", "GET_v1_health", "POST_v1_messages", "PUT_v1_services_message_gc"]
    for point in found:
        assert set(point["metric"]) == {"__name__", "method", "node", "result"}
        assert point["metric"]["__name__"] == METRIC
        assert point["metric"]["node"] == "6b2f13cb5d1e"
    (names,) = query(busy, 'count by (__name__) ({__name__=~".+"})')   # nothing else stored
    assert (names["metric"], names["value"][1]) == ({"__name__": METRIC}, "4")


def test_the_99th_percentile_over_14_days_is_the_busy_days_peak(busy):
    assert scalar(busy, P99_14D) == pytest.approx(200, abs=2)


def test_the_99th_percentile_of_the_night_hours_is_the_night_rate(busy):
    assert scalar(busy, NIGHT_P99_14D) == pytest.approx(20, abs=0.5)


def test_one_gc_call_in_the_last_day(busy):
    (point,) = query(busy, GC_PER_DAY)
    assert point["metric"]["result"] == "200"
    assert float(point["value"][1]) == pytest.approx(1, abs=0.01)


def test_a_range_query_over_14_days_reaches_back_to_the_windows_start(busy):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=14)
    parameters = {"query": TOTAL_RATE, "start": start.timestamp(), "end": now.timestamp(),
                  "step": "5m"}
    url = f"{busy.url}/api/v1/query_range?" + urllib.parse.urlencode(parameters)
    with urllib.request.urlopen(url, timeout=60) as answer:
        (series,) = json.loads(answer.read())["data"]["result"]
    times = [float(t) for t, _ in series["values"]]
    assert times[0] == start.timestamp()                    # data from the very first step
    assert len(times) == 14 * 288 + 1                       # and none missing
    assert times[-1] == now.timestamp()                     # up to now (the lookback covers it)


def test_the_99th_percentile_ignores_a_burst_max_over_time_sees_it(burst):
    assert scalar(burst, P99_14D) == pytest.approx(50, abs=1)
    assert scalar(burst, f"max_over_time({TOTAL_RATE}[14d:5m])") == pytest.approx(1000, abs=10)


def test_the_server_runs_detached_on_loopback_and_stops(tmp_path):
    server, timings = loaded(tmp_path / "detached", replace(QUIET, days=1))
    pid, port = server.pid(), server.port
    assert timings["start"] < 30
    assert os.getsid(pid) != os.getsid(0)                  # its own session: survives us
    assert pid in _prometheus_servers()                    # python -m lab purge finds it
    listening = Path("/proc/net/tcp").read_text()
    assert f"0100007F:{port:04X}" in listening            # 127.0.0.1 only
    assert f"00000000:{port:04X}" not in listening
    server.stop()
    assert server.pid() is None and not server.running()
    assert pid not in _prometheus_servers()
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().split(") ")[1][0] == "Z"
    with socket.socket() as probe:                          # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # (our closed queries)
        probe.bind(("127.0.0.1", port))
    server.start()                                          # data kept: answers again
    assert len(query(server, METRIC)) == 3
    server.remove()
    assert not (tmp_path / "detached").exists()


def lab_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", "prometheus", *arguments],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_command_line_on_a_deployments_folder(tmp_path):
    # a deployment as Lab.open finds it: its settings only (nothing else of it is touched)
    project = f"promcli{os.getpid()}"
    state = tmp_path / project / ".lab"
    state.mkdir(parents=True)
    (state / "settings.json").write_text(json.dumps({
        "topology": "single", "engine": "mysql", "version": "2.53.1", "media": "volume",
        "cron_dir": str(tmp_path / "cron.d"), "api_port": 19999}))
    where = ("--project", project, "--root", str(tmp_path))
    missing = lab_cli("up", "--project", "nosuchproject", "--root", str(tmp_path))
    assert missing.returncode == 1 and "no lab deployment 'nosuchproject'" in missing.stderr
    assert lab_cli("status", *where).returncode == 3
    try:
        for _ in range(2):                                  # idempotent: made again
            up = lab_cli("up", *where, "--history", "gc_stopped")
            assert up.returncode == 0, up.stderr
        server = LabPrometheus(state / "prometheus")
        assert up.stdout.strip().endswith(server.url)
        status = lab_cli("status", *where)
        assert status.returncode == 0 and "history: gc_stopped" in status.stdout
        (point,) = query(server, f'increase({METRIC}{{method="PUT_v1_services_message_gc"}}[3d])')
        assert point["metric"]["node"] == f"{project}_waweb_1"   # the deployment API's node
        assert float(point["value"][1]) == 0
        assert scalar(server, f"sum({GC_PER_DAY.replace('[1d]', '[5d]')})") == pytest.approx(
            2, abs=0.05)
        down = lab_cli("down", *where)
        assert down.returncode == 0, down.stderr
        assert server.pid() is None and not (state / "prometheus").exists()
    finally:
        LabPrometheus(state / "prometheus").remove()
