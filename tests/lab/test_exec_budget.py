"""README and the batching rule: a full audit costs at most one `docker exec` per container
for everything every section reads, plus VOL-004's write and read round (2 per container).
Counted from the engine's own `exec_create` events, on single and multiconnect labs.

One exception, seen about once in a CI run: the engine can drop a short exec's output
(moby#27289, docker-py#2042), and the audit then runs that read-only script once more; the test
allows one such re-run per audit, no more."""

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
    started_ns = time.time_ns()
    since = int(time.time())
    run = audit(f"--host={host}")
    until = int(time.time()) + 1
    assert run.results(host), run.console
    client = docker.from_env()
    events = client.events(since=since, until=until, decode=True,
                           filters={"type": "container", "event": "exec_create"})
    # `since` has whole seconds: an earlier test's execs in the same second are not this audit's
    execs = [e["Actor"]["Attributes"]["name"] for e in events
             if e["Actor"]["Attributes"]["name"] in containers and e["timeNano"] >= started_ns]
    per_container = {name: execs.count(name) for name in sorted(containers)}
    # every container was read inside (LOG/CRON) and probed (VOL-004): exactly 3 each ...
    assert all(count >= 1 + PROBE_EXECS for count in per_container.values()), per_container
    # ... give or take one re-run of a script whose output the engine lost
    assert sum(per_container.values()) - len(containers) * (1 + PROBE_EXECS) <= 1, per_container
