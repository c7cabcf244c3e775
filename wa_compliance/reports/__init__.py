"""Report writers (README: reports): results.json, junit.xml and report.html per host and run.

    write_reports(run, "reports", secrets=[password, token])
    -> reports/prod1/20261128T171500Z/{results.json,junit.xml,report.html}
       reports/prod1/latest -> 20261128T171500Z
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from . import history, html_report, json_report, junit_report
from .common import HostRun, Scrubber, atomic_write

__all__ = ["HostRun", "write_reports"]


def write_reports(run: HostRun, reports_dir: str | Path, secrets: Iterable[str] = ()) -> Path:
    """Write one host's three report files into a new run folder, point `latest` at it, and
    return the folder. Every string written passes the scrub: each non-empty secret becomes `***`."""
    scrubber = Scrubber(secrets)
    clean = scrubber.run(run)
    folder = history.host_dir(reports_dir, run.host)
    folder.mkdir(parents=True, exist_ok=True)

    previous, problem = history.load_previous(folder)
    if previous is not None:
        previous = scrubber.value(previous)
    changes = history.compare(previous, (json_report.entry(r) for r in clean.results), problem)
    if changes.note:
        changes.note = scrubber.text(changes.note)

    run_dir = history.make_run_dir(folder, clean.started)
    # each file whole or not at all: a full disk leaves no half report for CI to pick up
    atomic_write(run_dir / json_report.FILENAME, json_report.render(clean))
    atomic_write(run_dir / junit_report.FILENAME, junit_report.render(clean))
    atomic_write(run_dir / html_report.FILENAME, html_report.render(clean, changes))
    history.point_latest(folder, run_dir)
    return run_dir
