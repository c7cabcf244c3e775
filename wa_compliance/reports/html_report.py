"""report.html (README: reports): one self-contained page a person reads, on screen, phone or paper.

Everything is computed here; the template (templates/report.html.j2) only lays it out, with
autoescaping on, so no value (container name, message, evidence) can inject markup.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from ..catalogue import section_rank
from ..model import Outcome, Result, summarize
from .common import (SEVERITIES_DESC, HostRun, as_utc, is_failing, iso_utc, run_status, score_text,
                     score_value)
from .history import Changes
from .jinja import environment
from .traffic_picture import traffic_picture

FILENAME = "report.html"
TEMPLATE = "report.html.j2"


# -- header and summary -----------------------------------------------------------------
def duration(started: dt.datetime, finished: dt.datetime) -> str:
    seconds = max(0, round((finished - started).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def status(counts: dict[str, int]) -> str:
    return run_status(counts)


def score(counts: dict[str, int]) -> str:
    """passed / (passed + failed + error), as a percentage; n/a when nothing was judged."""
    return score_text(score_value(counts))


def sections(results: list[Result]) -> list[str]:
    return sorted({r.section for r in results}, key=section_rank)


def matrix(results: list[Result]) -> list[dict[str, Any]]:
    """Per section and severity: how many results, and how many of them fail or error."""
    total: dict[tuple[str, str], int] = defaultdict(int)
    failing: dict[tuple[str, str], int] = defaultdict(int)
    for r in results:
        total[r.section, str(r.severity)] += 1
        failing[r.section, str(r.severity)] += is_failing(r)
    rows = []
    for section in sections(results):
        cells = [{"severity": str(s), "total": total[section, str(s)],
                  "failing": failing[section, str(s)]} for s in SEVERITIES_DESC]
        rows.append({"section": section, "cells": cells,
                     "total": sum(c["total"] for c in cells),
                     "failing": sum(c["failing"] for c in cells)})
    return rows


def severity_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matrix's bottom line: per severity over all sections, then over everything."""
    cells = [{"severity": str(s),
              "total": sum(r["cells"][i]["total"] for r in rows),
              "failing": sum(r["cells"][i]["failing"] for r in rows)}
             for i, s in enumerate(SEVERITIES_DESC)]
    cells.append({"severity": "all", "total": sum(c["total"] for c in cells),
                  "failing": sum(c["failing"] for c in cells)})
    return cells


# -- result rows ------------------------------------------------------------------------
def pretty_evidence(evidence: Any) -> str | None:
    if not evidence:
        return None
    return json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def row(result: Result, anchor: str | None = None) -> dict[str, Any]:
    return {"id": result.id, "title": result.title, "section": result.section,
            "severity": str(result.severity), "subject": result.subject,
            "outcome": str(result.outcome), "message": result.message,
            "remediation": result.remediation, "evidence": pretty_evidence(result.evidence),
            "waiver": result.waiver, "anchor": anchor}


def by_id(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.id, r.subject))


def most_severe_first(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (-r.severity, r.id, r.subject))


def failure_anchors(results: list[Result]) -> dict[int, str]:
    """`failure-1`, `failure-2`... by position in the Failures list, keyed by id(result):
    the results table links a failing row to its full entry there."""
    failing = most_severe_first([r for r in results if is_failing(r)])
    return {id(r): f"failure-{n}" for n, r in enumerate(failing, 1)}


def failures(results: list[Result]) -> list[dict[str, Any]]:
    """Fail and error, most severe first."""
    anchors = failure_anchors(results)
    failing = most_severe_first([r for r in results if is_failing(r)])
    return [row(r, anchors[id(r)]) for r in failing]


def grouped(results: list[Result]) -> list[dict[str, Any]]:
    anchors = failure_anchors(results)
    return [{"name": section,
             "rows": [row(r, anchors.get(id(r))) for r in by_id(results) if r.section == section]}
            for section in sections(results)]


def waiver_state(waiver: dict[str, Any], outcome: Outcome, started: dt.datetime) -> str:
    """`active, 12 days left` / `active, last day` / `expired on 2026-10-31`, as of the run."""
    state = waiver.get("state") or ("active" if outcome == Outcome.WAIVED else "expired")
    expires = waiver.get("expires")
    try:
        last_day = dt.date.fromisoformat(str(expires))
    except ValueError:
        return str(state)
    if state == "expired":
        return f"expired on {last_day.isoformat()}"
    days = (last_day - as_utc(started).date()).days
    if days < 0:
        return str(state)
    return f"{state}, last day" if days == 0 else f"{state}, {days} day{'s' if days > 1 else ''} left"


def waivers(results: list[Result], started: dt.datetime) -> list[dict[str, Any]]:
    """Every result a waiver matched, active or expired."""
    lines = []
    for r in by_id([r for r in results if r.waiver is not None]):
        waiver = r.waiver or {}
        state = waiver.get("state", "active" if r.outcome == Outcome.WAIVED else "")
        lines.append({"id": r.id, "subject": r.subject, "outcome": str(r.outcome),
                      "reason": waiver.get("reason", ""), "expires": waiver.get("expires", ""),
                      "state": state, "state_text": waiver_state(waiver, r.outcome, started)})
    return lines


def skipped(results: list[Result]) -> list[dict[str, Any]]:
    return [row(r) for r in by_id([r for r in results if r.outcome == Outcome.SKIP])]


# -- page -------------------------------------------------------------------------------
def context(run: HostRun, changes: Changes) -> dict[str, Any]:
    counts = summarize(run.results)
    rows = matrix(run.results)
    return {"host": run.host, "profile": run.profile, "tool_version": run.tool_version,
            "started": iso_utc(run.started), "finished": iso_utc(run.finished),
            "duration": duration(run.started, run.finished),
            "status": status(counts), "counts": counts, "score": score(counts),
            "severities": [str(s) for s in SEVERITIES_DESC], "matrix": rows,
            "severity_totals": severity_totals(rows), "failures": failures(run.results),
            "sections": grouped(run.results), "waivers": waivers(run.results, run.started),
            "skipped": skipped(run.results), "changes": changes, "traffic": traffic_picture(run.results),
            "upgrade": run.upgrade}


def render(run: HostRun, changes: Changes) -> str:
    """The page's text. The run and changes must already be scrubbed."""
    return environment().get_template(TEMPLATE).render(context(run, changes))
