"""`python -m lab purge`: remove every piece of lab state, so the next run starts as on a new
machine (the installed packages and the services lab/install.sh starts stay).

First every deployment the lab knows (its registry, and the folders under the default root)
is brought down the ordinary way; then whatever is left is swept by what marks it as the
lab's, since a deployment whose files were deleted by hand, or a run killed half-way, leaves
pieces no `down` can find. Each kind of piece has a finder, used both to remove and, at the
end, to prove nothing is left (`leftovers`):
- simulated hosts (lab/hosts.py: their process 1, which stops their engine, cron and sshd),
  the container bridges their engines made (10.254.0.0/16), and the empty mount points they
  left on this machine's file system;
- API stand-ins and sshd servers the lab started, wherever their checkout is;
- Prometheus servers the lab started (lab/prometheus.py: their command line names the lab's
  config file, `wa-lab-prometheus.yml`), wherever their folder is; their data lives in that
  folder (a deployment's `.lab/prometheus`, or a test's temporary folder): the folder sweep;
- containers whose image carries the lab's label, Compose volumes holding Meta's media
  volume name, the Compose networks of those projects, and the lab's images;
- accounts and databases named as the lab names them (`<project>_wa`, `<project>_waent*`)
  and the tests' audit account, on MariaDB and PostgreSQL;
- `/etc/cron.d/wa-lab-*`;
- the system account tests audit as through sudo (lab/accounts.py) and its sudoers file;
- the lab's folders, port reservations, lock files and pytest's temporary folders.
Only the lab's own names and labels are touched: this is a command for a test machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab import accounts, cron, ports, registry
from lab.api import SERVER_SCRIPT
from lab.commands import run
from lab.database import MariaDB, PostgreSQL
from lab.deployment import DEFAULT_ROOT, Lab
from lab.errors import LabError
from lab.hosts import ADDRESS_PREFIX, INIT_MODULE, MOUNT_POINTS
from lab.images import RECIPE_LABEL
from lab.prometheus import CONFIG_FILE as PROMETHEUS_CONFIG
from lab.seed import LOCK_DIR
from lab.sshd import SSHD
from lab.topology import MEDIA_VOLUME

ROLE_LABEL = "org.wa-lab.role"
PROJECT_LABEL = "com.docker.compose.project"
LAB_ACCOUNT = re.compile(r"^[a-z][a-z0-9]{0,29}_wa$")
LAB_DATABASE = re.compile(r"^[a-z][a-z0-9]{0,29}_waent")
TEST_ACCOUNTS = ("wa_audit_test",)
LAB_VOLUME = re.compile(rf"^[a-z][a-z0-9]{{0,29}}_({MEDIA_VOLUME}|mysqlData|postgresData)$")
PYTEST_TEMP = Path(tempfile.gettempdir()) / f"pytest-of-{os.environ.get('USER', 'root')}"


@dataclass
class Kind:
    """One kind of lab state: how to find its pieces, and how to remove them."""
    name: str
    find: Callable[[], list]
    remove: Callable[[list], None]


def purge(say=print) -> list[str]:
    """Remove all lab state; return what is left afterwards, or could not be read (one line
    per kind)."""
    for kind in KINDS:
        try:
            found = kind.find()
            if found:
                kind.remove(found)
                say(f"{kind.name}: {len(found)} removed ({_sample(found)})")
        except LabError as error:
            say(f"{kind.name}: {error}")
    return leftovers()


def leftovers() -> list[str]:
    """What of the lab is on this machine: one line per kind that has pieces (or that could
    not be looked at)."""
    lines = []
    for kind in KINDS:
        try:
            found = kind.find()
        except LabError as error:
            lines.append(f"{kind.name}: cannot tell ({error})")
            continue
        if found:
            lines.append(f"{kind.name}: {len(found)} left ({_sample(found)})")
    return lines


# --- deployments ------------------------------------------------------------------------------
def _deployments() -> list[Path]:
    folders = set(registry.remembered())
    root = Path(DEFAULT_ROOT)
    if root.is_dir():
        folders.update(entry.absolute() for entry in root.iterdir() if (entry / ".lab").is_dir())
    return sorted(folders)


def _down(folders: list[Path]) -> None:
    for folder in folders:
        try:
            Lab.open(folder.name, folder.parent).down()
        except (LabError, OSError, ValueError, KeyError, TypeError):
            pass           # half-made or damaged by hand: the sweeps below remove its pieces
        registry.forget(folder)


# --- simulated hosts --------------------------------------------------------------------------
def _simulated_hosts() -> list[int]:
    """Process 1 of every simulated host, whichever checkout or folder started it."""
    return [pid for pid, arguments in _processes()
            if arguments[1:3] == ["-m", INIT_MODULE] and not _gone(pid)]


def _stop_hosts(pids: list[int]) -> None:
    for pid in pids:
        _terminate(pid, seconds=75)      # it stops its engine, which stops the containers


def _host_bridges() -> list[str]:
    """Bridges of the simulated hosts' engines (their address pool), left by a killed host."""
    listing = run(["ip", "-o", "-4", "addr", "show"], timeout=10).stdout
    return sorted({line.split()[1] for line in listing.splitlines()
                   if f" inet {ADDRESS_PREFIX}" in line and line.split()[1].startswith("br-")})


def _remove_bridges(names: list[str]) -> None:
    for name in names:
        run(["ip", "link", "delete", name], timeout=10, check=False)


def _mount_points() -> list[Path]:
    """The folders simulated hosts mount over, created empty on this machine's file system."""
    return [path for path in map(Path, MOUNT_POINTS) if path.is_dir() and not any(path.iterdir())]


def _remove_empty(paths: list[Path]) -> None:
    for path in paths:
        path.rmdir()


# --- servers ----------------------------------------------------------------------------------
def _servers() -> list[int]:
    """API stand-ins (any checkout's lab/api_server.py) and the lab's sshd servers (in the
    foreground, with a config file of their own: the system's sshd is never started here)."""
    found = []
    for pid, arguments in _processes():
        api = any(argument.endswith(f"lab/{SERVER_SCRIPT.name}") for argument in arguments)
        sshd = arguments[:2] == [SSHD, "-D"] and "/etc/ssh/sshd_config" not in arguments
        if (api or sshd) and not _gone(pid):
            found.append(pid)
    return found


def _prometheus_servers() -> list[int]:
    """Prometheus servers of lab/prometheus.py (never the package's own, which reads
    /etc/prometheus/prometheus.yml)."""
    return [pid for pid, arguments in _processes()
            if arguments and Path(arguments[0]).name == "prometheus"
            and any(argument.startswith("--config.file=")
                    and argument.endswith(f"/{PROMETHEUS_CONFIG}") for argument in arguments)
            and not _gone(pid)]


def _stop(pids: list[int]) -> None:
    for pid in pids:
        _terminate(pid)


# --- Docker -----------------------------------------------------------------------------------
def _containers() -> list[str]:
    return _docker_ids("ps", "-a", "--filter", f"label={ROLE_LABEL}", "--format", "{{.Names}}")


def _remove_containers(ids: list[str]) -> None:
    run(["docker", "rm", "--force", "--volumes", *ids], timeout=120)


def _volumes() -> list[str]:
    """The named volumes of Meta's compose files, as Compose names them for a project."""
    names = _docker_ids("volume", "ls", "-q", "--filter", f"label={PROJECT_LABEL}")
    return [name for name in names if LAB_VOLUME.match(name)]


def _networks() -> list[str]:
    """Compose's default network of a project whose media volume or containers were the
    lab's (Compose names it `<project>_default`)."""
    listing = run(["docker", "network", "ls", "--filter", f"label={PROJECT_LABEL}",
                   "--format", "{{.Name}}"], timeout=60).stdout.split()
    return [name for name in listing if re.match(r"^[a-z][a-z0-9]{0,29}_default$", name)]


def _images() -> list[str]:
    return sorted(set(_docker_ids("image", "ls", "-q", "--filter", f"label={RECIPE_LABEL}")))


def _docker_ids(*arguments: str) -> list[str]:
    return run(["docker", *arguments], timeout=60).stdout.split()


def _docker_rm(kind: str) -> Callable[[list], None]:
    return lambda names: run(["docker", kind, "rm", *(["--force"] if kind == "image" else []),
                              *names], timeout=120)


# --- databases --------------------------------------------------------------------------------
def _database_state(server: MariaDB | PostgreSQL) -> list[str]:
    accounts = [f"account {a}" for a in server.accounts()
                if LAB_ACCOUNT.match(a) or a in TEST_ACCOUNTS]
    databases = [f"database {d}" for d in server.all_databases() if LAB_DATABASE.match(d)]
    return databases + accounts


def _drop(server: MariaDB | PostgreSQL) -> Callable[[list], None]:
    def drop(pieces: list[str]) -> None:
        for piece in pieces:          # databases first: a role that owns one cannot be dropped
            kind, _, name = piece.partition(" ")
            if kind == "database":
                server.drop_database(name)
            else:
                server.drop_account(name, name)
    return drop


# --- files ------------------------------------------------------------------------------------
def _cron_files() -> list[Path]:
    return sorted(cron.CRON_DIR.glob(f"{cron.file_name('')}*"))


def _folders() -> list[Path]:
    return [folder for folder in (Path(DEFAULT_ROOT), LOCK_DIR, ports.STATE_DIR, PYTEST_TEMP)
            if folder.exists()]


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


KINDS = [
    Kind("simulated hosts", _simulated_hosts, _stop_hosts),
    Kind("deployments", _deployments, _down),
    Kind("servers (API stand-ins, sshd)", _servers, _stop),
    Kind("Prometheus servers", _prometheus_servers, _stop),
    Kind("containers", _containers, _remove_containers),
    Kind("volumes", _volumes, _docker_rm("volume")),
    Kind("networks", _networks, _docker_rm("network")),
    Kind("lab images", _images, _docker_rm("image")),
    Kind("MariaDB databases and accounts", lambda: _database_state(MariaDB()), _drop(MariaDB())),
    Kind("PostgreSQL databases and accounts", lambda: _database_state(PostgreSQL()),
         _drop(PostgreSQL())),
    Kind("simulated hosts' bridges", _host_bridges, _remove_bridges),
    Kind("cron files", _cron_files, _remove_files),
    Kind("the sudo account", accounts.leftovers, accounts.remove),
    Kind("folders", _folders, _remove_files),
    Kind("mount points", _mount_points, _remove_empty),
]


# --- processes --------------------------------------------------------------------------------
def _processes():
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry.name), [a.decode(errors="replace") for a in arguments if a]


def _terminate(pid: int, seconds: float = 5) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for a parent that may never reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def _sample(found: list) -> str:
    names = [str(piece) for piece in found[:4]]
    return ", ".join(names) + (f", … {len(found) - 4} more" if len(found) > 4 else "")
