"""One run of the audit: the hosts it covers, their facts, and the results they produced."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .facts.deployment import DeploymentFacts
from .model import Result, Severity
from .profile import Profile, available_profiles, load_profile, resolve_host


@dataclass
class Audit:
    profiles: dict[str, Profile]
    fail_on: Severity = Severity.LOW
    reports_dir: Path = Path("reports")
    exact_counts: bool = False
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    results: dict[str, list[Result]] = field(default_factory=dict)
    _facts: dict[str, DeploymentFacts] = field(default_factory=dict)

    @classmethod
    def from_options(cls, hosts: list[str], profiles_dir: str, fail_on: str,
                     reports_dir: str, exact_counts: bool) -> "Audit":
        try:
            threshold = Severity.parse(fail_on)
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
        names = available_profiles(profiles_dir) if hosts == ["@all"] else hosts
        if not names:
            raise UsageError(f"--host=@all: no profile in {profiles_dir}/")
        profiles: dict[str, Profile] = {}
        for name in names:
            profile = load_profile(resolve_host(name, profiles_dir))
            if profile.name in profiles:
                raise UsageError(f"host {profile.name!r} given twice (profiles {profiles[profile.name].path} and {profile.path})")
            profiles[profile.name] = profile
        return cls(profiles, threshold, Path(reports_dir), exact_counts)

    def facts(self, host: str) -> DeploymentFacts:
        """Gathered once per host per run, whichever checks ask."""
        if host not in self._facts:
            self._facts[host] = DeploymentFacts(self.profiles[host], self.exact_counts)
        return self._facts[host]

    def close(self) -> None:
        for facts in self._facts.values():
            facts.close()

    def all_facts(self) -> list[DeploymentFacts]:
        return [self.facts(host) for host in self.profiles]

    def record(self, results: list[Result]) -> None:
        for result in results:
            self.results.setdefault(result.host, []).append(result)
