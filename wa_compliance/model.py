"""The results model: checks, severities, outcomes, one result per (check, subject)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, is_dataclass
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
        data = {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}
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


def _plain(value: Any) -> Any:
    """As `dataclasses.asdict` copies a value (dataclasses become dicts, containers are new),
    without its `copy.deepcopy` of every leaf: strings, numbers and enums are immutable. A
    result is copied this way after every check."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):          # a named tuple
        return type(value)(*(_plain(item) for item in value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_plain(item) for item in value)
    return value
