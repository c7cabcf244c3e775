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
from ..parsers.cleanup_command import ContainerView
from ..parsers.cron_flavour import ignored_by_all
from ..parsers.crontab import Crontab, parse_crontab
from ..transport.api import ApiClient
from .cleanup_coverage import Coverage, cleanup_jobs, coverage
from .gc import GcFacts, gather_gc_facts
from .traffic import CounterReading, rate_since, read_counter
from ..errors import EnvFileError, FactUnavailable
from ..profile import Profile
from ..composefile import ComposeFileError, MediaDeclaration, media_declarations
from .media import MediaMount, media_mount
from ..transport.containers import ContainerFacts, DockerEngine
from .cron_commands import CronCommands, follow
from .host_cron import SYSTEM_CRONTAB, HostCron, read_host_cron
from .inside import InsideSnapshot, inside_argv, output_complete, parse_inside
from .media_probe import MediaProbeReport, run_media_probe
from ..transport.database import DatabaseSession, DbLogin, DbTls, ServerInfo, TableSize, TlsFailed
from ..transport.host import FileSnapshot, HostTransport
from ..transport.ssh import DOCKER_SOCKET, SshConnection, SshOptions
from .cached import fact, gathered_value, once
from .prefetch import Prefetch

ENGINES = ("MYSQL", "PGSQL")
TLS_VARIABLES = ("WA_DB_SSL_CA", "WA_DB_SSL_CERT", "WA_DB_SSL_KEY")


class DeploymentFacts:
    def __init__(self, profile: Profile, exact_counts: bool = False, ssh_options: SshOptions | None = None):
        self.profile = profile
        self.name = profile.name
        self.exact_counts = exact_counts
        self.ssh_options = ssh_options or SshOptions()
        self._prefetch: Prefetch | None = None

    # -- the host -----------------------------------------------------------------
    @property
    def remote(self) -> bool:
        return self.profile.target != "local"

    @fact
    def ssh(self) -> SshConnection:
        """The one SSH connection to an ssh:// target; its failure is every remote fact's."""
        connection = SshConnection(self.profile.target, self.ssh_options)
        connection.open()
        return connection

    @fact
    def host(self) -> HostTransport:
        return HostTransport(self.profile.target, self.ssh if self.remote else None)

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
        """The profile's docker_host, else the target's own engine: for an ssh:// target its
        socket, forwarded through the host's SSH connection (no second connection)."""
        named = self.profile.docker_host
        if named and named != self.profile.target:
            return DockerEngine(named)
        if self.remote:
            socket = self.ssh.forward_socket(DOCKER_SOCKET)
            return DockerEngine(f"unix://{socket}", shown_as=f"{self.profile.target} (through SSH)")
        return DockerEngine("unix:///var/run/docker.sock")

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

    def inside(self, container) -> InsideSnapshot:
        """One exec per container gathers everything the logs and cron sections read in it."""
        def gather():
            tls = self._tls_paths() if container is self._tls_container() else {}
            argv = inside_argv(self.profile.deployment.log_dir, container.role == "webapp", list(tls.values()))
            exit_code, output = self.docker.exec(container.name, argv)
            if not output_complete(output):
                # the engine can drop a short exec's output (moby#27289, docker-py#2042):
                # the script only reads, so read again, once
                exit_code, output = self.docker.exec(container.name, argv)
            return parse_inside(container.name, output)
        return once(self, f"_inside_{container.name}", gather)

    @fact
    def engine_containers(self) -> list[dict]:
        """Every container on the engine (any deployment): what a cron entry may name."""
        return self.docker.listing()

    @fact
    def destroyed_containers(self) -> dict[str, dict]:
        return self.docker.destroyed()

    # -- host cron --------------------------------------------------------------------------
    @fact
    def host_cron(self) -> HostCron:
        return read_host_cron(self.host, list(self.profile.cron.users or []), list(self.profile.cron.files or []))

    @fact
    def crontabs(self) -> list[tuple[Crontab, str | None]]:
        """Each readable crontab parsed as cron reads it, with why cron ignores it (None: it runs it)."""
        parsed = []
        for source in self.host_cron.sources:
            if source.state != "readable":
                continue
            ignored = None
            if source.in_cron_d or source.path == SYSTEM_CRONTAB:
                ignored = ignored_by_all(self.host_cron.daemons, source.path, source.mode, source.uid, source.links,
                                         source.in_cron_d)
            parsed.append((parse_crontab(source.content, source.path, source.system), ignored))
        return parsed

    @fact
    def cron_commands(self) -> list[CronCommands]:
        """Every entry of every readable crontab, with the scripts on the host it runs."""
        files = {f.path: f for f in self.host_cron.files}
        return [CronCommands(entry, ignored or crontab.ignored, follow(entry.command, files))
                for crontab, ignored in self.crontabs for entry in crontab.entries]

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

    @fact
    def gc_facts(self) -> GcFacts:
        """Everything the GC decisions read (table size, settings, traffic, API GC jobs)."""
        return gather_gc_facts(self)

    # -- the client's API ---------------------------------------------------------------------
    @fact
    def api(self) -> ApiClient:
        """Logged in once per audit (a ready token, or Basic credentials from the environment)."""
        settings = self.profile.api
        if not settings.url:
            raise FactUnavailable("no api.url in the profile", "api")
        if self.remote:
            self.ssh    # an unreachable host costs one connect timeout, not one per service
        client = ApiClient(settings.url, settings.verify_tls)
        token = os.environ.get(settings.token_env) if settings.token_env else None
        if token:
            client.use_token(token)
            return client
        user = os.environ.get(settings.username_env) if settings.username_env else None
        password = os.environ.get(settings.password_env) if settings.password_env else None
        if not (user and password):
            names = " and ".join(n for n in (settings.username_env, settings.password_env) if n) or "api.username_env/api.password_env"
            raise FactUnavailable(f"no API credentials: set {names} in the environment", "api")
        client.login_basic(user, password)
        return client

    @fact
    def application_settings(self) -> dict:
        """GET /v1/settings/application: its `application` object."""
        body = self.api.get_json("/v1/settings/application")
        try:
            return dict(body["settings"]["application"])
        except (KeyError, TypeError, ValueError):
            raise FactUnavailable("GET /v1/settings/application answered without settings.application", "api") from None

    @fact
    def first_counter_reading(self) -> CounterReading:
        """The API's request counter as early as possible: the audit's own work is the wait."""
        return read_counter(self.api)

    @fact
    def metrics_rps(self) -> float:
        """Current request rate from the API's own counter, between two readings at least
        MIN_WINDOW_SECONDS apart."""
        return rate_since(self.api, self.first_counter_reading)

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
        user = override.user or values.get("WA_DB_USERNAME")
        if not (host and port and user):
            raise FactUnavailable("db.env lacks a usable WA_DB_HOSTNAME, WA_DB_PORT or WA_DB_USERNAME", self.db_env.path)
        return DbLogin(engine, host, port, user, self.login_password or "")

    @property
    def db_password(self) -> str | None:
        """The client's own password (ENV-010): db.env's, or password_env's when the profile
        says db.env does not hold it."""
        database = self.profile.database
        if database.password_env and not database.user:
            return os.environ.get(database.password_env)
        return self.db_env.values.get("WA_DB_PASSWORD")

    @property
    def login_password(self) -> str | None:
        """What the audit logs in with: password_env's (the audit account's, with database.user)."""
        if self.profile.database.password_env:
            return os.environ.get(self.profile.database.password_env)
        return self.db_env.values.get("WA_DB_PASSWORD")

    def _tls_paths(self) -> dict[str, str]:
        """db.env's WA_DB_SSL_* that are set (paths inside the containers); MySQL only."""
        try:
            values = self.db_env.values
        except FactUnavailable:
            return {}
        if (values.get("WA_DB_ENGINE") or "").upper() != "MYSQL":
            return {}
        return {name: values[name] for name in TLS_VARIABLES if values.get(name)}

    def _tls_container(self):
        """The Coreapp whose files the client's TLS settings are read from (the first running)."""
        try:
            return next((c for c in self.containers if c.role == "coreapp" and c.running), None)
        except FactUnavailable:
            return None

    @fact
    def db_tls(self) -> DbTls | None:
        """TLS as the client connects with it: db.env's WA_DB_SSL_CA/_CERT/_KEY name files inside
        the containers (Meta's AWS template: /opt/certs/db-ca.pem), read in the Coreapp's one exec."""
        paths = self._tls_paths()
        if not paths:
            return None
        described = ", ".join(f"{name}={path}" for name, path in paths.items())
        coreapp = self._tls_container()
        if coreapp is None:
            raise FactUnavailable(f"db.env sets {described}, but no Coreapp container runs to read them in", "tls")
        files = self.inside(coreapp).tls_files
        contents = {}
        for name, path in paths.items():
            found = files.get(path, "missing")
            if isinstance(found, str):
                state = "does not exist" if found == "missing" else "cannot be read"
                raise TlsFailed(f"db.env's {name}={path} {state} in {coreapp.name}: the client cannot connect with "
                                "TLS either", path)
            contents[name] = found
        if ("WA_DB_SSL_CERT" in contents) != ("WA_DB_SSL_KEY" in contents):
            raise TlsFailed(f"db.env sets {described}: a client certificate needs both WA_DB_SSL_CERT and "
                            "WA_DB_SSL_KEY", "tls")
        return DbTls(contents.get("WA_DB_SSL_CA"), contents.get("WA_DB_SSL_CERT"), contents.get("WA_DB_SSL_KEY"),
                     described)

    @fact
    def db_session(self) -> DatabaseSession:
        """One session per audit: ENV-009 and GC-001 share its connection."""
        return DatabaseSession(self.db_login, self.db_tls)

    @fact
    def database_server(self) -> ServerInfo:
        return self.db_session.server_info()

    @fact
    def messages_table(self) -> TableSize:
        """The messages table: as the profile names it, else the one under WA_DB_NAME_PREFIX."""
        named = self.profile.database.messages_table
        if named:
            database, _, table = named.partition(".")
            found = self.db_session.table(database, table)
            if found is None:
                raise FactUnavailable(f"database.messages_table {named!r} does not exist on {self.db_login.url()}", named)
        else:
            prefix = self.db_env.values.get("WA_DB_NAME_PREFIX") or ""
            candidates = self.db_session.tables_named("messages", prefix)
            if not candidates:
                raise FactUnavailable(f"no table `messages` in the databases named {prefix or 'anything'}* on "
                                      f"{self.db_login.url()}: set database.messages_table in the profile", "messages")
            if len(candidates) > 1:
                names = ", ".join(c.name for c in candidates)
                raise FactUnavailable(f"several candidate messages tables ({names}): name the right one in the profile "
                                      f"key database.messages_table", "messages")
            found = candidates[0]
        if self.exact_counts:
            rows = self.db_session.exact_count(found.database, found.table)
            return TableSize(found.database, found.table, rows, "SELECT COUNT(*) (--exact-counts)")
        return found

    def start_gathering(self, prefetch: Prefetch, checks: set[str]) -> None:
        """Gather in the background what these checks (IDs) read: the round trips to the
        engine, containers, host, database and API overlap instead of adding up. A check that
        asks for a fact still being gathered waits for it; nothing is gathered twice, and
        nothing the selected checks do not read is gathered at all."""
        if self._prefetch is None:
            self._prefetch = prefetch
            prefetch.start(self._gathering_plan(checks))

    def _gathering_plan(self, checks: set[str]) -> list[list]:
        """Independent chains of facts, each in order in its own thread."""
        sections = {check.split("-")[0] for check in checks}
        wanted = lambda *names: bool(sections.intersection(names))   # noqa: E731
        chains = []
        if wanted("GC") and self.profile.api.url:
            api = [lambda: self.api, lambda: self.application_settings]
            if self.profile.traffic.peak_rps is None:
                api.insert(1, lambda: self.first_counter_reading)
            chains.append(api)
        if wanted("ENV", "GC"):
            chains.append([lambda: self.db_env]
                          + ([lambda: self.database_server] if wanted("ENV") else [])
                          + ([lambda: self.messages_table] if wanted("GC") else []))
        if wanted("CRON", "GC"):
            chains.append([lambda: self.host_cron])
        if wanted("VOL") and self.profile.deployment.compose_file:
            chains.append([lambda: self.compose_file])
        if wanted("ENV", "VOL", "LOG", "CRON"):
            chains.append([lambda: self.containers]
                          + ([self._gather_inside_containers] if wanted("LOG", "CRON") else [])
                          + ([lambda: self.engine_containers, lambda: self.destroyed_containers]
                             if wanted("CRON") else [])
                          + ([lambda: self.volume_options] if wanted("VOL") else []))
        if "VOL-004" in checks:
            chains.append([lambda: self.media_probe])
        return chains

    def _gather_inside_containers(self) -> None:
        for container in self.containers:
            if container.running:
                self._prefetch.submit(lambda c=container: self.inside(c))

    def close(self) -> None:
        """Close what the facts opened (database connections, the SSH connection); the
        background gathering must be over (Audit.close waits for it)."""
        session = gathered_value(self, "db_session")
        if session is not None:
            session.close()
        connection = gathered_value(self, "ssh")
        if connection is not None:
            connection.close()

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
        tls = gathered_value(self, "db_tls")
        if tls is not None and tls.key:          # the client's private key, line by line
            found.extend(line for line in tls.key.decode("ascii", "replace").splitlines()
                         if len(line) >= 16 and not line.startswith("-----"))
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
