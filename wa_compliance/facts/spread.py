"""A deployment spread over several hosts (profile `hosts:`), as the checks read it.

Each host has its own facts (a DeploymentFacts labelled with the host's name: its db.env, compose
file, Docker engine, containers, cron); the database, the API and the settings are the
deployment's, read once, through the first host whose db.env can be read; the containers, their
media mounts and VOL-004's round trip span every host. A host that cannot be reached is named
in `unreachable`, and its facts fail on their own: the other hosts are read in full.
"""

from __future__ import annotations

from ..errors import FactUnavailable
from ..profile import Profile
from ..transport.containers import ContainerFacts
from ..transport.ssh import SshOptions
from .cached import Prefetch, Shared, once
from .deployment import DeploymentFacts
from .media import MediaMount
from .media_probe import MediaProbeReport, plan_media_probe, run_media_probe

# Read once per deployment, through its primary host; every other fact is each host's own.
ONCE_PER_DEPLOYMENT = ("db_login", "db_password", "login_password", "db_tls", "db_session",
                       "database_server", "messages_table", "database_namespace", "db_server_key",
                       "api", "application_settings", "first_counter_reading", "metrics_rps",
                       "gc_facts", "prometheus", "host_utc_offset", "traffic_history", "off_peak")


class SpreadDeploymentFacts:
    def __init__(self, profile: Profile, exact_counts: bool = False,
                 ssh_options: SshOptions | None = None, shared: Shared | None = None):
        self.profile, self.name = profile, profile.name
        self.hosts = [DeploymentFacts(host_profile, exact_counts, ssh_options and ssh_options.for_host(label),
                                      label=label, shared=shared)
                      for label, host_profile in profile.host_profiles().items()]
        for host in self.hosts:
            host.deployment_hosts = self.hosts

    @property
    def primary(self) -> DeploymentFacts:
        """The host the deployment's database and API are reached through: the first whose
        db.env can be read (ENV-012 says whether the others agree with it)."""
        for host in self.hosts:
            try:
                host.db_env
                return host
            except FactUnavailable:
                continue
        return self.hosts[0]

    # -- what spans the hosts -------------------------------------------------------------
    def _listed(self) -> tuple[list[tuple[DeploymentFacts, list[ContainerFacts]]], dict[str, str]]:
        """(each host whose containers could be listed, with them; host name -> why not)."""
        found, failures = [], {}
        for host in self.hosts:
            try:
                found.append((host, host.containers))
            except FactUnavailable as exc:
                failures[host.label] = str(exc)
        return found, failures

    def reachable(self) -> list[tuple[DeploymentFacts, list[ContainerFacts]]]:
        return self._listed()[0]

    @property
    def unreachable(self) -> dict[str, str]:
        """Host name -> why its containers could not be listed (SSH or engine down)."""
        return self._listed()[1]

    @property
    def containers(self) -> list[ContainerFacts]:
        return [container for _, containers in self.reachable() for container in containers]

    def site_of(self, container: ContainerFacts) -> DeploymentFacts:
        return next(host for host in self.hosts if host.label == container.host)

    @property
    def media_mounts(self) -> dict[str, MediaMount | None]:
        return {container.subject: host.media_mounts[container.name]
                for host, containers in self.reachable() for container in containers}

    def inside(self, container: ContainerFacts):
        return self.site_of(container).inside(container)

    def webapp_rotation(self, container: ContainerFacts):
        return self.site_of(container).webapp_rotation(container)

    @property
    def media_probe(self) -> MediaProbeReport:
        """VOL-004 across hosts: every running container's probe read back by every other one."""
        def gather():
            running = {c.subject: (self.site_of(c), c.name) for c in self.containers if c.running}
            return run_media_probe(_Routed(running), plan_media_probe(
                list(running), self.profile.deployment.media_path, self.name))
        return once(self, "_media_probe", gather)

    # -- the run --------------------------------------------------------------------------
    def start_gathering(self, prefetch: Prefetch, reads) -> None:
        """Each host gathers its own facts; the first also the deployment's (a db.env it cannot
        read makes another host the primary: its facts are then gathered when read)."""
        reads = list(reads)
        own = [name for name in reads if name not in ONCE_PER_DEPLOYMENT and name != "media_probe"]
        for index, host in enumerate(self.hosts):
            host.start_gathering(prefetch, own if index else
                                 [name for name in reads if name != "media_probe"])
        if "media_probe" in reads:
            prefetch.submit(lambda: self._gather_probe())

    def _gather_probe(self) -> None:
        try:
            self.media_probe
        except FactUnavailable:
            pass                    # cached: VOL-004 reports it

    def close(self) -> None:
        for host in self.hosts:
            host.close()

    def secrets(self) -> list[str]:
        return sorted({secret for host in self.hosts for secret in host.secrets()})


def _deployment_fact(name: str) -> property:
    return property(lambda self: getattr(self.primary, name),
                    doc=f"The deployment's {name}, read through its primary host.")


for _name in ONCE_PER_DEPLOYMENT:
    setattr(SpreadDeploymentFacts, _name, _deployment_fact(_name))


class _Routed:
    """One engine interface over the hosts' engines: `exec(subject, argv)` runs in the
    container `subject` names (`wa-b/whatsapp_wacore_1`) on its own host's engine."""

    def __init__(self, routes: dict[str, tuple[DeploymentFacts, str]]):
        self.routes = routes

    def exec(self, subject: str, argv: list[str], whole=None):
        host, name = self.routes[subject]
        return host.docker.exec(name, argv, whole)
