"""The deviation registry: named misconfigurations that can be switched on and off for real.

A deviation records which aspects of the deployment it changes (`touches`):
- "file": db.env's content or mode;
- "compose": the Compose inputs in the deployment directory (Meta's compose file, the lab's
  override, and the copies media deviations run Compose on, under .lab/compose/);
- "server": the account on the database server;
- "containers": the containers (recreated from a changed db.env or Compose inputs).
Restoring converges exactly those aspects back to the compliant state (the lab's `ensure_*`
steps), so it works from another process and after a crash half-way through applying.
A deviation is recorded as active *before* it is applied, for the same reason.
Converging the containers always converges the Compose inputs first: Compose would otherwise
rebuild them from a compose file a vol.compose_* deviation edited.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.errors import LabError
from lab.topology import MEDIA_KINDS

if TYPE_CHECKING:
    from lab.deployment import Lab

ASPECTS = ("file", "compose", "server", "containers")  # also the order restores converge them
ANY_MEDIA = frozenset(MEDIA_KINDS)


@dataclass(frozen=True)
class Deviation:
    name: str                           # "<section>.<what>", e.g. env.drift
    description: str
    touches: frozenset[str]
    engines: frozenset[str]
    switch_on: Callable[[Lab], None]
    media: frozenset[str] = ANY_MEDIA            # the media kinds (volume, bind) it exists for


REGISTRY: dict[str, Deviation] = {}


def deviation(name: str, description: str, touches: set[str],
              engines: set[str] = frozenset({"mysql", "pgsql"}), media: set[str] = ANY_MEDIA):
    """Register the decorated function as the way to switch deviation `name` on."""
    assert set(touches) <= set(ASPECTS), touches
    assert set(media) <= ANY_MEDIA, media

    def register(function: Callable[[Lab], None]) -> Callable[[Lab], None]:
        assert name not in REGISTRY, f"deviation {name} registered twice"
        REGISTRY[name] = Deviation(name, description, frozenset(touches), frozenset(engines),
                                   function, frozenset(media))
        return function
    return register


def get(name: str) -> Deviation:
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; see python -m lab list-deviations"
        raise LabError(f"unknown deviation {name!r}{hint}") from None


def names() -> list[str]:
    return sorted(REGISTRY)


def apply(lab: Lab, name: str) -> None:
    """Switch deviation `name` on (a no-op if it already is)."""
    chosen = get(name)
    if lab.engine not in chosen.engines:
        raise LabError(f"{name} applies to {'/'.join(sorted(chosen.engines))} deployments; "
                       f"{lab.project} is {lab.engine}")
    if lab.media not in chosen.media:
        raise LabError(f"{name} applies to deployments with {'/'.join(sorted(chosen.media))} "
                       f"media; {lab.project} has {lab.media} media")
    if lab.state.settings() is None:
        raise LabError(f"lab deployment {lab.project!r} is not up (run: python -m lab up "
                       f"--project {lab.project})")
    active = lab.state.active_deviations()
    if name in active:
        return
    lab.state.save_active_deviations([*active, name])
    chosen.switch_on(lab)


def restore(lab: Lab, name: str | None = None) -> list[str]:
    """Switch off `name` (or every active deviation); return the names switched off.

    Converging an aspect also wipes other active deviations of that aspect: those are
    switched on again afterwards, so only the ones asked for go away.
    """
    active = lab.state.active_deviations()
    if name is None:
        ending = active
    else:
        get(name)                                   # an unknown name is an error, not a no-op
        ending = [name] if name in active else []
    if not ending:
        return []
    touched = converged_with(frozenset().union(*(get(n).touches for n in ending)))
    converge(lab, touched)
    remaining = [n for n in active if n not in ending]
    lab.state.save_active_deviations(remaining)
    for other in remaining:
        if get(other).touches & touched:
            get(other).switch_on(lab)
    return ending


def converged_with(aspects: frozenset[str]) -> frozenset[str]:
    """`aspects` plus those converging them converges too (containers: the Compose inputs)."""
    return aspects | {"compose"} if "containers" in aspects else aspects


def converge(lab: Lab, aspects: frozenset[str]) -> None:
    aspects = converged_with(aspects)
    if "file" in aspects:
        lab.ensure_db_env()
    if "compose" in aspects:
        lab.ensure_compose_files()
    if "server" in aspects:
        lab.ensure_db_account()
    if "containers" in aspects:
        lab.ensure_containers()
