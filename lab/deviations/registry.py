"""The deviation registry: named misconfigurations that can be switched on and off for real.

A deviation records which aspects of the deployment it changes (`touches`):
- "file": db.env's content or mode;
- "compose": the Compose inputs in the deployment directory (Meta's compose file, the lab's
  override, and the copies media deviations run Compose on, under .lab/compose/);
- "server": the account on the database server;
- "containers": the containers (recreated from a changed db.env or Compose inputs);
- "inside": the containers' filesystems (files edited through `docker exec`);
- "cron": the deployment's cron files (cleanup, and the API-driven GC jobs' second file);
- "daemon": the host's cron daemon (shared by every deployment);
- "api": the stand-in of the client's API (its configuration, and so its process).
Restoring converges exactly those aspects back to the compliant state (the lab's `ensure_*`
steps), so it works from another process and after a crash half-way through applying.
A deviation is recorded as active *before* it is applied, for the same reason.
Converging the containers always converges the Compose inputs first: Compose would otherwise
rebuild them from a compose file a vol.compose_* deviation edited. Converging "inside"
force-recreates every container of the deployment, so they come back from the image; that
converges the containers' configuration as well. Any recreation loses what deviations
changed inside a container, so those are switched on again after it.
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

# Also the order restores converge them.
ASPECTS = ("file", "compose", "server", "containers", "inside", "cron", "daemon", "api")
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
    switch_on_again(lab, active, wiped_by(chosen.touches) - chosen.touches)


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
    touched = converged_with(touched_by(ending))
    converge(lab, touched)
    remaining = [n for n in active if n not in ending]
    lab.state.save_active_deviations(remaining)
    switch_on_again(lab, remaining, wiped_by(touched))
    return ending


def switch_on_again(lab: Lab, names: list[str], aspects: frozenset[str]) -> None:
    """Switch on again those of `names` changing one of `aspects` (which were just reset)."""
    for name in names:
        if get(name).touches & aspects:
            get(name).switch_on(lab)


def touched_by(names: list[str]) -> frozenset[str]:
    """The aspects the deviations `names` change."""
    return frozenset().union(*(get(name).touches for name in names))


def converged_with(aspects: frozenset[str]) -> frozenset[str]:
    """`aspects` plus those converging them converges too (inside: the containers' configuration;
    containers: the Compose inputs)."""
    if "inside" in aspects:
        aspects |= {"containers"}
    return aspects | {"compose"} if "containers" in aspects else aspects


def wiped_by(aspects: frozenset[str]) -> frozenset[str]:
    """What converging `aspects` may undo: recreating a container loses what was changed
    inside it."""
    return aspects | {"inside"} if "containers" in aspects else aspects


def converge(lab: Lab, aspects: frozenset[str]) -> None:
    aspects = converged_with(aspects)
    if "file" in aspects:
        lab.ensure_db_env()
    if "compose" in aspects:
        lab.ensure_compose_files()
    if "server" in aspects:
        lab.ensure_db_account()
    if "inside" in aspects:
        lab.recreate_containers()
    elif "containers" in aspects:
        lab.ensure_containers()
    if "cron" in aspects:
        lab.ensure_cron_file()
    if "daemon" in aspects:
        lab.ensure_cron_daemon()
    if "api" in aspects:
        lab.ensure_api_server()
