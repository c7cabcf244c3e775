"""Facts of the host's cron: the crontabs as the running daemon reads them, what each entry runs,
and which of the deployment's containers the cleanup entries reach."""

from __future__ import annotations

from ..errors import FactUnavailable
from ..parsers.cleanup_command import ContainerView
from ..parsers.cron_flavour import ignored_by_all
from ..parsers.crontab import Crontab, parse_crontab
from .cached import fact
from .cleanup_coverage import Coverage, cleanup_jobs, coverage
from .cron_commands import CronCommands, follow
from .host_cron import SYSTEM_CRONTAB, HostCron, read_host_cron


class CronFacts:
    def _on_this_host(self, name: str, gather):
        """Read (and parsed) once per host and run: deployments on the same host (target, SSH
        options and the crontabs their profiles add) share it."""
        key = (name, self.profile.target, repr(self.ssh_options), tuple(self.profile.cron.users or []),
               tuple(self.profile.cron.files or []))
        return self.shared.get(key, gather)

    @fact
    def host_cron(self) -> HostCron:
        return self._on_this_host("host_cron", lambda: read_host_cron(
            self.host, list(self.profile.cron.users or []), list(self.profile.cron.files or [])))

    @fact
    def crontabs(self) -> list[tuple[Crontab, str | None]]:
        """Each readable crontab parsed as cron reads it, with why cron ignores it (None: it runs it)."""
        def parse():
            parsed = []
            for source in self.host_cron.sources:
                if source.state != "readable":
                    continue
                ignored = None
                if source.in_cron_d or source.path == SYSTEM_CRONTAB:
                    ignored = ignored_by_all(self.host_cron.daemons, source.path, source.mode, source.uid,
                                             source.links, source.in_cron_d)
                parsed.append((parse_crontab(source.content, source.path, source.system), ignored))
            return parsed
        return self._on_this_host("crontabs", parse)

    @fact
    def cron_commands(self) -> list[CronCommands]:
        """Every entry of every readable crontab, with the scripts on the host it runs."""
        def follow_all():
            files = {f.path: f for f in self.host_cron.files}
            return [CronCommands(entry, ignored or crontab.ignored, follow(entry.command, files))
                    for crontab, ignored in self.crontabs for entry in crontab.entries]
        return self._on_this_host("cron_commands", follow_all)

    @fact
    def cleanup_coverage(self) -> Coverage:
        """Which cron entries run cleanup.sh in which of the deployment's containers, and which
        name containers that no longer exist."""
        # the image as `docker ps` shows it is what its ancestor= filter matches against
        listed = {c["id"]: c["image"] for c in self.engine_containers}
        views = [ContainerView(c.name, c.id, listed.get(c.id, c.image), c.labels, "running") for c in self.containers]
        engine = [ContainerView(c["name"], c["id"], c["image"], c["labels"], c["status"]) for c in self.engine_containers]
        try:
            destroyed = self.destroyed_containers
        except FactUnavailable:
            destroyed = {}                 # only sharpens "most likely meant"; never blocks the check
        return coverage(cleanup_jobs(self.cron_commands), views, engine, destroyed)
