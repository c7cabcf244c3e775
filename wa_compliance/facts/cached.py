"""Facts are gathered once per host per run, failures included, whichever thread asks first."""

from __future__ import annotations

import functools
import threading

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


def fact(method):
    """Like functools.cached_property, but a failure is cached too, and threads share it.

    A fact that could not be gathered (e.g. an unreachable engine) is tried
    once; every check that needs it then reports the same error at no cost.
    """
    attribute = _attribute(method.__name__)

    @functools.wraps(method)
    def gathered(self):
        return once(self, attribute, lambda: method(self))

    return property(gathered)
