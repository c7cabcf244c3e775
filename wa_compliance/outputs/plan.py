"""--plan: a remediation plan in Markdown, for a person to review before changing anything.

Per host, then per failing check (highest severity first, then catalogue order): the change
each failing result's remediation names (the cron line covering every container, the logrotate
block, the settings PATCH body to send by hand...), listed once with every subject it fixes,
each subject with its message and severity. Results that could not be evaluated (`error`)
follow, with their message: there is nothing to change until the audit can look. Waived and
passing results are not listed.

The plan is built only from the results, which are scrubbed of secrets when recorded; every
string is scrubbed again on the way out. Nothing in it has been applied.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Outcome, Result, Severity
from ..catalogue import section_rank
from ..reports.common import HostRun, Scrubber, atomic_write, iso_utc
from .baseline import is_marked

KNOWN_NOTE = "already failing in the baseline"


@dataclass
class Change:
    """One remediation text and the failing results it fixes."""

    remediation: str
    results: list[Result] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return max(r.severity for r in self.results)


@dataclass
class CheckPlan:
    """The changes one check asks for on one host."""

    id: str
    title: str
    section: str
    changes: list[Change] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return max(c.severity for c in self.changes)

    @property
    def results(self) -> list[Result]:
        return [r for c in self.changes for r in c.results]


def checks_to_fix(results: Iterable[Result]) -> list[CheckPlan]:
    """The `fail` results grouped by check, then by identical remediation text; ordered by
    severity (highest first), then catalogue order (section, ID)."""
    plans: dict[str, CheckPlan] = {}
    for result in results:
        if result.outcome != Outcome.FAIL:
            continue
        plan = plans.setdefault(result.id, CheckPlan(result.id, result.title, result.section))
        text = result.remediation.strip()
        change = next((c for c in plan.changes if c.remediation == text), None)
        if change is None:
            change = Change(text)
            plan.changes.append(change)
        change.results.append(result)
    for plan in plans.values():
        for change in plan.changes:
            change.results.sort(key=lambda r: (-r.severity, r.subject))
        plan.changes.sort(key=lambda c: (-c.severity, c.results[0].subject))
    return sorted(plans.values(), key=lambda p: (-p.severity, section_rank(p.section), p.id))


def not_evaluated(results: Iterable[Result]) -> list[Result]:
    """The `error` results, highest severity first."""
    errors = [r for r in results if r.outcome == Outcome.ERROR]
    return sorted(errors, key=lambda r: (-r.severity, section_rank(r.section), r.id, r.subject))


# -- Markdown -------------------------------------------------------------------------------
def _code(text: str) -> str:
    """Inline code that holds any text: a backtick run longer than any inside it."""
    text = " ".join(text.splitlines()) or " "
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _block(text: str) -> list[str]:
    """A fenced block that no backtick run inside the text can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *text.splitlines(), fence]


def _indented(text: str, indent: str = "  ") -> str:
    """A multi-line message kept inside its list item."""
    return f"\n{indent}".join(text.splitlines()) if text else ""


def _known(result: Result) -> str:
    return f" ({KNOWN_NOTE})" if is_marked(result) else ""


def _host_section(run: HostRun, fail_on: Severity | None) -> list[str]:
    checks = checks_to_fix(run.results)
    errors = not_evaluated(run.results)
    failing = sum(len(c.results) for c in checks)
    known = sum(1 for c in checks for r in c.results if is_marked(r)) + sum(map(is_marked, errors))
    waived = sum(1 for r in run.results if r.outcome == Outcome.WAIVED)
    lines = [f"## {run.host}", "", f"Profile: {_code(run.profile)}. Audit started {iso_utc(run.started)}, "
             f"{len(run.results)} results."]
    if not run.results:
        return lines[:2] + ["No check ran for this host: nothing to plan.", ""]
    summary = (f"To fix: {len(checks)} check{'s' if len(checks) != 1 else ''} "
               f"({failing} failing result{'s' if failing != 1 else ''})")
    if errors:
        summary += f"; {len(errors)} result{'s' if len(errors) != 1 else ''} could not be evaluated"
    if known:
        summary += f"; {known} {KNOWN_NOTE}"
    if waived:
        summary += f"; {waived} waived (not listed)"
    lines += [summary + ".", ""]
    if not checks and not errors:
        lines += ["Nothing to change: no check failed.", ""]
    for n, check in enumerate(checks, 1):
        lines += [f"### {n}. {check.id} ({check.severity}) — {check.title}", ""]
        if fail_on is not None and (check.severity == Severity.INFO or check.severity < fail_on):
            lines += [f"Below --fail-on={fail_on}: does not fail the run.", ""]
        for m, change in enumerate(check.changes, 1):
            if len(check.changes) > 1:
                lines += [f"Change {m} of {len(check.changes)} ({change.severity}), fixes:"]
            else:
                lines += ["Fixes:"]
            for result in change.results:
                lines.append(f"- {_code(result.subject)} — {result.severity}{_known(result)}: "
                             f"{_indented(result.message)}")
            lines += ["", "Change:", "", *_block(change.remediation or "(the check names no remediation)"), ""]
    if errors:
        lines += ["### Could not be evaluated", "",
                  "Nothing to change for these until the audit can look: fix what each message "
                  "names, then run the audit again.", ""]
        for result in errors:
            lines.append(f"- {result.id} ({result.severity}) {_code(result.subject)}{_known(result)}: "
                         f"{_indented(result.message)}")
        lines.append("")
    return lines + _upgrade_section(run)


def _upgrade_section(run: HostRun) -> list[str]:
    """With --upgrade-to: GO / NO-GO (the changes above are what to do before), then what to do
    after the upgrade (the upgrade check's evidence, `after_upgrade`)."""
    if not run.upgrade:
        return []
    lines = [f"### Upgrade to {run.upgrade['target']}: {run.upgrade['verdict']}", ""]
    if run.upgrade["failing"]:
        lines += ["Before the upgrade, fix the † checks above: " + ", ".join(run.upgrade["failing"]) + ".", ""]
    after = [step for r in run.results if isinstance(r.evidence, dict)
             for step in r.evidence.get("after_upgrade", [])]
    if after:
        lines += ["After the upgrade:", "", *(f"- {step}" for step in after), ""]
    return lines


def render_plan(runs: Sequence[HostRun], *, tool_version: str, fail_on: Severity | None = None,
                secrets: Iterable[str] = ()) -> str:
    """The plan's Markdown text for every host of the run, in the run's host order."""
    scrubber = Scrubber(secrets)
    runs = [scrubber.run(run) for run in runs]
    started = min((r.started for r in runs), default=dt.datetime.now(dt.timezone.utc))
    lines = ["# Remediation plan", "",
             f"Generated by wa-compliance {tool_version} from the audit started {iso_utc(started)}.", "",
             "**The audit applied nothing**: it only read the deployments. Each change below is what "
             "the failing check's remediation says to do; review it before applying it, on the host "
             "it names, then run the audit again to confirm.", ""]
    if len(runs) > 1:
        lines += ["Hosts: " + ", ".join(f"{run.host} ({_count(run)})" for run in runs), ""]
    for run in runs:
        lines += _host_section(run, fail_on)
    return "\n".join(lines).rstrip("\n") + "\n"


def _count(run: HostRun) -> str:
    checks = len(checks_to_fix(run.results))
    return f"{checks} check{'s' if checks != 1 else ''} to fix" if run.results else "no check ran"


def write_plan(path: str | os.PathLike, runs: Sequence[HostRun], *, tool_version: str,
               fail_on: Severity | None = None, secrets: Iterable[str] = ()) -> Path:
    """Replace `path` atomically with the plan; OSError when it cannot."""
    path = Path(path)
    atomic_write(path, render_plan(runs, tool_version=tool_version, fail_on=fail_on, secrets=secrets))
    return path
