"""One run of the audit: the hosts it covers, their facts, and the results they produced."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .facts.cached import Prefetch, Shared
from .facts.deployment import DeploymentFacts
from .facts.spread import SpreadDeploymentFacts
from .inventory_hosts import inventory_profiles
from .model import Result, Severity
from .outputs.baseline import Baseline
from .parsers.version import ClientVersion
from .profile import NOT_IN_ALL, Profile, fleet_profiles, load_profile, resolve_host
from .transport.ssh import SshOptions

LOG = logging.getLogger(__name__)

# Deployments whose facts are read at once: each holds its SSH connection, database session and
# API login from its first check to its last. Enough to keep this many engines busy, far below
# a database server's connection limit (PostgreSQL: 100) and sshd's MaxStartups (10:30:100).
DEFAULT_CONCURRENCY = 16


@dataclass
class Audit:
    profiles: dict[str, Profile]
    fail_on: Severity = Severity.LOW
    reports_dir: Path = Path("reports")
    exact_counts: bool = False
    metrics_file: Path | None = None      # --metrics-file
    plan_file: Path | None = None         # --plan
    baseline: Baseline = field(default_factory=Baseline)   # --baseline, per host
    ssh_options: dict[str, SshOptions] = field(default_factory=dict)   # per host; default: none
    upgrade_to: ClientVersion | None = None   # --upgrade-to: the version an upgrade gate is for
    upgrade_checks: set[str] = field(default_factory=set)   # the † checks that ran (GO/NO-GO)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    results: dict[str, list[Result]] = field(default_factory=dict)
    concurrency: int = DEFAULT_CONCURRENCY   # --concurrency: deployments read at once
    _facts: dict[str, DeploymentFacts | SpreadDeploymentFacts] = field(default_factory=dict)
    _prefetch: Prefetch = field(default_factory=Prefetch)
    _groups: dict[str, Prefetch] = field(default_factory=dict)     # each deployment's background steps
    _shared: Shared = field(default_factory=Shared)   # what deployments on one host or engine read alike
    _finished: set[str] = field(default_factory=set)

    @classmethod
    def from_options(cls, hosts: list[str], profiles_dir: str, fail_on: str,
                     reports_dir: str, exact_counts: bool, metrics_file: str | None = None,
                     plan_file: str | None = None, baselines: list[str] | tuple[str, ...] = (),
                     ssh: SshOptions = SshOptions(), inventory: str | None = None,
                     limit: str | None = None, upgrade_to: str | None = None,
                     shard: str | None = None, concurrency: str | int = DEFAULT_CONCURRENCY) -> "Audit":
        try:
            threshold = Severity.parse(fail_on)
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
        at_once = str(concurrency)
        if not at_once.isdigit() or int(at_once) < 1:
            raise UsageError(f"--concurrency={concurrency}: expected a number of deployments, 1 or more")
        try:
            target = ClientVersion.parse(upgrade_to) if upgrade_to is not None else None
        except ValueError as exc:
            raise UsageError(f"--upgrade-to: {exc}") from None
        names = fleet_profiles(profiles_dir) if hosts == ["@all"] else hosts
        if hosts == ["@all"] and not names:
            raise UsageError(f"--host=@all: no profile in {profiles_dir}/ (those whose first line is "
                             f"'{NOT_IN_ALL}', the lab's, are left out)")
        if limit and not inventory:
            raise UsageError("--limit selects hosts of an --inventory: give one")
        chosen = [(load_profile(resolve_host(name, profiles_dir)), ssh) for name in names]
        if inventory:
            chosen += inventory_profiles(inventory, profiles_dir, limit, ssh)
        profiles: dict[str, Profile] = {}
        ssh_options: dict[str, SshOptions] = {}
        for profile, options in chosen:
            if profile.name in profiles:
                raise UsageError(f"host {profile.name!r} given twice (profiles {profiles[profile.name].path} and {profile.path})")
            profiles[profile.name], ssh_options[profile.name] = profile, options
        if shard:
            profiles = {name: profiles[name] for name in in_shard(sorted(profiles), shard)}
            ssh_options = {name: ssh_options[name] for name in profiles}
        outputs = {"--metrics-file": output_path("--metrics-file", metrics_file),
                   "--plan": output_path("--plan", plan_file)}
        if outputs["--metrics-file"] and outputs["--metrics-file"] == outputs["--plan"]:
            raise UsageError(f"--metrics-file and --plan name the same file ({metrics_file})")
        baseline = Baseline.load(baselines, profiles)
        return cls(profiles, threshold, Path(reports_dir), exact_counts,
                   outputs["--metrics-file"], outputs["--plan"], baseline, ssh_options, target,
                   concurrency=int(at_once))

    def facts(self, host: str) -> DeploymentFacts:
        """Gathered once per host per run, whichever checks ask."""
        if host not in self._facts:
            profile = self.profiles[host]
            kind = SpreadDeploymentFacts if profile.hosts else DeploymentFacts
            self._facts[host] = kind(profile, self.exact_counts, self.ssh_options.get(host), shared=self._shared)
        return self._facts[host]

    def start_gathering(self, reads_by_host: dict[str, list[str]]) -> None:
        """These hosts' facts the selected checks read, gathered in the background at once."""
        for host, reads in reads_by_host.items():
            group = self._groups.setdefault(host, self._prefetch.group())
            self.facts(host).start_gathering(group, reads)
            LOG.debug("deployment %s: reading (%d open)", host, self.open_count)

    def has_started(self, host: str) -> bool:
        return host in self._groups

    @property
    def open_count(self) -> int:
        """Deployments started and not finished yet."""
        return len(self._groups) - len(self._finished)

    def finish(self, host: str) -> None:
        """A deployment whose checks have all run: its background work ends (VOL-004's probe may
        still be being removed), then its connections (SSH, database session) are closed."""
        if host in self._groups:
            self._groups[host].wait()
        if host in self._facts and host not in self._finished:
            self._finished.add(host)
            self._facts[host].close()
            LOG.debug("deployment %s: closed (%d open)", host, self.open_count)

    def close(self) -> None:
        for host in list(self._facts):
            self.finish(host)
        self._prefetch.close()

    def all_facts(self) -> list[DeploymentFacts]:
        return [self.facts(host) for host in self.profiles]

    def record(self, results: list[Result]) -> None:
        for result in results:
            self.results.setdefault(result.host, []).append(result)


def in_shard(names: list[str], shard: str) -> list[str]:
    """`--shard=I/N`: the I-th of N shares of the deployments, dealt by name in sorted order, so
    every machine of a CI matrix or a cron fleet computes the same split.

    >>> in_shard(["a", "b", "c", "d", "e"], "2/2")
    ['b', 'd']
    """
    try:
        index, count = (int(part) for part in shard.split("/"))
    except ValueError:
        raise UsageError(f"--shard={shard}: expected I/N, e.g. 1/4") from None
    if not 1 <= index <= count:
        raise UsageError(f"--shard={shard}: I must be between 1 and N")
    return [name for position, name in enumerate(names) if position % count == index - 1]


def output_path(option: str, value: str | None) -> Path | None:
    """A file the run will write at its end: its folder must exist now, so that a typo stops
    the run at once (exit code 4) rather than after the audit."""
    if not value:
        return None
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{option}={value}: is a directory; name a file")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{option}={value}: folder {folder} does not exist")
    return path
