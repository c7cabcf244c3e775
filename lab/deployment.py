"""`Lab`: one lab deployment of the WhatsApp Business API client (SPEC §8).

A deployment is a directory `<root>/<project>/` holding Meta's compose file (unmodified), a
`db.env`, and the lab's own `.lab/` state; a real account and database on the host's MariaDB
or PostgreSQL; and the containers Compose creates from the stand-in images. Their media
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

from lab import dbenv, deviations, profiles
from lab.commands import run
from lab.compose import OVERRIDE_FILE, ComposeProject, media_entry, render_override
from lab.database import server_for
from lab.errors import LabError
from lab.images import ensure_images, prune_stale_images
from lab.locking import deployment_lock
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
                 media: str = "volume"):
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
        self.state = DeploymentState(self.dir)
        self.server = server_for(engine)
        self.compose = ComposeProject(self.dir, project, self.compose_file.name, version)

    @classmethod
    def open(cls, project: str = "biz", root: str | Path = DEFAULT_ROOT) -> Lab:
        """The deployment `project` as it was brought up (topology, engine, version, media)."""
        settings = DeploymentState(Path(root) / project).settings()
        if settings is None:
            raise LabError(f"no lab deployment {project!r} under {root} "
                           f"(run: python -m lab up --project {project})")
        return cls(project=project, root=root, **settings)

    def __repr__(self) -> str:
        return (f"Lab(project={self.project!r}, topology={self.topology!r}, "
                f"engine={self.engine!r}, root={str(self.root)!r}, version={self.version!r}, "
                f"media={self.media!r})")

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
        ensure_images(self.version)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state.create()
        self.state.save_settings({"topology": self.topology, "engine": self.engine,
                                  "version": self.version, "media": self.media})
        self.state.password_or_new()
        self.ensure_compose_files()
        self.ensure_db_env()
        self.ensure_db_account()
        self.ensure_containers()
        self.state.save_active_deviations([])
        prune_stale_images()      # images a rebuild replaced, now that no container uses them

    def down(self) -> None:
        """Remove containers, volumes, network, the DB account and its databases, the directory."""
        with self._lock():
            self._down()

    def _down(self) -> None:
        self.compose.down()
        self.server.drop_account(self.db_user, self.db_name_prefix)
        if self.dir.exists():
            shutil.rmtree(self.dir)

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

    def ensure_containers(self) -> None:
        """Compose recreates a container whose configuration (db.env included) changed."""
        self.compose.up(self.services)

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

    # --- profiles (SPEC §5) --------------------------------------------------------------------
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
    active_deviations: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        states = [state for _, state in self.containers.values()]
        return (self.deployed and self.db_account is True
                and states.count("running") == self.expected_containers == len(states))

    def lines(self) -> list[str]:
        account = {True: "present", False: "missing", None: "server unreachable"}[self.db_account]
        lines = [
            f"{self.project}: {'UP' if self.running else 'NOT UP'} "
            f"({self.topology}, {self.engine}, {self.media} media, v{self.version}) "
            f"in {self.directory}",
            f"  database account: {account}",
        ]
        lines += [f"  {name}: {role}, {state}" for name, (role, state) in self.containers.items()]
        if self.active_deviations:
            lines.append(f"  deviations on: {', '.join(self.active_deviations)}")
        return lines


def _write_if_changed(path: Path, content: bytes) -> None:
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
