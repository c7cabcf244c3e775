"""Running host commands (docker, docker-compose, psql) with a timeout, always.

Secrets never go on a command line (it is visible in /proc to every user): callers pass
them on stdin or in a file. Errors are turned into one-line LabErrors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.errors import LabError

DEFAULT_TIMEOUT = 60


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run argv, capture its output as text; raise LabError on timeout or (if check) failure.

    `env` is added to the current environment rather than replacing it.
    """
    full_env = {**os.environ, **env} if env else None
    text_input = stdin.decode() if isinstance(stdin, bytes) else stdin
    try:
        result = subprocess.run(
            list(argv), input=text_input, capture_output=True, text=True,
            timeout=timeout, env=full_env, cwd=cwd,
            # No stdin given: read from /dev/null so nothing can wait for a TTY (CI).
            stdin=subprocess.DEVNULL if text_input is None else None,
        )
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed (run lab/install.sh)") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{_short(argv)} timed out after {timeout:g}s") from None
    if check and result.returncode != 0:
        raise LabError(f"{_short(argv)} failed (exit {result.returncode}): {last_line(result)}")
    return result


def run_bytes_in(argv: Sequence[str], data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run argv feeding it binary stdin (e.g. a tarball); return its stdout as text."""
    try:
        result = subprocess.run(list(argv), input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{_short(argv)} timed out after {timeout:g}s") from None
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise LabError(f"{_short(argv)} failed (exit {result.returncode}): {message[-1]}")
    return result.stdout.decode(errors="replace")


def last_line(result: subprocess.CompletedProcess) -> str:
    """The most telling line of a failed command: its first line naming an ERROR (psql,
    Compose), else its last non-empty stderr (else stdout) line."""
    for stream in (result.stderr, result.stdout):
        lines = [line.strip() for line in (stream or "").splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line]
        if errors or lines:
            return (errors or lines)[0 if errors else -1]
    return "no output"


def _short(argv: Sequence[str]) -> str:
    """The command named by its first words, enough to recognise it in an error."""
    return " ".join(list(argv)[:3])


def matching_processes(matches) -> list[int]:
    """PIDs of the live (not zombie) processes whose argv `matches(arguments)` accepts."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and process_matches(int(entry.name), matches):
            found.append(int(entry.name))
    return sorted(found)


def process_matches(pid: int, matches) -> bool:
    """`pid` runs, is no zombie (a server whose parent does not reap it stays one), and its
    argv (bytes) is one `matches` accepts: pids are reused."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z" and matches(arguments)


def stop_processes(pids: list[int], matches, seconds: float, what: str) -> None:
    """SIGTERM each, then SIGKILL when it lingers `seconds`; LabError naming `what` if one stays."""
    for pid in pids:
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, signal_number)
            except ProcessLookupError:
                break                           # gone meanwhile
            deadline = time.monotonic() + seconds
            while process_matches(pid, matches) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not process_matches(pid, matches):
                break
        else:
            raise LabError(f"{what} (pid {pid}) did not stop")
