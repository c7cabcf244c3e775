"""--metrics-file: the run as Prometheus text, for node_exporter's textfile collector.

Per host and check of the run:

    wa_compliance_check_passed{host,check,section,severity}   1 when none of the check's results
                                                             is fail/error, else 0
    wa_compliance_results{host,check,outcome}                 results per outcome (every outcome,
                                                             zeros included: series stay stable)
and per host:
    wa_compliance_last_run_timestamp_seconds{host}            when the run finished (Unix time)
    wa_compliance_run_duration_seconds{host}                  how long the run took

An `info` check never fails (docs/checks.md): its results do not make `check_passed` 0. A failure
already in the --baseline still does: the metrics describe the deployment, not the gate.
`severity` is the check's highest result severity (GC-003 grades its own). Written with
prometheus_client's `write_to_textfile`: a temporary file in the same directory, then a rename,
so the collector never reads half a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import OUTCOME_ORDER, Outcome, Result, Severity
from ..reports.common import HostRun, Scrubber, as_utc

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

PREFIX = "wa_compliance"
FAILING = (Outcome.FAIL, Outcome.ERROR)


def _fails(result: Result) -> bool:
    return result.outcome in FAILING and result.severity != Severity.INFO


def registry_for(runs: Iterable[HostRun], secrets: Iterable[str] = ()) -> "CollectorRegistry":
    """A registry holding the run's gauges (label values scrubbed of secrets and lone surrogates)."""
    from prometheus_client import CollectorRegistry, Gauge   # imported only for --metrics-file
    text = Scrubber(secrets).text
    registry = CollectorRegistry(auto_describe=True)
    passed = Gauge(f"{PREFIX}_check_passed", "1 when no result of the check is fail or error "
                   "(info checks never fail), else 0", ["host", "check", "section", "severity"],
                   registry=registry)
    counts = Gauge(f"{PREFIX}_results", "Results of the check per outcome "
                   "(one per subject: container, file, database...)", ["host", "check", "outcome"],
                   registry=registry)
    last_run = Gauge(f"{PREFIX}_last_run_timestamp_seconds", "When the host's last audit finished "
                     "(Unix time)", ["host"], registry=registry)
    duration = Gauge(f"{PREFIX}_run_duration_seconds", "How long the host's last audit run took",
                     ["host"], registry=registry)
    for run in runs:
        host = text(run.host)
        by_check: dict[str, list[Result]] = {}
        for result in run.results:
            by_check.setdefault(text(result.id), []).append(result)
        for check_id, results in sorted(by_check.items()):
            severity = max(Severity.parse(str(r.severity)) for r in results)
            passed.labels(host, check_id, text(results[0].section), str(severity)).set(
                0 if any(_fails(r) for r in results) else 1)
            for outcome in OUTCOME_ORDER:
                counts.labels(host, check_id, str(outcome)).set(
                    sum(1 for r in results if Outcome(str(r.outcome)) == outcome))
        finished, started = as_utc(run.finished), as_utc(run.started)
        last_run.labels(host).set(finished.timestamp())
        duration.labels(host).set(max(0.0, (finished - started).total_seconds()))
    return registry


def render_metrics(runs: Iterable[HostRun], secrets: Iterable[str] = ()) -> str:
    """The file's text (what `write_metrics` writes)."""
    from prometheus_client import generate_latest
    return generate_latest(registry_for(runs, secrets)).decode("utf-8")


def write_metrics(path: str | os.PathLike, runs: Iterable[HostRun], secrets: Iterable[str] = ()) -> Path:
    """Replace `path` atomically with the run's metrics; OSError when it cannot."""
    from prometheus_client import write_to_textfile
    write_to_textfile(os.fspath(path), registry_for(runs, secrets))
    return Path(path)
