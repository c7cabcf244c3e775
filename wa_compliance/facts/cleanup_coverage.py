"""Which cron entries run cleanup.sh in which of the deployment's containers, and which are stale.

Source ("Recommandation de script de nettoyage"): run `docker exec <container>
/opt/whatsapp/bin/cleanup.sh` periodically (daily) on all Webapp, Coreapp and Master containers,
from a cron job on the host, off-peak.

An entry names a container by name, full ID, ID prefix, or loops over a `docker ps` whose
filter selects containers. Containers are recreated at every upgrade, so an ID written into a
crontab goes stale: such an entry silently cleans nothing. The engine's recent `destroy`
events tell which container a stale ID belonged to (Compose renames a container to
`<short id>_<name>` before removing it); when they no longer hold it, the containers of the
deployment that nothing covers are the likely ones.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ..parsers.cleanup_command import (CleanupCall, CommandParseError, ContainerView, cleanup_calls, covered,
                                       looks_like_container_id)
from ..parsers.crontab import CronEntry
from .cron_commands import CronCommands

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"


@dataclass(frozen=True)
class CleanupJob:
    """One way one cron entry runs cleanup.sh."""

    entry: CronEntry
    call: CleanupCall
    ignored: str | None = None      # why cron never runs the file holding it
    via: tuple[str, ...] = ()       # the scripts it is in ("path:line"), outermost first

    @property
    def entry_where(self) -> str:
        return f"{self.entry.source}:{self.entry.line}"

    @property
    def where(self) -> str:
        """The entry, then each script line down to the call: "/etc/cron.d/wa:3 → /usr/local/bin/x.sh:4"."""
        return " → ".join((self.entry_where, *self.via))


@dataclass(frozen=True)
class StaleTarget:
    job: CleanupJob
    target: str
    likely: tuple[str, ...]          # containers of this deployment it most likely meant
    evidence: str                    # how `likely` was found

    def describe(self) -> str:
        kind = "ID" if looks_like_container_id(self.target) else "name"
        text = f"{self.job.where} names container {kind} {self.target}, which no longer exists (stale)"
        if len(self.likely) == 1:
            return f"{text}; it most likely meant {self.likely[0]} ({self.evidence})"
        if self.likely:
            return f"{text}; it most likely meant one of {', '.join(self.likely)} ({self.evidence})"
        return text


@dataclass
class Coverage:
    jobs: dict[str, list[CleanupJob]] = field(default_factory=dict)       # container -> jobs cron runs
    ignored: dict[str, list[CleanupJob]] = field(default_factory=dict)    # container -> jobs in files cron skips
    stale: list[StaleTarget] = field(default_factory=list)

    def relevant_jobs(self) -> list[CleanupJob]:
        """Entries that clean this deployment (or meant to), one job each: those CRON-003/004
        judge (the schedule is the entry's, whatever script the call is in)."""
        seen, jobs = set(), []
        for job in [j for js in self.jobs.values() for j in js] + [s.job for s in self.stale]:
            if job.entry_where not in seen and not job.ignored:
                seen.add(job.entry_where)
                jobs.append(job)
        return sorted(jobs, key=lambda j: (j.entry.source, j.entry.line))


def cleanup_jobs(entries: list[CronCommands]) -> list[CleanupJob]:
    """Every cleanup.sh call the cron entries make, in their command or in the scripts they run."""
    jobs = []
    for entry in entries:
        for body in entry.runs.bodies:
            if "cleanup.sh" not in body.text:      # cheap pre-filter; the parser decides
                continue
            try:
                calls = cleanup_calls(body.text)
            except CommandParseError:
                continue                       # sh would not run it either
            jobs.extend(CleanupJob(entry.entry, call, entry.ignored, body.located(call.text)) for call in calls)
    return jobs


def coverage(jobs: list[CleanupJob], deployment: list[ContainerView], engine: list[ContainerView],
             destroyed: dict[str, dict]) -> Coverage:
    """What the jobs clean among the deployment's containers, and which of their targets are stale.

    Targets resolve against the whole engine, as docker does (an ID prefix must be unique there);
    the deployment's containers count as running, since a loop over `docker ps` will list them
    once they run again."""
    result = Coverage()
    mine = {c.name: c for c in deployment}
    listed = {c.name for c in engine}
    engine = [mine.get(c.name, c) for c in engine] + [c for c in deployment if c.name not in listed]
    for job in jobs:
        book = result.ignored if job.ignored else result.jobs
        for container in covered(job.call, engine):
            if container.name in mine:
                book.setdefault(container.name, []).append(job)
    uncovered = [c.name for c in deployment if c.name not in result.jobs]
    for job in jobs:
        target = job.call.target
        if job.ignored or target is None or covered(job.call, engine):
            continue
        likely, evidence, ours = _likely(target, destroyed, deployment, uncovered)
        same_file = any(j.entry.source == job.entry.source for js in result.jobs.values() for j in js)
        if ours or (ours is None and (same_file or uncovered)):
            result.stale.append(StaleTarget(job, target, tuple(n for n in likely if n in mine), evidence))
    return result


def _likely(target: str, destroyed: dict[str, dict], deployment: list[ContainerView],
            uncovered: list[str]) -> tuple[list[str], str, bool | None]:
    """Containers `target` most likely meant, how we know, and whether it was this deployment's
    (None: unknown)."""
    attributes = _destroyed(target, destroyed)
    if attributes is not None:
        name = re.sub(r"^[0-9a-f]{12}_", "", attributes.get("name", ""))
        same = [c.name for c in deployment if c.name == name or _same_compose_slot(c, attributes)]
        if same:
            return same, f"the engine removed {name or target} and recreated it as {same[0]}", True
        if attributes.get(PROJECT) and deployment and attributes.get(PROJECT) not in {c.labels.get(PROJECT) for c in deployment}:
            return [], "", False
    if not looks_like_container_id(target):
        close = difflib.get_close_matches(target, uncovered, n=1, cutoff=0.6)
        if close:
            return close, "closest name among the containers no entry covers", None
    return uncovered, "the containers no entry covers", None


def _destroyed(target: str, destroyed: dict[str, dict]) -> dict | None:
    for container_id, attributes in destroyed.items():
        name = re.sub(r"^[0-9a-f]{12}_", "", attributes.get("name", ""))
        if target in (container_id, name) or looks_like_container_id(target) and container_id.startswith(target):
            return attributes
    return None


def _same_compose_slot(container: ContainerView, attributes: dict) -> bool:
    keys = (PROJECT, SERVICE, NUMBER)
    return all(attributes.get(k) for k in keys) and all(container.labels.get(k) == attributes.get(k) for k in keys)
