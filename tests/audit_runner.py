"""Runs the audit the way an operator does (`pytest checks --host=...`) and reads what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class AuditRun:
    exit_code: int
    console: str
    reports_dir: Path

    def results(self, host: str) -> list[dict]:
        return self.document(host)["results"]

    def document(self, host: str) -> dict:
        return json.loads((self.reports_dir / host / "latest" / "results.json").read_text())

    def outcomes(self, host: str) -> dict[str, set[str]]:
        """{'ENV-001': {'pass'}, 'ENV-008': {'fail'}, ...}"""
        outcomes: dict[str, set[str]] = {}
        for result in self.results(host):
            outcomes.setdefault(result["id"], set()).add(result["outcome"])
        return outcomes

    def of(self, host: str, check_id: str) -> list[dict]:
        return [r for r in self.results(host) if r["id"] == check_id]


def lab_api_env() -> dict[str, str]:
    """The API logins the lab profiles name (WA_LAB_API_USER, WA_LAB_API_PASSWORD_<PROJECT>),
    as an operator exports them before an audit."""
    from lab import LAB_PROFILES, Lab, LabError
    env = {}
    for entry in LAB_PROFILES.values():
        try:
            env.update(Lab.open(entry["project"]).api_env())
        except LabError:
            pass                      # not up: its profile's API checks will say so
    return env


def run_audit(*args: str, reports_dir: Path, timeout: int = 180, env: dict[str, str] | None = None,
              prefix: tuple[str, ...] = ()) -> AuditRun:
    """`prefix`: a command the audit runs under (e.g. `unshare ...`: a process table of its own)."""
    # An operator's run: the plugins only our test suite has installed stay out (hypothesis'
    # end-of-run summary alone costs a second per audit).
    command = [*prefix, sys.executable, "-m", "pytest", "checks", f"--reports-dir={reports_dir}", "-p", "no:cacheprovider",
               "-p", "no:hypothesispytest", "-p", "no:benchmark", *args]
    environment = {**os.environ, **lab_api_env(), **(env or {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)   # compiled once, not at every audit
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=environment)
    return AuditRun(done.returncode, done.stdout + done.stderr, reports_dir)


def assert_outcomes(run: AuditRun, host: str, check_ids, expected: dict[str, tuple]) -> None:
    """Exactly the expected checks deviate; all other results pass.

    `expected[check] = (outcome, text)` — every result of that check that does not pass has
    this outcome and its message holds `text`; or `(outcome, text, subject)` — the results
    whose subject holds `subject` have that outcome and text, and all the others pass.
    """
    for check_id in check_ids:
        results = run.of(host, check_id)
        assert results, f"{check_id} produced no result"
        if check_id not in expected:
            assert {r["outcome"] for r in results} == {"pass"}, (check_id, results)
            continue
        outcome, text, *subject = expected[check_id]
        if subject:
            named = [r for r in results if subject[0] in r["subject"]]
            assert named, (check_id, subject, results)
            assert {r["outcome"] for r in results if r not in named} <= {"pass"}, (check_id, results)
        else:
            named = [r for r in results if r["outcome"] != "pass"]
            assert named, (check_id, results)
        for result in named:
            assert result["outcome"] == outcome, (check_id, result)
            assert text in result["message"], (check_id, result["message"])
