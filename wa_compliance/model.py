"""The results model: checks, severities, outcomes, one result per (check, subject)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that `severity >= fail_on` reads as the rule."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (use one of: {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


class Outcome(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    WAIVED = "waived"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckSpec:
    """What the catalogue says of one check."""

    id: str
    title: str
    section: str
    severity: Severity
    remediation: str
    upgrade: bool = False
    reads: tuple[str, ...] = ()     # the facts it decides on: what the audit gathers in the background


@dataclass
class Result:
    """One outcome of one check for one subject on one host."""

    id: str
    title: str
    section: str
    severity: Severity
    subject: str
    outcome: Outcome
    message: str
    remediation: str
    host: str
    evidence: dict[str, Any] = field(default_factory=dict)
    waiver: dict[str, Any] | None = None

    def counts_against(self, fail_on: Severity) -> bool:
        """A fail or error at or above the threshold fails the run; info never does."""
        return (self.outcome in (Outcome.FAIL, Outcome.ERROR) and self.severity != Severity.INFO
                and self.severity >= fail_on)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["outcome"] = str(self.outcome)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        data = dict(data)
        data["severity"] = Severity.parse(data["severity"])
        data["outcome"] = Outcome(data["outcome"])
        return cls(**data)


OUTCOME_ORDER = (Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP, Outcome.WAIVED)


def summarize(results: list[Result]) -> dict[str, int]:
    """Counts per outcome, every outcome present: {"pass": 9, "fail": 1, ...}."""
    counts = {str(o): 0 for o in OUTCOME_ORDER}
    for result in results:
        counts[str(result.outcome)] += 1
    return counts
