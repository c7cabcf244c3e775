"""Every lab deployment brought up on this machine, wherever its root, so that `purge` finds
the private ones tests make under temporary folders too: one file per deployment folder in
`/var/lib/wa-lab/deployments/`, written by `up`, removed by `down`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

from lab.ports import STATE_DIR

DEPLOYMENTS = STATE_DIR / "deployments"


def remember(deployment_dir: Path) -> None:
    DEPLOYMENTS.mkdir(parents=True, exist_ok=True)
    _record(deployment_dir).touch()


def forget(deployment_dir: Path) -> None:
    _record(deployment_dir).unlink(missing_ok=True)


def remembered() -> list[Path]:
    """The deployment folders brought up and not brought down."""
    if not DEPLOYMENTS.is_dir():
        return []
    return sorted(Path(unquote(record.name)) for record in DEPLOYMENTS.iterdir())


def _record(deployment_dir: Path) -> Path:
    return DEPLOYMENTS / quote(str(Path(deployment_dir).absolute()), safe="")
