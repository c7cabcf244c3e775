"""--baseline: an earlier results.json whose failures are already known.

A result is *known* when the baseline of its host holds a failing entry (outcome fail or error)
with the same check ID and subject. A known failure is still reported as it is (fail or error,
in every report), with `evidence["baseline"] = "already failing"`; it no longer fails its pytest
item, so only new failures decide the exit code.

    baseline = Baseline.load(["reports/prod1/20261128T171500Z/results.json"], hosts=["prod1"])
    baseline.mark(results)      # -> the results it marked as known
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import Outcome, Result

EVIDENCE_KEY = "baseline"
KNOWN = "already failing"
SCHEMA = 1
RESULTS_FILENAME = "results.json"
FAILING = frozenset({str(Outcome.FAIL), str(Outcome.ERROR)})

Key = tuple[str, str]          # (check ID, subject)


class BaselineError(UsageError):
    """A --baseline file that cannot serve: one line naming the file and why (exit code 4)."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"--baseline {self.path}: {problem}")


@dataclass
class Baseline:
    """The failing (check ID, subject) pairs of each host's baseline file."""

    files: dict[str, Path] = field(default_factory=dict)          # host -> file
    failing: dict[str, frozenset[Key]] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike], hosts: Iterable[str]) -> "Baseline":
        """One file per host; a host may have none. Every problem is a BaselineError."""
        hosts = list(hosts)
        baseline = cls()
        for path in paths:
            host, failing = read_baseline(path)
            if host not in hosts:
                raise BaselineError(path, f"is the results of host {host!r}, which this run does not "
                                          f"audit (hosts: {', '.join(hosts) or 'none'})")
            if host in baseline.files:
                raise BaselineError(path, f"a second baseline for host {host!r} (the first is "
                                          f"{baseline.files[host]}): give one per host")
            baseline.files[host] = Path(path)
            baseline.failing[host] = failing
        return baseline

    def __bool__(self) -> bool:
        return bool(self.files)

    def is_known(self, result: Result) -> bool:
        """Failing now, and already failing in the host's baseline."""
        return (str(result.outcome) in FAILING
                and (result.id, result.subject) in self.failing.get(result.host, ()))

    def mark(self, results: Iterable[Result]) -> list[Result]:
        """Note every known failure in its evidence; return those results."""
        known = []
        for result in results:
            if self.is_known(result):
                result.evidence[EVIDENCE_KEY] = KNOWN
                known.append(result)
        return known


def is_marked(result: Result) -> bool:
    """Whether `Baseline.mark` noted this result (also after a trip through an xdist worker)."""
    return isinstance(result.evidence, dict) and result.evidence.get(EVIDENCE_KEY) == KNOWN


def read_baseline(path: str | os.PathLike) -> tuple[str, frozenset[Key]]:
    """(host, its failing (check ID, subject) pairs) from a results.json of schema 1."""
    path = Path(path)
    if path.is_dir():
        hint = f" (did you mean {path / RESULTS_FILENAME}?)" if (path / RESULTS_FILENAME).is_file() else ""
        raise BaselineError(path, f"is a directory, not a {RESULTS_FILENAME}{hint}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BaselineError(path, f"is not a {RESULTS_FILENAME}: not JSON ({exc})") from None
    return _host_of(path, document), _failing_pairs(path, document)


def _host_of(path: Path, document: Any) -> str:
    if not isinstance(document, dict) or "schema" not in document:
        raise BaselineError(path, f"is not a {RESULTS_FILENAME}: no \"schema\" key")
    if document["schema"] != SCHEMA:
        raise BaselineError(path, f"is a {RESULTS_FILENAME} of schema {document['schema']!r}; "
                                  f"this version reads schema {SCHEMA}")
    host = document.get("host")
    if not isinstance(host, str) or not host:
        raise BaselineError(path, f"is not a usable {RESULTS_FILENAME}: no \"host\"")
    return host


def _failing_pairs(path: Path, document: dict[str, Any]) -> frozenset[Key]:
    entries = document.get("results")
    if not isinstance(entries, list):
        raise BaselineError(path, f"is not a usable {RESULTS_FILENAME}: no \"results\" list")
    pairs = set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str)
                                                  for k in ("id", "subject", "outcome")):
            raise BaselineError(path, f"is not a usable {RESULTS_FILENAME}: results[{n}] lacks "
                                      "id, subject or outcome")
        if entry["outcome"] in FAILING:
            pairs.add((entry["id"], entry["subject"]))
    return frozenset(pairs)
