"""Everything the checks read about one deployment, gathered lazily and once.

>>> facts = DeploymentFacts(load_profile("profiles/lab.yaml"))
>>> facts.db_env.values["WA_DB_ENGINE"]
'MYSQL'
"""

from __future__ import annotations

import os
import re

from ..errors import FactUnavailable
from ..profile import Profile
from ..transport.ssh import SshOptions
from .api import ApiFacts
from .cached import Prefetch, Shared, gathered_value, gathering_chains
from .cron import CronFacts
from .database import DatabaseFacts
from .engine import EngineFacts
from .gc import GarbageCollectionFacts
from .host_files import HostFacts
from .rotation import LogFacts
from .traffic import TrafficFacts


class DeploymentFacts(HostFacts, EngineFacts, DatabaseFacts, CronFacts, ApiFacts, TrafficFacts, LogFacts,
                      GarbageCollectionFacts):
    """One deployment on one host, as the checks read it: each concern's facts come from its
    module. In a deployment spread over hosts (facts/spread.py) each host has one, `label`led
    with the host's name, and `deployment_hosts` lists them all."""

    def __init__(self, profile: Profile, exact_counts: bool = False, ssh_options: SshOptions | None = None,
                 label: str = "", shared: Shared | None = None):
        self.profile = profile
        self.shared = shared or Shared()     # the run's: what deployments on one host read alike
        self.name = profile.name
        self.exact_counts = exact_counts
        self.ssh_options = ssh_options or SshOptions()
        self.label = label
        self.deployment_hosts = [self]       # every host of the deployment (GC-004 counts their jobs)

    @property
    def hosts(self) -> list["DeploymentFacts"]:
        """The hosts whose own facts (db.env, engine, cron) checks judge: this one."""
        return [self]

    def site_of(self, container) -> "DeploymentFacts":
        """The host a container runs on: this one."""
        return self

    @property
    def host_subject(self) -> str:
        """The subject of a result about the host itself: its name, else the deployment's."""
        return self.label or self.name

    def subject(self, name: str) -> str:
        """`name` as results show it: prefixed with the host in a deployment spread over hosts
        (`wa-b/biz_wacore_1`, `wa-b:/opt/whatsapp/db.env`)."""
        if not self.label:
            return name
        return f"{self.label}:{name}" if name.startswith("/") else f"{self.label}/{name}"

    def start_gathering(self, prefetch: Prefetch, reads) -> None:
        """The facts the selected checks read, in the background (see facts/cached.py)."""
        reads = list(reads)
        self.probes_ride_inside = "media_probe" in reads and "read_inside" in reads
        for chain in gathering_chains(reads):
            prefetch.submit(*(lambda name=name: self._gather(name, prefetch) for name in chain))

    def _gather(self, name: str, prefetch: Prefetch) -> None:
        if isinstance(getattr(type(self), name), property):
            getattr(self, name)              # a fact is gathered by reading it
        else:
            getattr(self, name)(prefetch)    # a step (@step) starts its own background work

    def close(self) -> None:
        """Close what the facts opened (database connections, the engine's client and relay,
        the SSH connection); the background gathering must be over (Audit.close waits for it)."""
        for opened in (gathered_value(self, "db_session"), gathered_value(self, "docker"), gathered_value(self, "ssh")):
            if opened is not None:
                opened.close()

    # -- secrets ------------------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Values that must never appear in any output: scrubbed from every result."""
        found = [os.environ.get(name) for name in self._secret_env_names()]
        try:
            found.append(self.db_env.values.get("WA_DB_PASSWORD"))
        except FactUnavailable:
            found.extend(_raw_passwords(self))
        tls = gathered_value(self, "db_tls")
        if tls is not None and tls.key:          # the client's private key, line by line
            found.extend(line for line in tls.key.decode("ascii", "replace").splitlines()
                         if len(line) >= 16 and not line.startswith("-----"))
        return [secret for secret in found if secret]

    def _secret_env_names(self):
        names = (self.profile.database.password_env, self.profile.api.username_env,
                 self.profile.api.password_env, self.profile.api.token_env)
        return [name for name in names if name]


def _raw_passwords(facts: DeploymentFacts) -> list[str]:
    # An unparsable db.env still holds the password: scrub what looks like it.
    try:
        content = facts.db_env_file.content or b""
    except FactUnavailable:
        return []
    text = content.decode("utf-8", "replace")
    return [m.group(1).strip().strip("'\"") for m in re.finditer(r"WA_DB_PASSWORD\s*=\s*(.+)", text)]
