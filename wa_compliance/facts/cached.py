"""Facts are gathered once per host per run, failures included."""

from __future__ import annotations

import functools


def _attribute(name: str) -> str:
    return f"_fact_{name}"


def gathered_value(instance, name: str):
    """The fact `name` if it was gathered successfully, else None (never gathers it)."""
    ok, value = instance.__dict__.get(_attribute(name), (False, None))
    return value if ok else None


def fact(method):
    """Like functools.cached_property, but a failure is cached too.

    A fact that could not be gathered (e.g. an unreachable engine) is tried
    once; every check that needs it then reports the same error at no cost.
    """
    attribute = _attribute(method.__name__)

    @functools.wraps(method)
    def gathered(self):
        if attribute not in self.__dict__:
            try:
                self.__dict__[attribute] = (True, method(self))
            except Exception as exc:  # re-raised below, for every reader
                self.__dict__[attribute] = (False, exc)
        ok, value = self.__dict__[attribute]
        if ok:
            return value
        raise value

    return property(gathered)
