"""How a check is declared and how it states its verdict.

A check is a pytest test function decorated with `@check(...)`; the catalogue entry travels as a
marker, and the body records one verdict per subject:

>>> @check("ENV-004", "WA_DB_PORT is an integer 1-65535", "high",
...        remediation="Set WA_DB_PORT in db.env to the database server's TCP port.")
... def test_port_is_valid(deployment, verdict):
...     verdict.judge(deployment.db_env.path, problems=[])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pytest

from .catalogue import section_of
from .model import CheckSpec, Outcome, Result, Severity


def check(check_id: str, title: str, severity: str, *, remediation: str, upgrade: bool = False,
          reads: tuple[str, ...] = ()):
    """Declare a catalogue check: ID, one-line rule, severity, the fix to paste, and the facts it
    reads (gathered in the background from the run's start; any other is gathered when read)."""
    section = section_of(check_id).marker
    spec = CheckSpec(check_id, title, section, Severity.parse(severity), remediation, upgrade, tuple(reads))

    def declare(function):
        function = pytest.mark.wa_check(spec)(function)
        function = getattr(pytest.mark, section)(function)
        return pytest.mark.upgrade(function) if upgrade else function

    return declare


class Verdict:
    """Collects the results of one check on one host, applying the profile's waivers."""

    def __init__(self, spec: CheckSpec, host: str, waivers: Iterable[Any] = (),
                 secrets: Iterable[str] = (), today: dt.date | None = None):
        self.spec, self.host = spec, host
        self.waivers = [w for w in waivers if w.check == spec.id]
        self.secrets = [s for s in secrets if s]
        self.today = today or dt.datetime.now(dt.timezone.utc).date()
        self.results: list[Result] = []

    # -- what a check body calls -------------------------------------------------
    def passed(self, subject: str, message: str = "", **evidence: Any) -> None:
        self._record(subject, Outcome.PASS, message or self.spec.title, evidence)

    def failed(self, subject: str, message: str, remediation: str | None = None,
               severity: str | None = None, **evidence: Any) -> None:
        """`severity` overrides the check's own where the rule grades it (GC-003)."""
        self._record(subject, Outcome.FAIL, message, evidence, remediation, severity)

    def error(self, subject: str, message: str, **evidence: Any) -> None:
        self._record(subject, Outcome.ERROR, message, evidence)

    def skipped(self, subject: str, reason: str, **evidence: Any) -> None:
        self._record(subject, Outcome.SKIP, reason, evidence)

    def judge(self, subject: str, problems: list[str], passed: str = "",
              remediation: str | None = None, **evidence: Any) -> None:
        """Fail with every problem named, or pass when there is none."""
        if problems:
            self.failed(subject, "; ".join(problems), remediation, **evidence)
        else:
            self.passed(subject, passed, **evidence)

    # -- what the engine reads ---------------------------------------------------
    def failing(self, fail_on: Severity) -> list[Result]:
        return [r for r in self.results if r.counts_against(fail_on)]

    def _record(self, subject, outcome, message, evidence, remediation=None, severity=None):
        result = Result(
            id=self.spec.id, title=self.spec.title, section=self.spec.section,
            severity=Severity.parse(severity) if severity else self.spec.severity, subject=self._scrub(str(subject)), outcome=outcome,
            message=self._scrub(message), remediation=self._scrub(remediation or self.spec.remediation),
            host=self.host, evidence=self._scrub_evidence(evidence))
        if outcome in (Outcome.FAIL, Outcome.ERROR):
            self._apply_waiver(result)
        self.results.append(result)

    def _apply_waiver(self, result: Result) -> None:
        for waiver in self.waivers:
            if waiver.subject not in (None, result.subject):
                continue
            expires = waiver.expires.isoformat()
            result.waiver = {"check": waiver.check, "subject": waiver.subject,
                             "reason": waiver.reason, "expires": expires}
            # A waiver holds through the end of its expiry date (UTC).
            if self.today <= waiver.expires:
                result.outcome = Outcome.WAIVED
                result.waiver["state"] = "active"
            else:
                result.message += f" (waiver expired on {expires})"
                result.waiver["state"] = "expired"
            return

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _scrub_evidence(self, value):
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, dict):
            return {str(k): self._scrub_evidence(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [self._scrub_evidence(v) for v in value]
        return value
