"""VOL-004's probe when the engine loses a short exec's output (moby#27289, docker-py#2042):
every script ends with a marker; an idempotent one is run once more, the remover is not."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from wa_compliance.facts.media_probe import plan_media_probe, run_media_probe


class LocalEngine:
    """Runs each 'container's scripts with the local sh, all sharing one folder as the volume;
    drops the output of the attempts listed in `lose[(container, kind)]` (1-based)."""

    def __init__(self, lose=None):
        self.lose = lose or {}
        self.attempts = Counter()

    def exec(self, container, argv):
        kind = "write" if "echo written" in argv[2] else "read" if "echo end" in argv[2] else "remove"
        self.attempts[(container, kind)] += 1
        done = subprocess.run(argv, capture_output=True, text=True)
        lost = self.attempts[(container, kind)] in self.lose.get((container, kind), ())
        return done.returncode, "" if lost else done.stdout + done.stderr


def probe(tmp_path, engine):
    # "core" sorts first among readers that could write: "web" reads last and removes
    return run_media_probe(engine, plan_media_probe(["core", "web"], str(tmp_path), "h"))


@pytest.mark.parametrize("lost", [("web", "write"), ("core", "write"), ("core", "read")])
def test_a_lost_output_is_read_again_and_the_round_trip_still_holds(tmp_path, lost):
    engine = LocalEngine({lost: {1}})
    report = probe(tmp_path, engine)
    assert report.write_errors == {"core": None, "web": None}
    assert report.seen == {"core": {"web": "identical"}, "web": {"core": "identical"}}
    assert not report.unreachable and not report.leftovers
    assert list(tmp_path.iterdir()) == []
    assert report.exec_count == sum(engine.attempts.values()) == 5     # 2 writes, 2 reads, 1 again


def test_the_remover_is_not_run_again_its_view_is_an_error(tmp_path):
    engine = LocalEngine({("web", "read"): {1}})
    report = probe(tmp_path, engine)
    assert report.unreachable == {"web": "docker exec in web ended without its output (the engine lost it)"}
    assert engine.attempts[("web", "read")] == 1
    # its removals may have been lost with the output: each probe's writer removes its own again
    assert engine.attempts[("web", "remove")] == engine.attempts[("core", "remove")] == 1
    assert list(tmp_path.iterdir()) == [] and not report.leftovers


def test_an_output_lost_twice_is_an_error_not_a_verdict(tmp_path):
    engine = LocalEngine({("core", "write"): {1, 2}})
    report = probe(tmp_path, engine)
    assert report.unreachable == {"core": "docker exec in core ended without its output (the engine lost it)"}
    assert list(tmp_path.iterdir()) == [] and not report.leftovers
