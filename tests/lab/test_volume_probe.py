"""VOL-004's live probe against the lab: its cost, and that it never leaves anything behind."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import docker
import pytest

from tests.audit_runner import REPO

pytestmark = pytest.mark.lab
PROBE_PREFIX = ".wa-compliance-probe-"


def media_listing(lab) -> set[str]:
    return set(os.listdir(lab.media_source()))


@pytest.mark.parametrize("lab_name, host", [("lab_biz", "lab"), ("lab_mc", "lab-mc")])
def test_vol_004_makes_at_most_two_execs_per_container(request, audit, lab_name, host):
    lab = request.getfixturevalue(lab_name)
    containers = [name for names in lab.container_names().values() for name in names]
    client = docker.from_env()
    started_ns = time.time_ns()
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    run = audit(f"--host={host}", "-m", "volumes")
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert run.exit_code == 0, run.console
    events = client.events(since=since, until=until, decode=True,
                           filters={"type": "container", "event": "exec_create"})
    # `since` has whole seconds: an earlier test's execs in the same second are not this audit's
    execs = [e["Actor"]["Attributes"]["name"] for e in events
             if e["Actor"]["Attributes"]["name"] in containers and e["timeNano"] >= started_ns]
    assert 0 < len(execs) <= 2 * len(containers), execs
    assert all(execs.count(name) <= 2 for name in containers)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_probe_leaves_nothing_in_the_volume(lab_mc, tmp_path, signum):
    before = media_listing(lab_mc)
    assert not any(name.startswith(PROBE_PREFIX) for name in before)
    command = [sys.executable, "-m", "pytest", "checks", "--host=lab-mc", "-m", "volumes", "-k", "vol_004",
               f"--reports-dir={tmp_path}", "-p", "no:cacheprovider"]
    interrupted_mid_probe = False
    for _attempt in range(10):
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if any(name.startswith(PROBE_PREFIX) for name in media_listing(lab_mc)):
                process.send_signal(signum)
                interrupted_mid_probe = True
                break
            time.sleep(0.001)
        output, _ = process.communicate(timeout=60)
        assert media_listing(lab_mc) == before, output
        if interrupted_mid_probe:
            assert process.returncode == 2, output          # pytest's "interrupted"
            assert "Traceback" not in output
            break
    assert interrupted_mid_probe, "the probe never showed up in the volume"
