"""Everything the checks read about one deployment, gathered lazily and once.

>>> facts = DeploymentFacts(load_profile("profiles/lab.yaml"))
>>> facts.db_env.values["WA_DB_ENGINE"]
'MYSQL'
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ..envfile import EnvFile, parse_env_file
from ..errors import EnvFileError, FactUnavailable
from ..profile import Profile
from ..composefile import ComposeFileError, MediaDeclaration, media_declarations
from ..rules.volumes import MediaMount, media_mount
from ..transport.containers import ContainerFacts, DockerEngine
from .media_probe import MediaProbeReport, run_media_probe
from ..transport.database import DbLogin, ServerInfo, probe_server
from ..transport.host import FileSnapshot, HostTransport
from .cached import fact

ENGINES = ("MYSQL", "PGSQL")


class DeploymentFacts:
    def __init__(self, profile: Profile):
        self.profile = profile
        self.name = profile.name

    # -- the host -----------------------------------------------------------------
    @fact
    def host(self) -> HostTransport:
        return HostTransport(self.profile.target)

    @fact
    def db_env_file(self) -> FileSnapshot:
        return self.host.read_file(self.profile.deployment.db_env)

    @fact
    def db_env(self) -> EnvFile:
        """The parsed db.env; checks that need it are `error` when it is absent or broken."""
        snapshot, path = self.db_env_file, self.profile.deployment.db_env
        if not snapshot.exists:
            raise FactUnavailable(f"db.env not found at {path} on {self.profile.target}", path)
        if snapshot.is_directory or not snapshot.readable:
            raise FactUnavailable(f"db.env at {path} is not a readable file", path)
        try:
            return parse_env_file(snapshot.content, path)
        except EnvFileError as exc:
            raise FactUnavailable(f"db.env does not parse: {exc}", path) from None

    # -- the Docker engine ----------------------------------------------------------
    @fact
    def docker(self) -> DockerEngine:
        return DockerEngine(self.docker_url)

    @property
    def docker_url(self) -> str:
        if self.profile.docker_host:
            return self.profile.docker_host
        if self.profile.target == "local":
            return "unix:///var/run/docker.sock"
        return self.profile.target            # ssh://user@host[:port]: the engine on that host

    @fact
    def containers(self) -> list[ContainerFacts]:
        declared = self.profile.deployment.containers
        roles = None
        if declared is not None:
            roles = {"webapp": declared.webapp or [], "coreapp": declared.coreapp or [],
                     "master": declared.master or []}
        return self.docker.wa_containers(self.profile.deployment.compose_project, roles)

    @fact
    def media_mounts(self) -> dict[str, MediaMount | None]:
        """Each container's mount at the media path (None: it has none)."""
        media_path = self.profile.deployment.media_path
        return {c.name: media_mount(c.mounts, media_path) for c in self.containers}

    @fact
    def volume_options(self) -> dict[str, dict]:
        """`docker volume inspect` options of each named volume mounted at the media path."""
        names = {m.source for m in self.media_mounts.values() if m and m.kind == "volume"}
        return {name: self.docker.volume(name).get("Options") or {} for name in sorted(names)}

    @fact
    def media_probe(self) -> MediaProbeReport:
        """The live round trip (VOL-004); the only thing an audit ever writes."""
        running = [c.name for c in self.containers if c.running]
        return run_media_probe(self.docker, running, self.profile.deployment.media_path, self.name)

    # -- the compose file ---------------------------------------------------------------
    @fact
    def compose_file(self) -> FileSnapshot:
        return self.host.read_file(self.profile.deployment.compose_file)

    @fact
    def compose_media(self) -> list[MediaDeclaration]:
        snapshot, path = self.compose_file, self.profile.deployment.compose_file
        if not snapshot.exists or not snapshot.readable:
            raise FactUnavailable(f"compose file {path} is {'not readable' if snapshot.exists else 'missing'} on {self.profile.target}", path)
        try:
            return media_declarations(snapshot.content.decode("utf-8", "replace"), path,
                                      self.profile.deployment.media_path)
        except ComposeFileError as exc:
            raise FactUnavailable(f"compose file does not parse: {exc}", path) from None

    # -- the database -----------------------------------------------------------------
    @fact
    def db_login(self) -> DbLogin:
        """db.env's credentials, reached as the profile's `database` override says."""
        values, override = self.db_env.values, self.profile.database
        engine = (values.get("WA_DB_ENGINE") or "").upper()
        if engine not in ENGINES:
            raise FactUnavailable(f"WA_DB_ENGINE {values.get('WA_DB_ENGINE')!r} is not one of MYSQL, PGSQL", self.db_env.path)
        port = override.port or _port(values.get("WA_DB_PORT"))
        host = override.host or values.get("WA_DB_HOSTNAME")
        user = values.get("WA_DB_USERNAME")
        if not (host and port and user):
            raise FactUnavailable("db.env lacks a usable WA_DB_HOSTNAME, WA_DB_PORT or WA_DB_USERNAME", self.db_env.path)
        return DbLogin(engine, host, port, user, self.db_password or "")

    @property
    def db_password(self) -> str | None:
        if self.profile.database.password_env:
            return os.environ.get(self.profile.database.password_env)
        return self.db_env.values.get("WA_DB_PASSWORD")

    @fact
    def database_server(self) -> ServerInfo:
        return probe_server(self.db_login)

    @property
    def db_server_key(self) -> tuple:
        """Which database server this is, as comparable across hosts of one run.

        Loopback addresses and single-label names (Compose's `db`) only mean
        something on their own machine, so they are qualified by the target.
        """
        login = self.db_login
        address = login.host.lower()
        local = address in ("localhost", "::1") or address.startswith("127.") or "." not in address and ":" not in address
        machine = (urlsplit(self.profile.target).hostname or "local") if local else ""
        return (login.engine, machine, address, login.port)

    # -- secrets ------------------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Values that must never appear in any output: scrubbed from every result."""
        found = [os.environ.get(name) for name in self._secret_env_names()]
        try:
            found.append(self.db_env.values.get("WA_DB_PASSWORD"))
        except FactUnavailable:
            found.extend(_raw_passwords(self))
        return [secret for secret in found if secret]

    def _secret_env_names(self):
        names = (self.profile.database.password_env, self.profile.api.username_env,
                 self.profile.api.password_env, self.profile.api.token_env)
        return [name for name in names if name]


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) < 65536 else None


def _raw_passwords(facts: DeploymentFacts) -> list[str]:
    # An unparsable db.env still holds the password: scrub what looks like it.
    try:
        content = facts.db_env_file.content or b""
    except FactUnavailable:
        return []
    text = content.decode("utf-8", "replace")
    return [m.group(1).strip().strip("'\"") for m in re.finditer(r"WA_DB_PASSWORD\s*=\s*(.+)", text)]
