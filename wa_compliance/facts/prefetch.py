"""Background gathering of the hosts' facts, so that their round trips overlap.

Each chain is a list of steps run in order in one thread (a step may need the one before it:
the container list before the execs in each container); chains run side by side, for every
host of the run at once. A step that fails has cached its error in the fact it gathers; the
check that reads the fact reports it.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

# Round trips, not CPU: waits overlap with a few threads. A host has at most 4 chains plus one
# exec per container, within sshd's default MaxSessions (10) for an ssh:// target.
WORKERS = 8


class Prefetch:
    def __init__(self):
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="gather")
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def start(self, chains: list[list]) -> None:
        for chain in chains:
            self.submit(*chain)

    def submit(self, *steps) -> None:
        """Run these steps in order, in the background; callable from a running step too."""
        with self._lock:
            self._futures.append(self._pool.submit(_run, steps))

    def wait(self) -> None:
        """Until every step, including steps submitted by steps, has ended."""
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                break
            for future in pending:
                future.result()
        self._pool.shutdown(wait=True)


def _run(steps) -> None:
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - cached in the fact; its check reports it
            pass
