"""Facts are gathered once per host per run, failures included, whichever thread asks first; and
in the background, so that their round trips overlap.

Background gathering runs chains of steps, each chain in order in one thread (a step may need the
one before it: the container list before the execs in each container); chains run side by side,
for every host of the run at once. A step that fails has cached its error in the fact it
gathers; the check that reads the fact reports it.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import Future, ThreadPoolExecutor

# Round trips, not CPU: waits overlap with a few threads. A host has at most 4 chains plus one
# exec per container, within sshd's default MaxSessions (10) for an ssh:// target.
WORKERS = 8
_LOCKS = "_fact_locks"
_GUARD = threading.Lock()     # only to create an instance's per-fact locks


def _attribute(name: str) -> str:
    return f"_fact_{name}"


def gathered_value(instance, name: str):
    """The fact `name` if it was gathered successfully, else None (never gathers it)."""
    ok, value = instance.__dict__.get(_attribute(name), (False, None))
    return value if ok else None


def once(instance, key: str, gather):
    """`gather()` run once per instance and key; a second caller, in any thread, waits for the
    first and gets the same value or exception."""
    store = instance.__dict__
    if key not in store:
        with _GUARD:
            lock = store.setdefault(_LOCKS, {}).setdefault(key, threading.Lock())
        with lock:
            if key not in store:
                try:
                    store[key] = (True, gather())
                except Exception as exc:  # re-raised below, for every reader
                    store[key] = (False, exc)
    ok, value = store[key]
    if ok:
        return value
    raise value


class Shared:
    """What several deployments of one run read alike — one host's cron, one engine's list of
    containers — gathered once, by the first deployment that asks, failures included."""

    def get(self, key: tuple, gather):
        return once(self, repr(key), gather)


# fact -> the fact it is gathered after, in the same background chain (its input, or a round trip
# that is best made first): what gathering_chains() follows
AFTER: dict[str, str] = {}


def fact(method=None, *, after: str | None = None):
    """Like functools.cached_property, but a failure is cached too, and threads share it.

    A fact that could not be gathered (e.g. an unreachable engine) is tried
    once; every check that needs it then reports the same error at no cost.
    """
    def declare(method):
        attribute = _attribute(method.__name__)
        if after:
            AFTER[method.__name__] = after

        @functools.wraps(method)
        def gathered(self):
            return once(self, attribute, lambda: method(self))

        return property(gathered)

    return declare(method) if method else declare


def step(*, after: str):
    """A gathering step that is not a fact (it starts work in the background): `method(prefetch)`
    is called in its chain, after the fact `after`."""
    def declare(method):
        AFTER[method.__name__] = after
        return method
    return declare


def gathering_chains(reads, after: dict[str, str] = AFTER) -> list[list[str]]:
    """The facts `reads` names (and those they come after), as chains to gather in the background:
    each chain starts at a fact that comes after none, then its followers in the order read.

    >>> gathering_chains(["messages_table", "host_cron", "database_server"],
    ...                  {"messages_table": "db_env", "database_server": "db_env"})
    [['db_env', 'messages_table', 'database_server'], ['host_cron']]
    """
    chains: dict[str, list[str]] = {}
    for name in reads:
        path = [name]
        while path[-1] in after and after[path[-1]] not in path:
            path.append(after[path[-1]])
        chain = chains.setdefault(path[-1], [])
        chain.extend(step for step in reversed(path) if step not in chain)
    return list(chains.values())


class Prefetch:
    """Background steps on a pool of threads; `group()` gives a Prefetch of its own (to wait
    for one deployment's steps) on the same threads."""

    def __init__(self, pool: ThreadPoolExecutor | None = None):
        self._own_pool = pool is None
        self._pool = pool or ThreadPoolExecutor(WORKERS, thread_name_prefix="gather")
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def group(self) -> "Prefetch":
        return Prefetch(self._pool)

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

    def close(self) -> None:
        self.wait()
        if self._own_pool:
            self._pool.shutdown(wait=True)


def _run(steps) -> None:
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - cached in the fact; its check reports it
            pass
