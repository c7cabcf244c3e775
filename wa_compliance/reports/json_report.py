"""results.json (README: reports): the machine-readable record of one host's run."""

from __future__ import annotations

import json
from typing import Any

from ..model import Result, summarize
from .common import HostRun, iso_utc

SCHEMA = 1
FILENAME = "results.json"
ENTRY_KEYS = ("id", "title", "section", "severity", "subject", "outcome",
              "message", "evidence", "remediation", "waiver")


def entry(result: Result) -> dict[str, Any]:
    """One result as results.json holds it: exactly ENTRY_KEYS (the host is at top level)."""
    data = result.to_dict()
    return {key: data[key] for key in ENTRY_KEYS}


def document(run: HostRun) -> dict[str, Any]:
    return {"schema": SCHEMA, "host": run.host, "profile": run.profile, "started": iso_utc(run.started),
            "finished": iso_utc(run.finished), "tool_version": run.tool_version,
            "summary": summarize(run.results), "results": [entry(r) for r in run.results]}


def render(run: HostRun) -> str:
    """The file's text. The run must already be scrubbed (values JSON-ready)."""
    return json.dumps(document(run), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
