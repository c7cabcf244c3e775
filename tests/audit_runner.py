"""Runs the audit the way an operator does (`pytest checks --host=...`) and reads what it wrote."""

from __future__ import annotations

import json
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


def run_audit(*args: str, reports_dir: Path, timeout: int = 180) -> AuditRun:
    command = [sys.executable, "-m", "pytest", "checks", f"--reports-dir={reports_dir}", "-p", "no:cacheprovider", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    return AuditRun(done.returncode, done.stdout + done.stderr, reports_dir)
