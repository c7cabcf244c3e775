"""report.html (SPEC §6): one self-contained page a person reads, on screen, phone or paper.

Everything is computed here; the template (templates/report.html.j2) only lays it out, with
autoescaping on, so no value (container name, message, evidence) can inject markup.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..model import Outcome, Result, summarize
from .common import SEVERITIES_DESC, HostRun, is_failing, iso_utc, section_rank
from .history import Changes

FILENAME = "report.html"
TEMPLATE = "report.html.j2"
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


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
    return "FAIL" if counts["fail"] or counts["error"] else "PASS"


def score(counts: dict[str, int]) -> str:
    """passed / (passed + failed + error), as a percentage; n/a when nothing was judged."""
    judged = counts["pass"] + counts["fail"] + counts["error"]
    if not judged:
        return "n/a"
    return f"{100 * counts['pass'] / judged:.1f} %"


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


# -- result rows ------------------------------------------------------------------------
def pretty_evidence(evidence: Any) -> str | None:
    if not evidence:
        return None
    return json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def row(result: Result) -> dict[str, Any]:
    return {
        "id": result.id, "title": result.title, "section": result.section,
        "severity": str(result.severity), "subject": result.subject,
        "outcome": str(result.outcome), "message": result.message,
        "remediation": result.remediation, "evidence": pretty_evidence(result.evidence),
        "waiver": result.waiver,
    }


def by_id(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (r.id, r.subject))


def failures(results: list[Result]) -> list[dict[str, Any]]:
    """Fail and error, most severe first."""
    failing = [r for r in results if is_failing(r)]
    return [row(r) for r in sorted(failing, key=lambda r: (-r.severity, r.id, r.subject))]


def grouped(results: list[Result]) -> list[dict[str, Any]]:
    return [{"name": section, "rows": [row(r) for r in by_id(results) if r.section == section]}
            for section in sections(results)]


def waivers(results: list[Result]) -> list[dict[str, Any]]:
    """Every result a waiver matched, active or expired."""
    lines = []
    for r in by_id([r for r in results if r.waiver is not None]):
        waiver = r.waiver or {}
        lines.append({"id": r.id, "subject": r.subject, "outcome": str(r.outcome),
                      "reason": waiver.get("reason", ""), "expires": waiver.get("expires", ""),
                      "state": waiver.get("state", "active" if r.outcome == Outcome.WAIVED else "")})
    return lines


def skipped(results: list[Result]) -> list[dict[str, Any]]:
    return [row(r) for r in by_id([r for r in results if r.outcome == Outcome.SKIP])]


# -- page -------------------------------------------------------------------------------
def context(run: HostRun, changes: Changes) -> dict[str, Any]:
    counts = summarize(run.results)
    return {
        "host": run.host, "profile": run.profile, "tool_version": run.tool_version,
        "started": iso_utc(run.started), "finished": iso_utc(run.finished),
        "duration": duration(run.started, run.finished),
        "status": status(counts), "counts": counts, "score": score(counts),
        "severities": [str(s) for s in SEVERITIES_DESC], "matrix": matrix(run.results),
        "failures": failures(run.results), "sections": grouped(run.results),
        "waivers": waivers(run.results), "skipped": skipped(run.results),
        "changes": changes,
    }


def render(run: HostRun, changes: Changes) -> str:
    """The page's text. The run and changes must already be scrubbed."""
    return environment().get_template(TEMPLATE).render(context(run, changes))
