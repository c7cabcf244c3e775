"""R-LOG decisions: the rotation policy of the source document, and what the log folders show.

Source ("Rotation des journaux"): Webapp rotates its web, access and error logs with logrotate,
keeps the last 30 files, rotates only above 20 MB, compresses, archives in
/var/log/whatsapp/archive. Coreapp rotates with an internal script: 30 files, above 15 MB,
compressed, same archive, and never deletes old files by itself.

Sizes: logrotate's `20M` is 20 MiB; the document's "20 Mo" is read the same way, and any
threshold from 20,000,000 bytes to 20 MiB is accepted as "20 MB".
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..facts.inside import LOGROTATE_DIR, LOGROTATE_MAIN, LogrotateFiles
from ..parsers.logrotate import LogBlock, LogrotateConfig, LogrotateParseError, Policy, parse_logrotate

MIB = 1024 * 1024
KEEP = 30
WEBAPP_THRESHOLD = 20 * MIB
COREAPP_THRESHOLD = 15 * MIB
WEBAPP_LOGS = ("web", "access", "error")
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".z", ".zip")


@dataclass(frozen=True)
class Expected:
    archive: str
    rotate: int = KEEP
    threshold: int = WEBAPP_THRESHOLD


# -- LOG-001: the configuration that rotates the Webapp's logs, wherever the image keeps it ----
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


# -- LOG-001: which block governs each of the three logs --------------------------------------
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


def debug_errors(output: str) -> list[str]:
    """What `logrotate -d` reports as errors (it goes on after most of them)."""
    return [line.strip() for line in output.splitlines() if line.strip().lower().startswith("error")]


# -- LOG-002: the policy of one block -----------------------------------------------------------
def policy_problems(policy: Policy, log_path: str, expected: Expected) -> list[str]:
    """Each deviation from the document's policy: the directive found, where, and the one expected."""
    problems = []
    if policy.rotate.value != expected.rotate:
        problems.append(f"keeps {_found(f'rotate {policy.rotate.value}', policy.rotate)}, expected 'rotate {expected.rotate}'")
    threshold = policy.rotates_only_above()
    if threshold is None or not 20_000_000 <= threshold <= expected.threshold:
        problems.append(f"rotates {_trigger(policy)}, expected only above 20 MB ('size 20M')")
    if not policy.compress.value:
        problems.append(f"does not compress ({_found('nocompress', policy.compress)}), expected 'compress'")
    archive = policy.archive_dir(log_path)
    if archive != expected.archive:
        found = _found(f"olddir {policy.olddir.value}", policy.olddir) if archive else "no 'olddir' (rotated files stay beside the log)"
        problems.append(f"archives to {found}, expected 'olddir {expected.archive}'")
    return problems


def _trigger(policy: Policy) -> str:
    """How the block does rotate, in words, with the directive that decides it."""
    criterion = policy.criterion
    if criterion.value == "size":
        return f"above {human(policy.size.value)} ({_found(f'size {human(policy.size.value, unit=True)}', policy.size)})"
    when = f"{criterion.value} ({_found(criterion.value, criterion)})"
    if policy.minsize.value is not None:
        return f"{when} when above {human(policy.minsize.value)} " \
               f"({_found(f'minsize {human(policy.minsize.value, unit=True)}', policy.minsize)})"
    if policy.maxsize.value is not None:
        return f"{when} whatever the size, and also above {human(policy.maxsize.value)} " \
               f"({_found(f'maxsize {human(policy.maxsize.value, unit=True)}', policy.maxsize)})"
    return f"{when} whatever the size"


def _found(directive: str, setting) -> str:
    if setting.path is None:
        return f"'{directive}' (logrotate's default)"
    return f"'{directive}' at {setting.path}:{setting.line}"


# -- LOG-004 / LOG-005: the folders ---------------------------------------------------------------
def live_logs(entries) -> list:
    """Files directly in the log folder that are logs being written (*.log)."""
    return [e for e in entries if e.is_file and e.name.endswith(".log")]


def oversized(entries, threshold: int, tolerance: float) -> list[str]:
    limit = threshold * tolerance
    return [f"{e.name} is {human(e.size)}, above {human(limit)} ({human(threshold)} × {tolerance:g}): "
            "it is not being rotated" for e in live_logs(entries) if e.size > limit]


def archived_log_of(name: str) -> str:
    """Which log an archived file belongs to: web.log.3.gz, web.log-20261101.gz -> web.log;
    coreapp-2026-11-01.log.gz -> coreapp-N-N-N.log (numbers vary between rotations)."""
    stem = name
    for extension in COMPRESSED:
        if stem.lower().endswith(extension):
            stem = stem[: -len(extension)]
            break
    stem = re.sub(r"\d+", "N", stem)
    return re.sub(r"([._-]N)+$", "", stem) or stem     # a name of numbers only keeps its shape


def is_compressed(name: str) -> bool:
    return name.lower().endswith(COMPRESSED)


def archive_problems(entries, keep: int = KEEP) -> list[str]:
    files = [e for e in entries if e.is_file]
    problems = []
    plain = sorted(e.name for e in files if not is_compressed(e.name))
    if plain:
        problems.append(f"{len(plain)} archived file(s) not compressed: {_some(plain)}")
    per_log: dict[str, list[str]] = {}
    for entry in files:
        per_log.setdefault(archived_log_of(entry.name), []).append(entry.name)
    for log, names in sorted(per_log.items()):
        if len(names) > keep:
            problems.append(f"{len(names)} archived files of {log}, more than {keep}")
    return problems


def _some(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def human(size: float, unit: bool = False) -> str:
    """20971520 -> '20 MiB' (or '20M' in logrotate's notation with unit=True)."""
    for suffix, factor in (("G", 1024 ** 3), ("M", MIB), ("k", 1024)):
        if size >= factor:
            value = size / factor
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}" if unit else f"{text} {suffix if suffix != 'k' else 'K'}iB"
    return f"{int(size)}" if unit else f"{int(size)} bytes"
