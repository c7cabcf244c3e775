"""What the report writers share: the run, UTC timestamps, ordering, and the scrub.

Every value that reaches a report file goes through `Scrubber` first: each secret is replaced
with `***` (defence in depth: the engine already keeps secrets out of results), lone
surrogates (undecodable bytes from command output) become U+FFFD so the files stay valid
UTF-8, and values JSON cannot hold (sets, paths, dates, NaN) become plain JSON values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Outcome, Result, Severity

MASK = "***"
FAILING = (Outcome.FAIL, Outcome.ERROR)
FAILING_NAMES = frozenset(str(o) for o in FAILING)
SEVERITIES_DESC = tuple(sorted(Severity, reverse=True))

_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass
class HostRun:
    """One host's share of one audit run: what the report writers are given."""

    host: str               # profile name
    profile: str            # profile file path
    started: dt.datetime    # aware, UTC
    finished: dt.datetime
    tool_version: str
    results: list[Result]
    upgrade: dict | None = None   # --upgrade-to: {"target", "verdict": GO | NO-GO, "failing": [...]}


# -- time -------------------------------------------------------------------------------
def as_utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601, UTC, to the second, with `Z`: 2026-11-28T17:15:00Z."""
    return as_utc(moment).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def folder_stamp(moment: dt.datetime) -> str:
    """The run folder's name: 20261128T171500Z."""
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def severity_rank(name: str) -> int:
    """Sort key for a severity name; unknown names sort below info."""
    try:
        return int(Severity.parse(name))
    except (ValueError, AttributeError):
        return -1


def is_failing(result: Result) -> bool:
    return result.outcome in FAILING


# -- score ------------------------------------------------------------------------------
def score_value(counts: Mapping[str, int]) -> float | None:
    """passed / (passed + failed + error) in percent, to one decimal; None when nothing was
    judged (skips and waivers neither raise nor lower the score)."""
    judged = counts.get("pass", 0) + counts.get("fail", 0) + counts.get("error", 0)
    if not judged:
        return None
    return round(100 * counts.get("pass", 0) / judged, 1)


def score_text(score: float | None) -> str:
    """`87.5 %`, or `n/a` when nothing was judged."""
    return "n/a" if score is None else f"{score:.1f} %"


def run_status(counts: Mapping[str, int]) -> str:
    """FAIL when anything failed or could not be evaluated, else PASS."""
    return "FAIL" if counts.get("fail", 0) or counts.get("error", 0) else "PASS"


# -- files ------------------------------------------------------------------------------
def atomic_write(path: Path, text: str) -> None:
    """Write text to path through a temp file in the same folder and a rename, so a reader
    (a browser, a CI job collecting artifacts) sees the old file or the new one, never half."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# -- scrub ------------------------------------------------------------------------------
class Scrubber:
    """Replaces every non-empty secret with `***` in any value, and makes it JSON-ready."""

    def __init__(self, secrets: Iterable[str] = ()):
        # longest first, so a secret that contains another is masked whole
        unique = {s for s in secrets if isinstance(s, str) and s}
        self.secrets = sorted(unique, key=len, reverse=True)

    def text(self, value: Any) -> str:
        text = value if isinstance(value, str) else str(value)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _SURROGATES.sub("\ufffd", text)

    def value(self, value: Any) -> Any:
        """Any evidence value, as JSON-ready data with every string scrubbed."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, enum.Enum):
            return self.text(str(value))
        if isinstance(value, (int, float)):
            return self._number(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, (set, frozenset)):
            return sorted((self.value(v) for v in value), key=repr)
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        return self.text(str(value))            # paths, and whatever else: as text

    def _number(self, number: int | float) -> Any:
        if isinstance(number, float) and not math.isfinite(number):
            return str(number)
        if any(secret in str(number) for secret in self.secrets):
            return self.text(str(number))
        return number

    def result(self, result: Result) -> Result:
        return dataclasses.replace(
            result, id=self.text(result.id), title=self.text(result.title),
            section=self.text(result.section), severity=Severity.parse(str(result.severity)),
            subject=self.text(result.subject), outcome=Outcome(str(result.outcome)),
            message=self.text(result.message), remediation=self.text(result.remediation),
            host=self.text(result.host), evidence=self.value(result.evidence),
            waiver=None if result.waiver is None else self.value(result.waiver))

    def run(self, run: HostRun) -> HostRun:
        return HostRun(host=self.text(run.host), profile=self.text(run.profile),
                       started=as_utc(run.started), finished=as_utc(run.finished),
                       tool_version=self.text(run.tool_version),
                       results=[self.result(r) for r in run.results], upgrade=self.value(run.upgrade))
