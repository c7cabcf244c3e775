"""`Cluster`: one deployment spread over several simulated hosts, as Meta lays out production
Multiconnect (`prod-multiconnect-compose.yml`: "one host of a multiconnect cluster").

Each host (lab/hosts.py: its own Docker engine, cron daemon, sshd on 127.0.0.x, file system
view) holds in its `/opt/whatsapp` Meta's file unmodified as `docker-compose.yml`, `db.env`
(0600) and the `.env` Compose reads (`WA_API_VERSION`, `EXTERNAL_HOSTNAME` = the host's name),
and runs it as an operator would (`docker-compose up -d` there: project `whatsapp`, containers
`whatsapp_waweb_1`, `whatsapp_wacore_1`, `whatsapp_master_1` on every host). Its cron file
`/etc/cron.d/wa-lab-<project>` runs cleanup.sh in that host's three containers.

Media: `shared` (compliant) — a storage host `nas` (127.0.0.10, sshd only) exports one folder;
every host mounts it with sshfs at /mnt/wamedia, as operators mount NFS, and
`docker-compose.override.yml` (read by Compose next to the file, Meta's file untouched) binds
it at the media path; `local` — no override: Meta's `whatsappMedia` volume, `driver: local`,
one per host, the classic fault.

The deployment-wide pieces are the ordinary lab's (lab/deployment.py `Lab`, topology
multiconnect, MySQL): the database account, the messages table, the API stand-in.
`up()` converges everything and ends every deviation:

    cluster = Cluster(); cluster.up()
    with cluster.deviation("hosts.db_env_drift"): ...       # ENV-012 fails here
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from lab import cron, dbenv
from lab.commands import run
from lab.deployment import DEFAULT_ROOT, DEFAULT_VERSION, Lab
from lab.errors import LabError
from lab.hosts import SimulatedHost, StorageMount, stop_all
from lab.topology import META_DIR, MEDIA_PATH

PROJECT = "bizhosts"
COMPOSE_PROJECT = "whatsapp"        # what Compose names a project run from /opt/whatsapp
COMPOSE_FILE = "prod-multiconnect-compose.yml"
SERVICES = {"waweb": "webapp", "wacore": "coreapp", "master": "master"}
HOST_ADDRESSES = {"wa-a": "127.0.0.11", "wa-b": "127.0.0.12", "wa-c": "127.0.0.13"}
STORAGE_NAME, STORAGE_ADDRESS, EXPORT = "nas", "127.0.0.10", "/srv/wamedia"
MOUNTPOINT = "/mnt/wamedia"
MEDIA_KINDS = ("shared", "local")
API_PORT = 19448
# Fixed like the API's, so profiles/lab-hosts.yaml's ssh_config stays valid across `up`s.
SSH_PORTS = {STORAGE_NAME: 19450, "wa-a": 19451, "wa-b": 19452, "wa-c": 19453}
DEVIATIONS = {
    "hosts.local_media": "no shared storage: each host's own local whatsappMedia volume",
    "hosts.db_env_drift": "wa-b's db.env has another WA_DB_HOSTNAME and WA_DB_PASSWORD "
                          "(containers recreated from it)",
    "hosts.cron_missing": "wa-c's cron file has no line for its Coreapp",
    "hosts.unreachable": "wa-c is down: its sshd and engine do not answer",
}


class Cluster:
    deviations = DEVIATIONS

    def __init__(self, project: str = PROJECT, root: str | Path = DEFAULT_ROOT,
                 version: str = DEFAULT_VERSION, media: str = "shared"):
        if media not in MEDIA_KINDS:
            raise LabError(f"media {media!r}: choose one of {', '.join(MEDIA_KINDS)}")
        self.lab = Lab(project, "multiconnect", "mysql", root, version,
                       api_port=API_PORT if project == PROJECT else None)
        self.media = media
        key = self.dir / "ssh" / "id_ed25519"
        folder = self.dir / "hosts"
        self.storage_host = SimulatedHost(
            folder / STORAGE_NAME, STORAGE_NAME, STORAGE_ADDRESS, 0, docker=False, cron=False,
            client_key=key, binds={EXPORT: str(self.dir / "nas-export")},
            port=self._fixed_port(STORAGE_NAME))
        self.hosts = {name: SimulatedHost(folder / name, name, address, index, client_key=key,
                                          storage=self._storage_mount(),
                                          port=self._fixed_port(name))
                      for index, (name, address) in enumerate(HOST_ADDRESSES.items(), start=1)}

    def _fixed_port(self, name: str) -> int | None:
        return SSH_PORTS[name] if self.lab.project == PROJECT else None

    def _storage_mount(self) -> StorageMount:
        server = self.storage_host.sshd
        return StorageMount(STORAGE_ADDRESS, server.port, EXPORT, MOUNTPOINT,
                            server.client_key, server.folder / "known_hosts")

    # --- where things are ---------------------------------------------------------------
    @property
    def project(self) -> str:
        return self.lab.project

    @property
    def dir(self) -> Path:
        return self.lab.dir

    @property
    def ssh_config(self) -> Path:
        """`pytest --ssh-config`: names every host (wa-a, wa-b, ...) with its address, port,
        the lab's key and pinned host key."""
        return self.dir / "ssh_config"

    def container_name(self, service: str) -> str:
        return f"{COMPOSE_PROJECT}_{service}_1"

    def cron_file(self, host: str) -> Path:
        """The host's cron file, where this machine keeps it."""
        return self.hosts[host].path(str(cron.CRON_DIR / cron.file_name(self.project)))

    def export_folder(self) -> Path:
        """The storage host's exported folder (the shared media), on this machine."""
        return self.dir / "nas-export"

    def media_source(self, host: str) -> Path:
        """Where `host`'s media are on this machine: the export, or its own volume's folder."""
        if self.media_mode() == "shared":
            return self.export_folder()
        volume = f"{COMPOSE_PROJECT}_whatsappMedia"
        mountpoint = self.hosts[host].docker("volume", "inspect", "--format",
                                             "{{.Mountpoint}}", volume).stdout.strip()
        return Path(mountpoint)

    def media_mode(self) -> str:
        return "local" if "hosts.local_media" in self.active_deviations() else self.media

    # --- life cycle ---------------------------------------------------------------------
    def up(self) -> None:
        """Create or repair every host and the deployment-wide pieces; ends every deviation."""
        with self.lab._lock():
            self._up_shared_pieces()
            self.storage_host.start()
            for host in self.hosts.values():
                host.start()
            self._write_ssh_config()
            for name in self.hosts:
                self._converge_host(name, self.media)
            self._save_deviations([])

    def _up_shared_pieces(self) -> None:
        self.lab.ensure_deployment_wide()
        self.lab.ensure_api_server()
        self.export_folder().mkdir(mode=0o755, exist_ok=True)

    def _converge_host(self, name: str, media: str, db_env: dict | None = None,
                       cron_services: list[str] | None = None) -> None:
        host = self.hosts[name]
        host.start()
        _load_images(host, self.lab.version)
        folder = host.path("/opt/whatsapp")
        _write(folder / "docker-compose.yml", (META_DIR / COMPOSE_FILE).read_bytes())
        _write(folder / ".env", _dot_env(self.lab.version, name, host.address).encode())
        override = folder / "docker-compose.override.yml"
        if media == "shared":
            _write(override, _shared_media_override().encode())
        else:
            override.unlink(missing_ok=True)
        text = dbenv.render(db_env or self.lab.db_env_variables(), header=(
            f"wa-compliance lab: db.env of {name}, one host of {self.project!r}"))
        if not (folder / "db.env").exists() or (folder / "db.env").read_text() != text:
            dbenv.write_private(folder / "db.env", text)
        self.compose(name, "up", "-d", "--remove-orphans")
        lines = [cron.exec_line(self.container_name(service))
                 for service in (cron_services or list(SERVICES))]
        cron.write(self.cron_file(name), cron.render(self.project, lines))

    def compose(self, host: str, *arguments: str):
        """docker-compose in the host's /opt/whatsapp against its engine, as run there."""
        folder = self.hosts[host].path("/opt/whatsapp")
        return run(["docker-compose", "--ansi", "never", "--project-directory", str(folder),
                    "-p", COMPOSE_PROJECT, *arguments], cwd=folder, timeout=180,
                   env={"DOCKER_HOST": self.hosts[host].docker_host})

    def down(self) -> None:
        """Stop every host (engines stop their containers), then the deployment-wide pieces."""
        with self.lab._lock():
            for host in self.hosts.values():
                if host.running():
                    try:
                        self.compose(host.name, "down", "--volumes", "--timeout", "5")
                    except LabError:
                        pass        # the host's folder goes below in any case
            stop_all(self.dir / "hosts")
            for host in [*self.hosts.values(), self.storage_host]:
                host.remove()
            self.lab._down()

    def running(self) -> bool:
        return all(host.running() for host in [self.storage_host, *self.hosts.values()])

    def status_lines(self) -> list[str]:
        lines = [f"{self.project}: {'UP' if self.running() else 'NOT UP'} ({self.media} media) "
                 f"in {self.dir}"]
        for host in [self.storage_host, *self.hosts.values()]:
            state = "running" if host.running() else "down"
            lines.append(f"  {host.name} {host.address} (sshd :{host.sshd.port}): {state}")
        if self.active_deviations():
            lines.append(f"  deviations on: {', '.join(self.active_deviations())}")
        return lines

    def _write_ssh_config(self) -> None:
        blocks = []
        for host in [self.storage_host, *self.hosts.values()]:
            blocks.append(f"Host {host.name}\n    HostName {host.address}\n    Port {host.sshd.port}\n"
                          f"    User root\n    IdentityFile {host.sshd.client_key}\n"
                          f"    IdentitiesOnly yes\n"
                          f"    UserKnownHostsFile {host.sshd.folder / 'known_hosts'}\n"
                          f"    StrictHostKeyChecking yes\n")
        _write(self.ssh_config, "\n".join(blocks).encode())

    # --- deviations ---------------------------------------------------------------------
    def deviate(self, name: str) -> None:
        if name not in DEVIATIONS:
            raise LabError(f"unknown deviation {name!r}; known: {', '.join(DEVIATIONS)}")
        with self.lab._lock():
            if name == "hosts.local_media":
                for host in self.hosts:
                    self._converge_host(host, "local")
            elif name == "hosts.db_env_drift":
                drifted = {**self.lab.db_env_variables(), "WA_DB_HOSTNAME": "db-old",
                           "WA_DB_PASSWORD": self.lab.db_password + "-old"}
                self._converge_host("wa-b", self.media, db_env=drifted)
            elif name == "hosts.cron_missing":
                self._converge_host("wa-c", self.media, cron_services=["waweb", "master"])
            elif name == "hosts.unreachable":
                self.hosts["wa-c"].stop()
            self._save_deviations(sorted({*self.active_deviations(), name}))

    @contextmanager
    def deviation(self, name: str):
        """`with cluster.deviation("hosts.cron_missing"): ...` — `up()` on exit ends it."""
        self.deviate(name)
        try:
            yield self
        finally:
            self.up()

    def active_deviations(self) -> list[str]:
        return self.lab.state.active_deviations()

    def _save_deviations(self, names: list[str]) -> None:
        self.lab.state.save_active_deviations(names)

    # --- profile ------------------------------------------------------------------------
    def profile(self, name: str | None = None) -> dict:
        """The deployment's profile: one entry per host under `hosts:`, reached over SSH
        (`--ssh-config` the cluster's ssh_config)."""
        base = self.lab.profile(name)
        base.pop("target")
        base["deployment"] = {"topology": "multiconnect", "compose_project": COMPOSE_PROJECT,
                              "compose_file": "/opt/whatsapp/docker-compose.yml"}
        return {**({"name": name} if name else {}),
                "hosts": [{"target": f"ssh://root@{host}"} for host in self.hosts],
                **{key: value for key, value in base.items() if key != "name"}}


def _dot_env(version: str, name: str, address: str) -> str:
    """What Compose reads beside Meta's file: the version, the host's name, and its published
    ports bound to the host's own address (the simulated hosts share one network stack, so
    Meta's default 0.0.0.0 bindings would collide; nothing ever connects to them)."""
    ports = {"EXTERNAL_WEBAPP_PORT": 9090}
    ports.update({f"EXTERNAL_COREAPP_PORT{n}": 6250 + n for n in range(4)})
    ports.update({f"EXTERNAL_MASTER_PORT{n}": 6254 + n for n in range(4)})
    lines = [f"WA_API_VERSION={version}", f"EXTERNAL_HOSTNAME={name}"]
    lines += [f"{variable}={address}:{port}" for variable, port in ports.items()]
    return "\n".join(lines) + "\n"


def _shared_media_override() -> str:
    lines = ["# wa-lab: the shared storage every host mounts at /mnt/wamedia (sshfs, as NFS "
             "would be), bound at the media path in place of Meta's local volume",
             "version: '3'", "services:"]
    for service in SERVICES:
        lines += [f"  {service}:", "    volumes:", f"      - {MOUNTPOINT}:{MEDIA_PATH}"]
    return "\n".join(lines) + "\n"


def _load_images(host: SimulatedHost, version: str) -> None:
    """The lab's images, built on this machine's engine, copied into the host's engine."""
    names = [f"docker.whatsapp.biz/{image}:v{version}" for image in ("web", "coreapp")]
    wanted = [name for name in names if _image_id(None, name) != _image_id(host, name)]
    if wanted:
        run(["sh", "-c", 'docker save "$@" | docker -H "$HOST" load -q', "sh", *wanted],
            env={"HOST": host.docker_host}, timeout=300)


def _image_id(host: SimulatedHost | None, name: str) -> str | None:
    argv = ["docker", *(["-H", host.docker_host] if host else []), "image", "inspect",
            "--format", "{{.Id}}", name]
    result = run(argv, timeout=30, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _write(path: Path, content: bytes) -> None:
    if not path.exists() or path.read_bytes() != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

