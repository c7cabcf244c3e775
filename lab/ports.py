"""Ports the lab's servers listen on, reserved machine-wide, so two servers never share one.

Picking a free port by binding to port 0 and closing is a race: two deployments brought up in
one run were once handed the same port. A reservation is a file `<RESERVED>/<port>` naming
its owner (the deployment's or server's folder), read and written only under one lock: the
port is the owner's until it releases it, or until its folder is gone (a deployment removed
by hand, or a test's temporary folder), which makes the reservation stale and reusable.
Ports come from a range below Linux's ephemeral ports (32768-60999), so no outgoing
connection and no bind-to-0 elsewhere ever holds one.
"""

from __future__ import annotations

import fcntl
import random
import socket
from contextlib import contextmanager
from pathlib import Path

from lab.errors import LabError

STATE_DIR = Path("/var/lib/wa-lab")           # the lab's machine-wide records (purge removes it)
RESERVED = STATE_DIR / "ports"
FIRST, LAST = 20000, 29999
HOST = "127.0.0.1"


def reserve(owner: Path) -> int:
    """A port for `owner` (a folder), reserved until `release` or until the folder is gone."""
    owner = Path(owner).absolute()
    with _reservations():
        start = random.randint(FIRST, LAST)
        for offset in range(LAST - FIRST + 1):
            port = FIRST + (start - FIRST + offset) % (LAST - FIRST + 1)
            record = RESERVED / str(port)
            holder = _holder(record)
            if holder is not None and (holder == owner or Path(holder).exists()):
                continue
            if not _bindable(port):
                continue
            record.write_text(f"{owner}\n")
            return port
    raise LabError(f"no free port left in {FIRST}-{LAST} on {HOST}")


def keep(port: int | None, owner: Path) -> int:
    """`port` if it is `owner`'s or free to be, else a newly reserved one: a deployment keeps
    the port it had, and never keeps one another owner holds."""
    owner = Path(owner).absolute()
    if port is not None and FIRST <= port <= LAST:
        record = RESERVED / str(port)
        with _reservations():
            holder = _holder(record)
            if holder == owner or (holder is None or not Path(holder).exists()) and _bindable(port):
                record.write_text(f"{owner}\n")
                return port
    elif port is not None:
        return port                  # a fixed port (profiles/lab*.yaml), outside the range
    return reserve(owner)


def release(port: int | None, owner: Path) -> None:
    """Give `port` back, if `owner` holds it."""
    if port is None:
        return
    record = RESERVED / str(port)
    with _reservations():
        if _holder(record) == Path(owner).absolute():
            record.unlink(missing_ok=True)


def reserved() -> dict[int, Path]:
    """Every reservation: port -> owner."""
    if not RESERVED.is_dir():
        return {}
    holders = {int(record.name): _holder(record) for record in RESERVED.iterdir() if record.name.isdigit()}
    return {port: owner for port, owner in holders.items() if owner is not None}


@contextmanager
def _reservations():
    RESERVED.mkdir(parents=True, exist_ok=True)
    with open(RESERVED / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _holder(record: Path) -> Path | None:
    try:
        text = record.read_text().strip()
    except FileNotFoundError:
        return None
    return Path(text) if text else None


def _bindable(port: int) -> bool:
    """Nothing listens on the port now (a server of something else, or of a purged lab)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True
