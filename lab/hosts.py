"""Simulated hosts on this one machine: each a machine of its own as far as an audit can tell.

A `SimulatedHost` is a process tree in its own mount, UTS and PID namespaces
(`lab/host_init.py` is its process 1): its host name, its own `/etc/cron.d`, root crontab
spool and `/opt/whatsapp` (folders under the host's folder, bind-mounted there), its own
Docker engine (a second `dockerd` with its own data root, exec root, socket and containerd
namespaces, no default bridge, no iptables, no port proxies), its own cron daemon and an sshd
on its own loopback address (127.0.0.x). The network namespace stays the machine's: a network
namespace remounts /sys, where dockerd then finds no cgroup devices controller. A host may
mount a network file system (sshfs from a storage host) where its media storage lives.

    host = SimulatedHost(Path("/var/lib/wa-lab/hosts/mc3/wa-a"), "wa-a", "127.0.0.11", 1)
    host.start(); host.docker("ps"); host.stop()

Everything a host holds is under its folder, so `stop` plus removing the folder removes it;
`lab/purge.py` finds hosts left running by their process 1's command line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lab import ports
from lab.commands import run
from lab.errors import LabError
from lab.sshd import SshServer

HOSTS_DIR = ports.STATE_DIR / "hosts"
INIT_MODULE = "lab.host_init"
# The container networks of host N come from 10.254.(16N).0/20: no two engines share a subnet,
# and none meets this machine's own engine, whose default pools (172.17-31.0.0/16, then
# 192.168.0.0/16) a run with many deployments can exhaust up to 172.30.
ADDRESS_PREFIX = "10.254."
ADDRESS_POOL = ADDRESS_PREFIX + "{base}.0/20"
START_SECONDS = 90
SHELL_STARTUP = ("/root/.bashrc", "/root/.profile", "/root/.bash_profile")
# Folders hosts mount over that this machine does not have of its own: made (empty) at a
# host's start, removed by the purge when empty. (/etc/cron.d and the crontab spool are Debian's.)
MOUNT_POINTS = ("/opt/whatsapp", "/mnt/wamedia", "/srv/wamedia")


@dataclass(frozen=True)
class StorageMount:
    """A network file system a host mounts: `address:export` (sshfs) at `mountpoint`."""
    address: str
    port: int
    export: str
    mountpoint: str
    identity: Path
    known_hosts: Path


class SimulatedHost:
    def __init__(self, folder: Path, name: str, address: str, index: int,
                 docker: bool = True, cron: bool = True, storage: StorageMount | None = None,
                 client_key: Path | None = None, binds: dict[str, str] | None = None,
                 port: int | None = None):
        self.folder = Path(folder)
        self.name, self.address, self.index = name, address, index
        self.with_docker, self.with_cron, self.storage = docker, cron, storage
        # VERBOSE: a host's sshd logs each login, not each channel (which costs CPU the hosts share)
        self.sshd = SshServer(self.folder / "sshd", port=self._port(port), address=address,
                              client_key=client_key, log_level="VERBOSE")
        # this host's view of these paths: a folder of its own under self.folder
        self.binds = {"/etc/cron.d": self.folder / "etc-cron.d",
                      "/var/spool/cron/crontabs": self.folder / "crontabs",
                      "/opt/whatsapp": self.folder / "opt-whatsapp"}
        self.binds.update({target: Path(source) for target, source in (binds or {}).items()})

    def _port(self, fixed: int | None) -> int:
        if fixed:
            return ports.keep(fixed, self.folder / "sshd")
        record = self.folder / "sshd-port"
        if record.exists():
            return ports.keep(int(record.read_text()), self.folder / "sshd")
        self.folder.mkdir(parents=True, exist_ok=True)
        port = ports.reserve(self.folder / "sshd")
        record.write_text(str(port))
        return port

    # --- where things are ----------------------------------------------------------------
    @property
    def engine_socket(self) -> Path:
        """The engine's socket as seen from outside the host (inside: /var/run/docker.sock)."""
        return self.folder / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.engine_socket}"

    def path(self, inside: str) -> Path:
        """Where a path of the host's own view lives on this machine (e.g. /etc/cron.d/x)."""
        for target, source in sorted(self.binds.items(), key=lambda item: -len(item[0])):
            if inside == target or inside.startswith(target + "/"):
                return source / os.path.relpath(inside, target)
        return Path(inside)

    # --- life cycle ------------------------------------------------------------------------
    def init_pid(self) -> int | None:
        """The root-namespace PID of the host's process 1 (None: the host is down)."""
        return _init_pid(self.folder)

    def running(self) -> bool:
        return self.init_pid() is not None and (self.folder / "ready").exists()

    def start(self) -> None:
        """Bring the host up (nothing when it runs as configured); raise with its init log
        when it cannot."""
        config = json.dumps(self._init_config(), indent=1)
        sshd_config = self.sshd.folder / "sshd_config"
        before = sshd_config.read_text() if sshd_config.exists() else None
        self.sshd.prepare()
        unchanged = (before == sshd_config.read_text()
                     and (self.folder / "init.json").exists()
                     and (self.folder / "init.json").read_text() == config)
        if unchanged and self.running():
            return
        self.stop()
        for source in self.binds.values():
            source.mkdir(parents=True, exist_ok=True)
        for target in self.binds:
            Path(target).mkdir(parents=True, exist_ok=True)    # the mount point, empty outside
        if self.storage:
            Path(self.storage.mountpoint).mkdir(parents=True, exist_ok=True)
        (self.folder / "ready").unlink(missing_ok=True)
        (self.folder / "init.json").write_text(config)
        with open(self.folder / "init.log", "a") as log:
            process = subprocess.Popen(
                ["unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
                 sys.executable, "-m", INIT_MODULE, str(self.folder)],
                cwd=Path(__file__).resolve().parent.parent, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True)
        (self.folder / "unshare.pid").write_text(str(process.pid))
        deadline = time.monotonic() + START_SECONDS
        while not (self.folder / "ready").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise LabError(f"simulated host {self.name} did not start; "
                               f"{self.folder / 'init.log'} ends: {self._log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        _stop(self.folder)

    def remove(self) -> None:
        self.stop()
        ports.release(self.sshd.port, self.folder / "sshd")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _init_config(self) -> dict:
        config = {"name": self.name, "address": self.address, "docker": self.with_docker,
                  # this machine's root shell start-up files (pyenv...) are not a host's: every
                  # SSH command would source them
                  "emptied": [path for path in SHELL_STARTUP if Path(path).is_file()],
                  "cron": self.with_cron, "address_pool": ADDRESS_POOL.format(base=16 * self.index),
                  "binds": {str(source): target for target, source in self.binds.items()},
                  "sshd": {"config": str(self.sshd.folder / "sshd_config"),
                           "log": str(self.sshd.log), "port": self.sshd.port}}
        if self.storage:
            config["storage"] = {key: str(value) for key, value in self.storage.__dict__.items()}
        return config

    def _log_tail(self) -> str:
        try:
            return " | ".join((self.folder / "init.log").read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"

    # --- commands on the host ------------------------------------------------------------
    def docker(self, *arguments: str, timeout: float = 120):
        return run(["docker", "-H", self.docker_host, *arguments], timeout=timeout)

    def shell(self, command: str, timeout: float = 60):
        """Run `command` on the host, as an operator's session would (over its sshd)."""
        return run(["ssh", "-F", str(self.sshd.client_config), self.sshd.address, command],
                   timeout=timeout)


def stop_all(folder: Path) -> None:
    """Stop every simulated host whose folder is under `folder`."""
    for unshare in Path(folder).glob("*/unshare.pid"):
        _stop(unshare.parent)


def _init_pid(folder: Path) -> int | None:
    try:
        unshare = int((folder / "unshare.pid").read_text())
        children = Path(f"/proc/{unshare}/task/{unshare}/children").read_text().split()
        return int(children[0]) if children else None
    except (OSError, ValueError):
        return None


def _stop(folder: Path) -> None:
    """SIGTERM to process 1 (it stops the engine first), then SIGKILL if it lingers."""
    pid = _init_pid(folder)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 75):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
    unshare = folder / "unshare.pid"
    if unshare.exists():
        _wait_gone(int(unshare.read_text() or 0), 10)
        unshare.unlink()
    (folder / "ready").unlink(missing_ok=True)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists():
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
