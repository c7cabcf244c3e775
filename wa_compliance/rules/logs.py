"""R-LOG decisions: the rotation policy of the source document, and what the log folders show.

Source ("Rotation des journaux"): Webapp rotates its web, access and error logs with logrotate,
keeps the last 30 files, rotates only above 20 MB, compresses, archives in
/var/log/whatsapp/archive. Coreapp rotates with an internal script: 30 files, above 15 MB,
compressed, same archive, and never deletes old files by itself.

Sizes: logrotate's `20M` is 20 MiB; the document's "20 Mo" is read the same way, and any
threshold from 20,000,000 bytes to 20 MiB is accepted as "20 MB".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..facts.inside import live_logs
from ..parsers.logrotate import Policy

MIB = 1024 * 1024
KEEP = 30
WEBAPP_THRESHOLD = 20 * MIB
COREAPP_THRESHOLD = 15 * MIB
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".z", ".zip")


@dataclass(frozen=True)
class Expected:
    archive: str
    rotate: int = KEEP
    threshold: int = WEBAPP_THRESHOLD


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
