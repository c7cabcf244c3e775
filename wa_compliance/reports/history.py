"""A host's run folders, its `latest` link, and what changed since the previous run.

Layout: `reports_dir/<host>/<20261128T171500Z>[-N]/` per run, and `reports_dir/<host>/latest`,
a relative symlink to the newest run folder, replaced atomically once its files are written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .common import FAILING_NAMES, folder_stamp, severity_rank
from .json_report import FILENAME as RESULTS_FILENAME

LATEST = "latest"
REPORT_FILENAME = "report.html"
# load_previous notes here which run folder the document came from (never written to a file)
RUN_FOLDER_KEY = "_run_folder"
FIRST_RUN = "first run for this host"
MAX_RUNS_PER_SECOND = 1000

Key = tuple[str, str]


@dataclass
class Changes:
    """The previous run against this one, keyed by (check ID, subject)."""

    previous: str | None = None     # when the previous run started, if there is one
    previous_report: str | None = None  # its report.html, relative to this run's folder
    note: str | None = None         # why there is nothing to compare with
    new_failures: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[dict[str, Any]] = field(default_factory=list)
    still_failing: list[dict[str, Any]] = field(default_factory=list)
    # failing last time, absent this time (e.g. a `-m upgrade` run): not claimed as fixed
    not_rechecked: list[dict[str, Any]] = field(default_factory=list)


# -- folders ----------------------------------------------------------------------------
def host_dir(reports_dir: str | os.PathLike, host: str) -> Path:
    """`reports_dir/<host>`; the host name must be one plain path component."""
    if host in ("", ".", "..") or any(c in host for c in ("/", "\\", "\0")):
        raise ValueError(f"host name {host!r} cannot name a report folder")
    return Path(reports_dir) / host


def make_run_dir(folder: Path, started: dt.datetime) -> Path:
    """Create the run folder; a second run in the same second gets `-2`, then `-3`..."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder_stamp(started)
    for n in itertools.count(1):
        path = folder / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            if n >= MAX_RUNS_PER_SECOND:
                raise
            continue
        return path
    raise AssertionError("unreachable")


def point_latest(folder: Path, run_dir: Path) -> None:
    """Make `folder/latest` a relative symlink to run_dir, atomically (temp link + rename)."""
    temp = folder / f".{LATEST}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(run_dir, folder), temp)
    try:
        os.replace(temp, folder / LATEST)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


# -- previous run -----------------------------------------------------------------------
def load_previous(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The previous run's results.json through `latest`: (document, None), (None, why) or
    (None, None) when this host has no run yet."""
    latest = folder / LATEST
    if not os.path.lexists(latest):
        return None, None
    path = latest / RESULTS_FILENAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"previous run has no {RESULTS_FILENAME} ({LATEST} -> {_target(latest)})"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"previous run's {RESULTS_FILENAME} is unreadable: {exc}"
    problem = _shape_problem(document)
    if problem:
        return None, f"previous run's {RESULTS_FILENAME} is not usable: {problem}"
    run_folder = _target(latest)
    if _is_plain_name(run_folder) and (folder / run_folder / REPORT_FILENAME).is_file():
        document[RUN_FOLDER_KEY] = run_folder
    return document, None


def _is_plain_name(name: str) -> bool:
    return name not in ("", ".", "..", "?") and "/" not in name and "\\" not in name


def _target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def _shape_problem(document: Any) -> str | None:
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        return "no results list"
    for entry in document["results"]:
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), str) for k in ("id", "subject", "outcome")):
            return "a result lacks id, subject or outcome"
    return None


# -- comparison -------------------------------------------------------------------------
def is_failing(entry: dict[str, Any]) -> bool:
    return entry.get("outcome") in FAILING_NAMES


def index(entries: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """Entries by (id, subject); where a pair repeats, a failing entry stands for it."""
    by_key: dict[Key, dict[str, Any]] = {}
    for entry in entries:
        key = (entry["id"], entry["subject"])
        if key not in by_key or (is_failing(entry) and not is_failing(by_key[key])):
            by_key[key] = entry
    return by_key


def _line(now: dict[str, Any] | None, before: dict[str, Any] | None) -> dict[str, Any]:
    shown = now or before or {}
    return {"id": shown.get("id", ""), "subject": shown.get("subject", ""),
            "title": shown.get("title", ""), "severity": shown.get("severity", ""),
            "message": shown.get("message", ""),
            "outcome": now.get("outcome") if now else None,
            "previous_outcome": before.get("outcome") if before else None}


def _ordered(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(lines, key=lambda line: (-severity_rank(str(line["severity"])),
                                           str(line["id"]), str(line["subject"])))


def compare(previous: dict[str, Any] | None, current: Iterable[dict[str, Any]],
            problem: str | None = None) -> Changes:
    """New failures, fixed and still failing between the previous document and this run's
    entries (failing = outcome fail or error)."""
    if previous is None:
        return Changes(note=problem or FIRST_RUN)
    before, now = index(previous["results"]), index(current)
    changes = Changes(previous=str(previous.get("started") or "unknown"))
    run_folder = previous.get(RUN_FOLDER_KEY)
    if isinstance(run_folder, str) and _is_plain_name(run_folder):
        # run folders are siblings: reports/<host>/<run>/report.html
        changes.previous_report = f"../{quote(run_folder)}/{REPORT_FILENAME}"
    for key in now.keys() | before.keys():
        was = key in before and is_failing(before[key])
        still_present = key in now
        failing = still_present and is_failing(now[key])
        line = _line(now.get(key), before.get(key))
        if failing and was:
            changes.still_failing.append(line)
        elif failing:
            changes.new_failures.append(line)
        elif was and still_present:
            changes.fixed.append(line)
        elif was:
            changes.not_rechecked.append(line)
    for name in ("new_failures", "fixed", "still_failing", "not_rechecked"):
        setattr(changes, name, _ordered(getattr(changes, name)))
    return changes
