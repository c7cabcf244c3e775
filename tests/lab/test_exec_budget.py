"""SPEC §1/§4 and the batching rule: a full audit costs at most one `docker exec` per container
for everything every section reads, plus VOL-004's write and read round (2 per container).
Counted from the engine's own `exec_create` events, on single and multiconnect labs."""

from __future__ import annotations

import time

import docker
import pytest

pytestmark = pytest.mark.lab
PROBE_EXECS = 2          # VOL-004: one write, one read per container


@pytest.mark.parametrize("lab_name, host", [("lab_biz", "lab"), ("lab_mc", "lab-mc")])
def test_a_full_audit_execs_once_per_container_besides_the_probe(request, audit, lab_name, host):
    lab = request.getfixturevalue(lab_name)
    containers = {name for names in lab.container_names().values() for name in names}
    since = int(time.time())
    run = audit(f"--host={host}")
    until = int(time.time()) + 1
    assert run.results(host), run.console
    client = docker.from_env()
    events = client.events(since=since, until=until, decode=True,
                           filters={"type": "container", "event": "exec_create"})
    execs = [e["Actor"]["Attributes"]["name"] for e in events if e["Actor"]["Attributes"]["name"] in containers]
    per_container = {name: execs.count(name) for name in sorted(containers)}
    assert all(count <= 1 + PROBE_EXECS for count in per_container.values()), per_container
    # every container was read inside (LOG/CRON) and probed (VOL-004): exactly 3 each
    assert set(per_container.values()) == {1 + PROBE_EXECS}, per_container
