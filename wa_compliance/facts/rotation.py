"""The logrotate configuration that rotates a Webapp's web, access and error logs, wherever its
image keeps it, parsed once per container (LOG-001 and LOG-002 read it)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..parsers.logrotate import LogBlock, LogrotateConfig, LogrotateParseError, parse_logrotate
from .cached import once
from .inside import LOGROTATE_DIR, LOGROTATE_MAIN, LogrotateFiles, live_logs

WEBAPP_LOGS = ("web", "access", "error")


@dataclass(frozen=True)
class RotationConfig:
    config: LogrotateConfig | None     # None: no usable configuration (why: in `found`)
    found: str                         # how it was found, or why there is none
    exists: bool = True                # False: neither the main file nor the folder exists


def rotation_config(read: LogrotateFiles, paths: dict[str, list[str]]) -> RotationConfig:
    """The configuration that names the logs: /etc/logrotate.conf and what it includes; else (or
    when that one does not name them all) the files of /etc/logrotate.d read on their own, as an
    image without the main file, or with a rotation script of its own, hands them to logrotate.
    The first that covers every log wins; else the one covering most."""
    has_main = LOGROTATE_MAIN in read.files
    candidates = [(LOGROTATE_MAIN, f"{LOGROTATE_MAIN} and what it includes")] if has_main else []
    if LOGROTATE_DIR in read.directories:
        candidates.append((LOGROTATE_DIR, f"the files of {LOGROTATE_DIR}/ read on their own" + (
            f" ({LOGROTATE_MAIN} does not include them)" if has_main else f" (the image has no {LOGROTATE_MAIN})")))
    if not candidates:
        return RotationConfig(None, f"no logrotate configuration: neither {LOGROTATE_MAIN} nor {LOGROTATE_DIR}/ "
                                    "exists", exists=False)
    best, problems = None, []
    for path, found in candidates:
        if read.files.get(path, b"") is None:
            problems.append(f"{path} is not readable")
            continue
        try:
            config = parse_logrotate(path, read.files, read.directories)
        except LogrotateParseError as exc:
            problems.append(f"the logrotate configuration does not parse: {exc}")
            continue
        covered, uncovered = coverage(config, paths)
        if not uncovered:
            return RotationConfig(config, found)
        if best is None or len(covered) > best[2]:
            best = (config, found, len(covered))
    return RotationConfig(best[0], best[1]) if best else RotationConfig(None, "; ".join(problems))


def webapp_log_paths(log_dir: str, live_names: list[str]) -> dict[str, list[str]]:
    """The files that are the web, access and error logs: the live ones whose name holds the
    word (web.log, webapp-error.log...), else the document's names <log_dir>/<kind>.log."""
    found = {}
    for kind in WEBAPP_LOGS:
        named = [n for n in live_names if kind in re.split(r"[^a-z0-9]+", n.lower().removesuffix(".log"))]
        found[kind] = [posixpath.join(log_dir, n) for n in sorted(named)] or [posixpath.join(log_dir, f"{kind}.log")]
    return found


def coverage(config: LogrotateConfig, paths: dict[str, list[str]]) -> tuple[dict[str, LogBlock], list[str]]:
    """The block governing each log path, and the paths no block covers."""
    covered, uncovered = {}, []
    for kind_paths in paths.values():
        for path in kind_paths:
            block = config.block_for(path)
            if block is None:
                uncovered.append(path)
            else:
                covered[path] = block
    return covered, uncovered


@dataclass(frozen=True)
class WebappRotation:
    """What rotates one Webapp's logs: the configuration found, the logs, which block covers each."""

    found: RotationConfig
    logs: dict[str, list[str]]                  # web / access / error -> their paths
    covered: dict[str, LogBlock]                # path -> the block that governs it
    uncovered: list[str]


class LogFacts:
    def webapp_rotation(self, container) -> WebappRotation:
        """The Webapp's rotation configuration, read in its one exec and parsed once."""
        def gather():
            snapshot = self.inside(container)
            logs = webapp_log_paths(self.profile.deployment.log_dir,
                                    [entry.name for entry in live_logs(snapshot.log_dir.entries)])
            if snapshot.logrotate.binary is None:
                found = RotationConfig(None, "logrotate is not installed in the container (the Webapp rotates its "
                                             "logs with it)")
            else:
                found = rotation_config(snapshot.logrotate, logs)
            covered, uncovered = coverage(found.config, logs) if found.config else ({}, [])
            return WebappRotation(found, logs, covered, uncovered)
        return once(self, f"_rotation_{container.name}", gather)
