"""The host's cron as an operator sets it up for R-CRON: one file per deployment in
/etc/cron.d running `docker exec <container> /opt/whatsapp/bin/cleanup.sh` daily, off-peak,
for every Webapp, Coreapp and Master container; and Debian's cron daemon reading it.

Debian's cron ignores a cron.d file whose name holds a dot, or that is not root's or is
group- or world-writable, hence `wa-lab-<project>`, root's, 0644. Cron treats `%` in a
command as a newline: nothing written here has one.

The daemon is the host's, shared by every deployment: `stop_daemon()` (cron.daemon_stopped)
stops it for all of them, and any `up` or restore starts it again.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from lab.commands import run
from lab.errors import LabError

CRON_DIR = Path("/etc/cron.d")
CLEANUP = "/opt/whatsapp/bin/cleanup.sh"
OFF_PEAK = "30 3 * * *"          # daily at 03:30, inside the default off-peak window 00:00-06:00
DAEMON = "/usr/sbin/cron"
PID_FILE = Path("/run/crond.pid")
WAIT_SECONDS = 15
FILE_MODE = 0o644


def file_name(project: str) -> str:
    return f"wa-lab-{project}"


def exec_line(target: str, schedule: str = OFF_PEAK) -> str:
    """The cleanup of one container, named by `target` (a name or an ID)."""
    return f"{schedule} root docker exec {target} {CLEANUP} >/dev/null 2>&1"


def loop_line(docker_filter: str, schedule: str = OFF_PEAK) -> str:
    """The cleanup of every running container `docker ps --filter <docker_filter>` lists."""
    return (f"{schedule} root for c in $(docker ps -q --filter {docker_filter}); "
            f"do docker exec $c {CLEANUP}; done >/dev/null 2>&1")


def write_script(path: Path, text: str, mode: int = 0o755) -> Path:
    """A script on the host that a cron line runs, as an operator keeps one (root's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def render(project: str, lines: Sequence[str], note: str | None = None) -> str:
    """The cron.d file: a header, SHELL and PATH, then `lines`. `note` says, in a first
    comment line, what a deviation changed."""
    header = [f"# {note}"] if note else []
    header += [
        f"# wa-lab deployment {project!r}: WhatsApp Business API cleanup (R-CRON), daily at",
        "# 03:30 (off-peak) in every Webapp, Coreapp and Master container.",
        "# Written by `python -m lab up`; `python -m lab deviate cron.*` changes it.",
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
    ]
    return "\n".join([*header, *lines]) + "\n"


def write(path: Path, text: str) -> None:
    """Write `path` as cron wants it (root's, 0644), only when something differs."""
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if path.stat().st_mode & 0o777 != FILE_MODE:
        path.chmod(FILE_MODE)


# --- the daemon -------------------------------------------------------------------------------
def daemon_pid() -> int | None:
    """The running cron daemon's PID, from its pid file (None: not running)."""
    try:
        pid = int(PID_FILE.read_text().split()[0])
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError, IndexError):
        return None
    # "<pid> (<comm>) <state> ...": a zombie has exited already.
    comm, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
    return pid if comm == "cron" and state != "Z" else None


def ensure_daemon() -> None:
    """Start Debian's cron unless it runs (it forks into the background by itself)."""
    if daemon_pid() is not None:
        return
    if not Path(DAEMON).exists():
        raise LabError(f"{DAEMON} is missing on this host (run lab/install.sh)")
    run([DAEMON], timeout=WAIT_SECONDS)
    _wait_until(lambda: daemon_pid() is not None, "did not start")


def stop_daemon() -> None:
    """Stop the daemon and wait until init has reaped it: until then its zombie still shows
    in /proc as a process named cron."""
    pid = daemon_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    _wait_until(lambda: not Path(f"/proc/{pid}").exists(), f"(pid {pid}) did not go away")


def _wait_until(condition, failure: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise LabError(f"the cron daemon {failure} within {WAIT_SECONDS}s")
        time.sleep(0.1)
