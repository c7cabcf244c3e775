"""VOL-004's probe when the engine loses a short exec's output (moby#27289, docker-py#2042):
every script ends with a marker, and every one can be run once more: a write finds its own
probe, a read reads again, the removal says which probes are gone, whoever removed them. The
closer, which reads and removes, is never run again once its exit code says it removed."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from wa_compliance.facts.media_probe import plan_media_probe, run_media_probe


class LocalEngine:
    """Runs each 'container's scripts with the local sh, all sharing one folder as the volume;
    drops the output of the attempts listed in `lose[(container, kind)]` (1-based)."""

    def __init__(self, lose=None, before=None):
        self.lose = lose or {}
        self.before = before or {}          # (container, kind) -> called before its every run
        self.attempts = Counter()

    def exec(self, container, argv, whole=None):
        kind = _kind(argv)
        self.attempts[(container, kind)] += 1
        if (container, kind) in self.before:
            self.before[(container, kind)]()
        done = subprocess.run(argv, capture_output=True, text=True)
        lost = self.attempts[(container, kind)] in self.lose.get((container, kind), ())
        output = "" if lost else done.stdout + done.stderr
        return (None if whole is not None and whole(output) else done.returncode), output   # as DockerEngine


def _kind(argv):
    script = argv[2]
    if "exit $left" in script:
        return "close"
    if "echo written" in script:
        return "pivot" if "echo end" in script else "write"
    if "echo end" in script:
        return "remove" if argv[5] != "0" else "read"     # sh -c SCRIPT sh N M paths...
    return "leftover"


def probe(tmp_path, engine):
    # "core" writes first; "web", the pivot, writes and reads core's; core, the closer, reads
    # web's and removes both
    return run_media_probe(engine, plan_media_probe(["core", "web"], str(tmp_path), "h"))


def test_the_round_trip_takes_two_execs_per_container_but_one(tmp_path):
    engine = LocalEngine()
    report = probe(tmp_path, engine)
    assert report.seen == {"core": {"web": "identical"}, "web": {"core": "identical"}}
    assert engine.attempts == {("core", "write"): 1, ("web", "pivot"): 1, ("core", "close"): 1}
    assert list(tmp_path.iterdir()) == [] and not report.leftovers


@pytest.mark.parametrize("lost", [("core", "write"), ("web", "pivot")])
def test_a_lost_output_is_run_again_and_the_round_trip_still_holds(tmp_path, lost):
    engine = LocalEngine({lost: {1}})
    report = probe(tmp_path, engine)
    assert report.write_errors == {"core": None, "web": None}
    assert report.seen == {"core": {"web": "identical"}, "web": {"core": "identical"}}
    assert not report.unreachable and not report.leftovers
    assert list(tmp_path.iterdir()) == []
    assert engine.attempts[lost] == 2 and ("web", "leftover") not in engine.attempts
    assert report.exec_count == sum(engine.attempts.values()) == 4     # 3, and 1 again


def test_the_closers_lost_output_is_told_by_its_exit_code_and_never_run_again(tmp_path):
    """It removed the probes: run again, it would find them missing. Its exit code says it read
    them as written; that they are gone, each writer makes sure."""
    engine = LocalEngine({("core", "close"): {1}})
    report = probe(tmp_path, engine)
    assert report.seen == {"core": {"web": "identical"}, "web": {"core": "identical"}}
    assert engine.attempts[("core", "close")] == 1
    assert engine.attempts[("core", "leftover")] == engine.attempts[("web", "leftover")] == 1
    assert list(tmp_path.iterdir()) == [] and not report.leftovers and not report.unreachable


def test_a_probe_the_closer_reads_otherwise_is_kept_for_the_removal_of_its_own(tmp_path):
    def tamper():
        for path in tmp_path.iterdir():
            if path.read_text().startswith("web:"):
                path.write_text("web:changed")
    engine = LocalEngine(before={("core", "close"): tamper})
    report = probe(tmp_path, engine)
    assert report.seen == {"core": {"web": "different"}, "web": {"core": "identical"}}
    assert engine.attempts[("web", "remove")] == 1 and ("core", "leftover") not in engine.attempts
    assert list(tmp_path.iterdir()) == [] and not report.leftovers


def test_a_closer_that_read_otherwise_and_lost_its_output_every_time_is_an_error(tmp_path):
    def tamper():
        for path in tmp_path.iterdir():
            if path.read_text().startswith("web:"):
                path.write_text("web:changed")
    engine = LocalEngine({("core", "close"): {1, 2, 3}}, before={("core", "close"): tamper})
    report = probe(tmp_path, engine)
    assert engine.attempts[("core", "close")] == 3                     # nothing removed: run again
    assert report.seen["core"] == {"web": "not checked (docker exec in core ended without its output "
                                          "(the engine lost it))"}
    assert list(tmp_path.iterdir()) == [] and not report.leftovers


def test_an_output_lost_every_time_is_an_error_not_a_verdict(tmp_path):
    engine = LocalEngine({("core", "write"): {1, 2, 3}})
    report = probe(tmp_path, engine)
    assert report.unreachable == {"core": "docker exec in core ended without its output (the engine lost it)"}
    assert list(tmp_path.iterdir()) == [] and not report.leftovers


def test_three_containers_each_read_both_others_in_five_execs(tmp_path):
    engine = LocalEngine()
    report = run_media_probe(engine, plan_media_probe(["a", "b", "c"], str(tmp_path), "h"))
    assert report.seen == {"c": {"a": "identical", "b": "identical"}, "a": {"b": "identical", "c": "identical"},
                           "b": {"a": "identical", "c": "identical"}}
    assert sum(engine.attempts.values()) == report.exec_count == 5
    assert list(tmp_path.iterdir()) == [] and not report.leftovers
