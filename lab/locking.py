"""One lab operation at a time per deployment, across processes (pytest-xdist workers, shells).

Up, down, deviate and restore each read-modify-write files and the database account; two at
once on one deployment could leave a half-applied state. The lock file lives beside the
deployment directory, so `down` (which removes the directory) can hold it too.
"""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from pathlib import Path

from lab.errors import LabError

WAIT_SECONDS = 300


@contextmanager
def deployment_lock(root: Path, project: str):
    root.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + WAIT_SECONDS
    with open(root / f".{project}.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"lab deployment {project!r} stayed busy for "
                                   f"{WAIT_SECONDS}s (another lab command holds it)") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
