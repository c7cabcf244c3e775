"""The fleet index: `DIR/index.html`, one row per host ever audited into DIR, and each host's
run history, `DIR/<host>/history.jsonl`, from which the index draws its trends.

    write_fleet_index(Path("reports"), {"prod1": Path("reports/prod1/20261128T171500Z")})
    -> reports/index.html; reports/prod1/history.jsonl gains the line of that run

One history line per run: `{"run", "started", "finished", "summary", "score"}` (score: passed /
(passed + failed + error) in percent, or null). Run folders may be pruned; the history stays,
so trends survive. A host audited before this file existed, or by a run that did not call
`write_fleet_index`, has its history filled in from its run folders. Hosts not in this run keep
their row, marked with their last run's time. Output depends only on what is on disk and on
which hosts this run audited, never on the order results arrived in (serial or xdist): rows
are sorted by host name, history by start time.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..model import OUTCOME_ORDER
from . import history
from .common import atomic_write, run_status, score_text, score_value
from .json_report import FILENAME as RESULTS_FILENAME
from .jinja import environment

INDEX_FILENAME = "index.html"
HISTORY_FILENAME = "history.jsonl"
TEMPLATE = "index.html.j2"
TREND_RUNS = 12
OUTCOMES = tuple(str(o) for o in OUTCOME_ORDER)
# what make_run_dir names a run folder: 20261128T171500Z, 20261128T171500Z-2, ...
RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z(?:-\d+)?")


@dataclass
class RunLine:
    """One run of one host, as history.jsonl keeps it."""

    run: str                    # run folder name, inside DIR/<host>/
    started: str                # ISO 8601 UTC, as results.json has it
    finished: str
    summary: dict[str, int]
    score: float | None

    @property
    def status(self) -> str:
        return run_status(self.summary)

    @property
    def failing(self) -> int:
        return self.summary["fail"] + self.summary["error"]

    def to_json(self) -> str:
        return json.dumps({"run": self.run, "started": self.started, "finished": self.finished,
                           "summary": self.summary, "score": self.score},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_document(cls, run: str, document: Mapping[str, Any]) -> "RunLine":
        """From a run's results.json; its summary is recounted from its results, if need be."""
        summary = _summary(document.get("summary"))
        if summary is None:
            counted = [r.get("outcome") for r in document.get("results") or [] if isinstance(r, dict)]
            summary = {o: counted.count(o) for o in OUTCOMES}
        return cls(run=run, started=str(document.get("started") or ""),
                   finished=str(document.get("finished") or ""),
                   summary=summary, score=score_value(summary))

    @classmethod
    def from_json(cls, text: str) -> "RunLine | None":
        """A history line, or None when it is not one (a torn or hand-edited line)."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("run"), str):
            return None
        if _summary(data.get("summary")) is None or not RUN_FOLDER.fullmatch(data["run"]):
            return None
        return cls.from_document(data["run"], data)


def _summary(value: Any) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    counts = {o: value.get(o, 0) for o in OUTCOMES}
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
        return None
    return counts


def _order(line: RunLine) -> tuple[str, str]:
    # ISO 8601 UTC strings sort as times; the folder name breaks ties (-2 after the plain one)
    return (line.started, _folder_order(line.run))


def _folder_order(name: str) -> str:
    stamp, _, n = name.partition("-")
    return f"{stamp}-{int(n or 1):06d}"


# -- one host's history -----------------------------------------------------------------
def read_history(host_dir: Path) -> list[RunLine] | None:
    """The host's recorded runs, oldest first, one per run folder; None without a history file."""
    try:
        text = (host_dir / HISTORY_FILENAME).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    by_run = {}
    for raw in text.splitlines():
        line = RunLine.from_json(raw)
        if line is not None:
            by_run[line.run] = line
    return sorted(by_run.values(), key=_order)


def load_run(run_dir: Path) -> RunLine | None:
    """A run folder's history line, from its results.json; None when it has none readable."""
    try:
        document = json.loads((run_dir / RESULTS_FILENAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    return RunLine.from_document(run_dir.name, document)


def run_folders(host_dir: Path) -> list[Path]:
    try:
        entries = list(os.scandir(host_dir))
    except OSError:
        return []
    return sorted((Path(e.path) for e in entries
                   if RUN_FOLDER.fullmatch(e.name) and e.is_dir(follow_symlinks=False)),
                  key=lambda p: _folder_order(p.name))


def latest_run(host_dir: Path) -> Path | None:
    """The run folder `latest` points at, if it is one of this host's."""
    try:
        target = os.readlink(host_dir / history.LATEST)
    except OSError:
        return None
    return host_dir / target if RUN_FOLDER.fullmatch(target) else None


def update_history(host_dir: Path, new_runs: list[Path]) -> list[RunLine]:
    """Add the given run folders (and `latest`'s) to the host's history; return it, oldest
    first. Without a history file, every run folder still on disk seeds it."""
    recorded = read_history(host_dir)
    candidates = list(new_runs)
    if recorded is None:
        recorded, candidates = [], run_folders(host_dir) + candidates
    latest = latest_run(host_dir)
    if latest is not None:
        candidates.append(latest)
    known = {line.run for line in recorded}
    added = []
    for run_dir in candidates:
        if run_dir.name in known:
            continue
        line = load_run(run_dir)
        if line is not None:
            added.append(line)
            known.add(line.run)
    lines = sorted(recorded + added, key=_order)
    if added or not (host_dir / HISTORY_FILENAME).exists():
        atomic_write(host_dir / HISTORY_FILENAME, "".join(line.to_json() + "\n" for line in lines))
    return lines


# -- the index --------------------------------------------------------------------------
@dataclass
class HostRow:
    host: str
    in_this_run: bool
    last: RunLine | None
    report_href: str | None             # relative to DIR, None when the report is gone
    trend: list[RunLine] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.last.status if self.last else "UNKNOWN"


def audited_hosts(reports_dir: Path) -> list[str]:
    """Every folder of DIR that holds a host's history or `latest` link, by name."""
    try:
        entries = list(os.scandir(reports_dir))
    except FileNotFoundError:
        return []
    hosts = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        if (folder / HISTORY_FILENAME).is_file() or os.path.lexists(folder / history.LATEST):
            hosts.append(entry.name)
    return sorted(hosts)


def report_href(host: str, line: RunLine | None, reports_dir: Path) -> str | None:
    """`prod1/20261128T171500Z/report.html`: the run folder itself, not `latest`, since CI
    artifact stores and some web servers do not keep or follow symlinks."""
    if line is None or not (reports_dir / host / line.run / history.REPORT_FILENAME).is_file():
        return None
    return f"{quote(host)}/{quote(line.run)}/{history.REPORT_FILENAME}"


def sparkline(lines: list[RunLine], width: int = 120, height: int = 28) -> dict[str, Any]:
    """Coordinates of an inline SVG of the runs' scores (0 % at the bottom, 100 % at the top);
    a run that judged nothing leaves a gap."""
    pad = 3
    step = (width - 2 * pad) / max(len(lines) - 1, 1)
    segments: list[list[str]] = [[]]
    dots = []
    for i, line in enumerate(lines):
        if line.score is None:
            segments.append([])
            continue
        x = pad + i * step if len(lines) > 1 else width / 2
        y = pad + (100 - line.score) / 100 * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "fail": line.failing > 0})
    return {"width": width, "height": height,
            "polylines": [" ".join(s) for s in segments if len(s) > 1], "dots": dots}


def trend_text(lines: list[RunLine]) -> str:
    """`score 50.0 % → 75.0 % → 100.0 %`, oldest first."""
    return " → ".join(score_text(line.score) for line in lines)


def rows(reports_dir: Path, run_dirs: Mapping[str, Path]) -> list[HostRow]:
    table = []
    for host in sorted(set(audited_hosts(reports_dir)) | set(run_dirs)):
        host_dir = reports_dir / host
        new_runs = [Path(run_dirs[host])] if host in run_dirs else []
        lines = update_history(host_dir, new_runs)
        last = lines[-1] if lines else None
        table.append(HostRow(host=host, in_this_run=host in run_dirs, last=last,
                             report_href=report_href(host, last, reports_dir),
                             trend=lines[-TREND_RUNS:]))
    return table


def render(table: list[HostRow]) -> str:
    lasts = [row.last for row in table if row.last]
    return environment().get_template(TEMPLATE).render(
        rows=table, outcomes=OUTCOMES, trend_runs=TREND_RUNS,
        updated=max((line.started for line in lasts), default=None),
        failing_hosts=sum(1 for row in table if row.status == "FAIL"),
        passing_hosts=sum(1 for row in table if row.status == "PASS"),
        score_text=score_text, trend_text=trend_text, sparkline=sparkline)


@contextmanager
def _locked(reports_dir: Path) -> Iterator[None]:
    """One writer at a time per DIR (two audits sharing a reports folder), so neither loses
    the other's history line. The lock is on the folder itself: no lock file is left behind."""
    folder = os.open(reports_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)            # closing releases the lock


def write_fleet_index(reports_dir: str | os.PathLike, run_dirs: Mapping[str, os.PathLike]) -> Path:
    """Record this run's folders (host -> run folder just written) in each host's history, and
    rewrite DIR/index.html over every host ever audited into DIR; return its path.

    Calling it again for the same run changes nothing: a run is recorded once.
    """
    reports_dir = Path(reports_dir)
    for host in run_dirs:
        history.host_dir(reports_dir, host)             # refuses a host name that is not a folder
    reports_dir.mkdir(parents=True, exist_ok=True)
    with _locked(reports_dir):
        index = reports_dir / INDEX_FILENAME
        atomic_write(index, render(rows(reports_dir, {h: Path(p) for h, p in run_dirs.items()})))
    return index
