"""`Lab`: one lab deployment of the WhatsApp Business API client (lab/README.md).

A deployment is a directory `<root>/<project>/` holding Meta's compose file (unmodified), a
`db.env`, and the lab's own `.lab/` state; a real account and database on the host's MariaDB
or PostgreSQL; the containers Compose creates from the stand-in images; and the host cron
file `<cron_dir>/wa-lab-<project>` running their cleanup (R-CRON), read by the host's cron
daemon; and a stand-in of the client's REST API on 127.0.0.1 (lab/api.py, R-GC). Their media
storage is Meta's named volume, or (media="bind") the folder `<root>/<project>/media`.

Everything here converges: `up()` brings each piece to its compliant state whatever it was,
so it is idempotent, also repairs, and ends every deviation.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab import cron, dbenv, deviations, hosts, ports, profiles, registry
from lab.api import USER_ENV, password_env, USERNAME, ApiConfig, ApiServer
from lab.commands import run
from lab.compose import OVERRIDE_FILE, ComposeProject, media_entry, render_override
from lab.database import server_for
from lab.deviations.targets import affected_container, affected_webapp
from lab.errors import LabError
from lab.images import ensure_images, prune_stale_images
from lab.locking import deployment_lock
from lab.prometheus import LabPrometheus
from lab.seed import ensure_messages
from lab.state import DeploymentState
from lab.topology import (DB_ENGINE_NAMES, DB_PORTS, ENGINES, MEDIA_KINDS, MEDIA_VOLUME, ROLES,
                          SERVICE_ROLES, TOPOLOGIES, compose_source, services)

DEFAULT_ROOT = "/srv/wa-lab"
DEFAULT_VERSION = "2.53.1"
DB_HOSTNAME = "db"                  # the containers' name for the database, as in Meta's files
IDLE_TIMEOUT_MS = "180000"          # Meta's db.env value (MySQL only)
# Lowercase letters and digits: Compose v1 would silently rewrite anything else in a project
# name, and no project's "<project>_" prefix can then start another project's prefix.
_PROJECT = re.compile(r"^[a-z][a-z0-9]{0,29}$")
_VERSION = re.compile(r"^\d+(\.\d+)*$")


class Lab:
    def __init__(self, project: str = "biz", topology: str = "single", engine: str = "mysql",
                 root: str | Path = DEFAULT_ROOT, version: str = DEFAULT_VERSION,
                 media: str = "volume", cron_dir: str | Path = cron.CRON_DIR,
                 api_port: int | None = None):
        if not _PROJECT.match(project):
            raise LabError(f"project {project!r}: use 1-30 lowercase letters and digits, "
                           "starting with a letter")
        if topology not in TOPOLOGIES:
            raise LabError(f"topology {topology!r}: choose one of {', '.join(TOPOLOGIES)}")
        if engine not in ENGINES:
            raise LabError(f"engine {engine!r}: choose one of {', '.join(ENGINES)}")
        if not _VERSION.match(version):
            raise LabError(f"version {version!r}: expected digits and dots, e.g. 2.53.1")
        if media not in MEDIA_KINDS:
            raise LabError(f"media {media!r}: choose one of {', '.join(MEDIA_KINDS)}")
        self.project, self.topology, self.engine, self.version = project, topology, engine, version
        self.media = media
        self.root = Path(root)
        self.cron_dir = Path(cron_dir)   # where the cron file goes; Debian's cron reads /etc/cron.d
        self.state = DeploymentState(self.dir)
        # The API's port: given, else the fixed one of a deployment of profiles/lab*.yaml,
        # else the one picked at the first `up` (recorded in the settings).
        self._api_port = (api_port or profiles.fixed_api_port(project)
                          or (self.state.settings() or {}).get("api_port"))
        self.server = server_for(engine)
        self.compose = ComposeProject(self.dir, project, self.compose_file.name, version)

    @classmethod
    def open(cls, project: str = "biz", root: str | Path = DEFAULT_ROOT) -> Lab:
        """The deployment `project` as it was brought up (topology, engine, version, media,
        cron directory, API port)."""
        settings = DeploymentState(Path(root) / project).settings()
        if settings is None:
            raise LabError(f"no lab deployment {project!r} under {root} "
                           f"(run: python -m lab up --project {project})")
        return cls(project=project, root=root, **settings)

    def __repr__(self) -> str:
        return (f"Lab(project={self.project!r}, topology={self.topology!r}, "
                f"engine={self.engine!r}, root={str(self.root)!r}, version={self.version!r}, "
                f"media={self.media!r}, cron_dir={str(self.cron_dir)!r}, "
                f"api_port={self._api_port!r})")

    # --- where things are, and what they are called ---------------------------------------
    @property
    def dir(self) -> Path:
        return self.root / self.project

    @property
    def db_env_path(self) -> Path:
        return self.dir / "db.env"

    @property
    def compose_file(self) -> Path:
        """Meta's compose file in the deployment directory (same file name as Meta's)."""
        return self.dir / compose_source(self.topology, self.engine).name

    @property
    def services(self) -> list[str]:
        return services(self.topology)

    def container_name(self, service: str) -> str:
        """The name Compose v1 gives `service`'s container, e.g. biz_wacore_1."""
        return f"{self.project}_{service}_1"

    def affected_webapp(self) -> str:
        """The Webapp container log.* and cron.* deviations change (waweb)."""
        return affected_webapp(self)

    def affected_coreapp(self) -> str:
        """The Coreapp container vol.*, log.* and cron.* deviations change: the first that is
        not a Master (wacore, or wacore1 in Multiconnect)."""
        return affected_container(self)

    @property
    def prometheus_dir(self) -> Path:
        """Where `python -m lab prometheus up` keeps the deployment's Prometheus (lab/prometheus.py)."""
        return self.state.path / "prometheus"

    @property
    def deviation_compose_dir(self) -> Path:
        """Where media deviations put the Compose inputs they run one service from."""
        return self.state.path / "compose"

    # --- media storage (R-VOL) ------------------------------------------------------------------
    @property
    def media_volume(self) -> str:
        """The named volume Compose makes of Meta's `whatsappMedia` (unused with bind media)."""
        return f"{self.project}_{MEDIA_VOLUME}"

    @property
    def media_folder(self) -> Path:
        """The host folder every container bind-mounts with media="bind" (absolute: Compose
        would take a relative path for a volume name)."""
        return self.dir.absolute() / "media"

    def media_entries(self) -> dict[str, str]:
        """The override's media entry per service: none with Meta's volume; the bind folder
        on every service with bind media."""
        if self.media == "volume":
            return {}
        return {service: media_entry(str(self.media_folder)) for service in self.services}

    def media_source(self) -> Path:
        """The host path holding the media: the named volume's mountpoint, or the bind folder
        (for tests to list what is in the shared storage)."""
        if self.media == "bind":
            return self.media_folder
        result = run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}",
                      self.media_volume], timeout=30)
        return Path(result.stdout.strip())

    # --- host cron (R-CRON) ----------------------------------------------------------------------
    @property
    def cron_file(self) -> Path:
        return self.cron_dir / cron.file_name(self.project)

    def cleanup_containers(self) -> list[str]:
        """The containers the cron file runs cleanup.sh in: every one, in service order."""
        return [self.container_name(service) for service in self.services]

    def cron_text(self) -> str:
        """The compliant cron file: one daily off-peak line per container."""
        return cron.render(self.project, [cron.exec_line(name)
                                          for name in self.cleanup_containers()])

    @property
    def gc_cron_file(self) -> Path:
        """The second cron file, holding the host jobs gc.api_job_* add (none when compliant)."""
        return self.cron_dir / f"{cron.file_name(self.project)}-gc"

    @property
    def scripts_dir(self) -> Path:
        """Where the scripts cron.via_script* and gc.api_job_script make cron run live."""
        return self.state.path / "bin"

    @property
    def api_token_file(self) -> Path:
        """The Bearer token those jobs send (0600), as an operator's job keeps one."""
        return self.state.path / "api-token"

    @property
    def stale_id_record(self) -> Path:
        """Where cron.stale_* deviations record the container ID they made stale."""
        return self.state.path / "stale_container_id"

    def stale_container_id(self) -> str | None:
        """The ID the cron file names but no container has any more (cron.stale_* on)."""
        try:
            return self.stale_id_record.read_text().strip()
        except FileNotFoundError:
            return None

    # --- the client's REST API (R-GC, lab/api.py) -------------------------------------------
    @property
    def api_server(self) -> ApiServer:
        return ApiServer(self.state.path, self._api_port, self.version, self.affected_webapp())

    @property
    def api_url(self) -> str:
        """https://127.0.0.1:<port>: the stand-in's self-signed certificate names 127.0.0.1."""
        return self.api_server.url

    @property
    def api_username(self) -> str:
        return USERNAME

    @property
    def api_password(self) -> str:
        password = self.api_server.password()
        if password is None:
            raise LabError(f"lab deployment {self.project!r} has no API password yet "
                           "(run up first)")
        return password

    def api_env(self) -> dict[str, str]:
        """The environment the lab profiles' `api.username_env`/`password_env` name."""
        return {USER_ENV: self.api_username, password_env(self.project): self.api_password}

    def api_config(self) -> ApiConfig:
        return self.api_server.config()

    def configure_api(self, **changes) -> ApiConfig:
        """Change what the stand-in answers, e.g. `configure_api(rps=150)`; it restarts with
        it. Not a deviation: `up` and any restore of an API deviation make it compliant again."""
        with self._lock():
            return self.api_server.update(**changes)

    def api_requests(self) -> list[dict]:
        """Every request the stand-in received since the last clear: time, method, path,
        status, auth scheme (never a credential)."""
        return self.api_server.requests()

    def clear_api_requests(self) -> None:
        self.api_server.clear_requests()

    @property
    def db_user(self) -> str:
        return f"{self.project}_wa"

    @property
    def db_name_prefix(self) -> str:
        return f"{self.project}_"

    @property
    def db_name(self) -> str:
        """The database the lab creates; the client names its databases `<prefix>waent...`."""
        return f"{self.db_name_prefix}waent"

    @property
    def db_host(self) -> str:
        return "127.0.0.1"          # how the auditor (and these tests) reach the server

    @property
    def db_port(self) -> int:
        return DB_PORTS[self.engine]

    @property
    def db_password(self) -> str:
        """The deployment's compliant password (the secret in db.env)."""
        password = self.state.password()
        if password is None:
            raise LabError(f"lab deployment {self.project!r} has no password yet (run up first)")
        return password

    def db_env_variables(self) -> dict[str, str]:
        """The compliant db.env, in file order."""
        variables = {
            "WA_DB_ENGINE": DB_ENGINE_NAMES[self.engine],
            "WA_DB_HOSTNAME": DB_HOSTNAME,
            "WA_DB_PORT": str(self.db_port),
            "WA_DB_USERNAME": self.db_user,
            "WA_DB_PASSWORD": self.db_password,
            "WA_DB_NAME_PREFIX": self.db_name_prefix,
        }
        if self.engine == "mysql":
            variables["WA_DB_CONNECTION_IDLE_TIMEOUT"] = IDLE_TIMEOUT_MS
        return variables

    def container_names(self) -> dict[str, list[str]]:
        """Existing containers of this deployment by role: webapp, coreapp, master."""
        names: dict[str, list[str]] = {role: [] for role in ROLES}
        roles = SERVICE_ROLES[self.topology]
        for container in self.compose.containers():
            if container.service in roles:
                names[roles[container.service]].append(container.name)
        return names

    def connect_db(self, password: str | None = None, timeout: float = 30):
        """A DB-API connection to the deployment's database as its user, on loopback
        (with the compliant password unless `password` is given)."""
        return self.server.connect(self.db_user, password or self.db_password, self.db_name,
                                   timeout)

    # --- lifecycle --------------------------------------------------------------------------
    def up(self) -> None:
        """Create or repair the deployment; ends any deviation. Fast when already up."""
        with self._lock():
            self._up()

    def _up(self) -> None:
        self._refuse_other_kind()
        self.ensure_deployment_wide()
        self.ensure_compose_files()
        self.ensure_db_env()
        if "inside" in deviations.touched_by(self.state.active_deviations()):
            self.recreate_containers()
        else:
            self.ensure_containers()
        self.ensure_cron_file()
        self.ensure_cron_daemon()
        self.ensure_api_server()
        self.state.save_active_deviations([])
        prune_stale_images()      # images a rebuild replaced, now that no container uses them

    def ensure_deployment_wide(self) -> None:
        """What the deployment has whatever runs its containers (here, or the simulated hosts of
        lab/cluster.py): the images, its folder, state and registry record, the API port and the
        settings, the password, the database account and the messages table."""
        ensure_images(self.version)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state.create()
        registry.remember(self.dir)
        self._move_cron_file()            # reads the settings an earlier `up` saved
        self._api_port = ports.keep(self._api_port, self.dir)
        self.state.save_settings({"topology": self.topology, "engine": self.engine,
                                  "version": self.version, "media": self.media,
                                  "cron_dir": str(self.cron_dir), "api_port": self._api_port})
        self.state.password_or_new()
        self.ensure_db_account()
        self.ensure_messages_table()

    def down(self) -> None:
        """Remove containers, volumes, network, the DB account and its databases, the directory."""
        with self._lock():
            self._down()

    def _down(self) -> None:
        hosts.stop_all(self.dir / "hosts")      # a deployment of simulated hosts (lab/cluster.py)
        if self.prometheus_dir.exists():
            LabPrometheus(self.prometheus_dir).remove()   # its history goes with the deployment
        self.cron_file.unlink(missing_ok=True)
        self.gc_cron_file.unlink(missing_ok=True)
        self.api_server.stop()
        self.compose.down()
        self.server.drop_account(self.db_user, self.db_name_prefix)
        ports.release(self._api_port, self.dir)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        registry.forget(self.dir)

    def status(self) -> LabStatus:
        try:
            account = self.server.account_exists(self.db_user)
        except LabError:
            account = None
        roles = SERVICE_ROLES[self.topology]
        return LabStatus(
            project=self.project, topology=self.topology, engine=self.engine,
            version=self.version, media=self.media, directory=str(self.dir),
            deployed=self.state.settings() is not None,
            containers={c.name: (roles.get(c.service, c.service), c.state)
                        for c in self.compose.containers()},
            expected_containers=len(self.services), db_account=account,
            cron_file=str(self.cron_file) if self.cron_file.exists() else None,
            cron_daemon=cron.daemon_pid() is not None,
            api_url=self.api_server.url if self._api_port else None,
            api_pid=self.api_server.pid(), api_config=self.api_server.config(),
            active_deviations=self.state.active_deviations(),
        )

    def _lock(self):
        return deployment_lock(self.root, self.project)

    def _refuse_other_kind(self) -> None:
        settings = self.state.settings()
        if not settings:
            return
        # Deployments made before the media option existed use Meta's named volume.
        deployed = (settings["topology"], settings["engine"], settings.get("media", "volume"))
        if deployed != (self.topology, self.engine, self.media):
            raise LabError(f"{self.dir} holds a {'/'.join(deployed)} deployment; run "
                           f"`python -m lab down --project {self.project}` first")

    def _move_cron_file(self) -> None:
        """Remove the cron file from the directory an earlier `up` put it in, if another."""
        settings = self.state.settings()
        if not settings:
            return
        previous = Path(settings.get("cron_dir", cron.CRON_DIR))
        if previous != self.cron_dir:
            (previous / self.cron_file.name).unlink(missing_ok=True)
            (previous / self.gc_cron_file.name).unlink(missing_ok=True)

    # --- convergence steps (up() and deviation restores) -------------------------------------
    def ensure_compose_files(self) -> None:
        """Meta's file byte-for-byte, the lab's override, the bind folder; no deviation inputs."""
        meta = compose_source(self.topology, self.engine).read_bytes()
        _write_if_changed(self.compose_file, meta)
        override = render_override(self.services, self.media_entries())
        _write_if_changed(self.dir / OVERRIDE_FILE, override.encode())
        if self.media == "bind":
            self.media_folder.mkdir(mode=0o755, exist_ok=True)
        shutil.rmtree(self.deviation_compose_dir, ignore_errors=True)

    def ensure_db_env(self) -> None:
        text = dbenv.render(self.db_env_variables(), header=(
            f"wa-compliance lab deployment {self.project!r}: compliant db.env "
            "(python -m lab up writes it; python -m lab deviate changes it)"))
        path = self.db_env_path
        if (not path.exists() or path.read_text() != text
                or path.stat().st_mode & 0o777 != dbenv.SECRET_MODE):
            dbenv.write_private(path, text)

    def ensure_db_account(self) -> None:
        self.server.ensure_account(self.db_user, self.db_password, self.db_name,
                                   self.db_name_prefix)

    def ensure_messages_table(self) -> None:
        """The client's messages table: every deployment has one, so GC-001 can size it on
        any lab deployment; tests that need a size seed it (lab.seed)."""
        ensure_messages(self)

    def ensure_containers(self) -> None:
        """Compose recreates a container whose configuration (db.env included) changed."""
        self.compose.up(self.services)

    def recreate_containers(self) -> None:
        """Every container afresh from its image, undoing changes made inside them."""
        self.compose.recreate(self.services)

    def ensure_cron_file(self) -> None:
        """The compliant cleanup file; no API-driven GC job."""
        cron.write(self.cron_file, self.cron_text())
        self.gc_cron_file.unlink(missing_ok=True)
        self.api_token_file.unlink(missing_ok=True)
        self.stale_id_record.unlink(missing_ok=True)
        shutil.rmtree(self.scripts_dir, ignore_errors=True)

    def ensure_cron_daemon(self) -> None:
        cron.ensure_daemon()

    def ensure_api_server(self) -> None:
        """The stand-in API running with the compliant configuration (reused when it is)."""
        self.api_server.configure(ApiConfig())

    # --- deviations (see lab/deviations/) ----------------------------------------------------
    def deviate(self, name: str) -> None:
        """Switch on the misconfiguration `name` (see `python -m lab list-deviations`)."""
        with self._lock():
            deviations.apply(self, name)

    def restore(self, name: str | None = None) -> list[str]:
        """Undo the deviation `name`, or every active one; return the names undone."""
        with self._lock():
            return deviations.restore(self, name)

    @contextmanager
    def deviation(self, name: str):
        """`with lab.deviation("env.drift"): ...` — restored on exit, even on error."""
        self.deviate(name)
        try:
            yield self
        finally:
            self.restore(name)

    def active_deviations(self) -> list[str]:
        return self.state.active_deviations()

    # --- profiles (docs/profile.md) --------------------------------------------------------------------
    def profile(self, name: str | None = None, **overrides) -> dict:
        """This deployment's profile as a dict; `overrides` deep-merge into it."""
        return profiles.merge(profiles.profile_for(self, name), overrides)

    def write_profile(self, path: str | Path, **overrides) -> Path:
        """Write this deployment's profile YAML to `path`, e.g.
        `lab.write_profile(tmp / "p.yaml", deployment={"db_env": "/tmp/x/db.env"})`."""
        return profiles.write(self.profile(**overrides), Path(path))


@dataclass
class LabStatus:
    project: str
    topology: str
    engine: str
    version: str
    media: str
    directory: str
    deployed: bool
    containers: dict[str, tuple[str, str]]        # name -> (role, state)
    expected_containers: int
    db_account: bool | None                        # None: database server unreachable
    cron_file: str | None = None                   # None: missing
    cron_daemon: bool = False
    api_url: str | None = None                     # None: no port yet
    api_pid: int | None = None                     # None: the API stand-in is not running
    api_config: ApiConfig = field(default_factory=ApiConfig)
    active_deviations: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """Containers and account there, and the API served unless gc.api_down stopped it."""
        states = [state for _, state in self.containers.values()]
        api_as_asked = self.api_pid is not None or self.api_config.down
        return (self.deployed and self.db_account is True and api_as_asked
                and states.count("running") == self.expected_containers == len(states))

    def lines(self) -> list[str]:
        account = {True: "present", False: "missing", None: "server unreachable"}[self.db_account]
        lines = [
            f"{self.project}: {'UP' if self.running else 'NOT UP'} "
            f"({self.topology}, {self.engine}, {self.media} media, v{self.version}) "
            f"in {self.directory}",
            f"  database account: {account}",
            f"  cron file: {self.cron_file or 'missing'} "
            f"(cron daemon {'running' if self.cron_daemon else 'NOT running'})",
            f"  API stand-in: {self.api_url or 'no port yet'} "
            f"{f'running (pid {self.api_pid})' if self.api_pid else 'NOT running'}: "
            f"{self.api_config.describe()}",
        ]
        lines += [f"  {name}: {role}, {state}" for name, (role, state) in self.containers.items()]
        if self.active_deviations:
            lines.append(f"  deviations on: {', '.join(self.active_deviations)}")
        return lines


def _write_if_changed(path: Path, content: bytes) -> None:
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
