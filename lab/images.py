"""The stand-in images `docker.whatsapp.biz/web:vX` and `docker.whatsapp.biz/coreapp:vX`.

Meta's images cannot be pulled here, so the lab builds look-alikes with `docker import` from a
tarball made in memory: busybox (from the host's busybox-static) plus the paths the checks look
at (`/opt/whatsapp/bin/*.sh`, `/usr/local/wamedia`) and the logs of R-LOG: live logs with a
few lines, and gzip-compressed rotations of them in `/var/log/whatsapp/archive`.

The Webapp rotates its logs with logrotate (R-LOG), so its image carries a real one: the
host's Debian `/usr/sbin/logrotate` with the shared libraries `ldd` lists and the dynamic
loader, configured as the source document describes (`/etc/logrotate.conf` as Debian ships
it, `/etc/logrotate.d/whatsapp` with the policy). It compresses with busybox's `/bin/gzip`.
Coreapp rotates with an internal script, so its image has logs but no logrotate.

Each image carries the SHA-256 of its recipe in the label `org.wa-lab.recipe`: an image is
rebuilt only when missing or when its recipe changed (a host logrotate or libc upgrade too).
Everything that goes into an image is decided in `recipe_for()` below, so changing one
role's image is a change in one place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from lab.commands import run, run_bytes_in
from lab.errors import LabError

REGISTRY = "docker.whatsapp.biz"
ROLES = ("web", "coreapp")
RECIPE_LABEL = "org.wa-lab.recipe"
BUSYBOX = Path("/bin/busybox")
# Fixed timestamps make the tarball, hence the recipe digest, reproducible.
EPOCH = 1_700_000_000

# Enough for checks and for humans poking around; no network tools (containers have none).
BUSYBOX_APPLETS = (
    "sh ash [ test echo printf cat ls stat env base64 sleep true false id date uname hostname "
    "mkdir rmdir rm mv cp ln touch chmod chown readlink realpath dirname basename mktemp find "
    "grep sed awk head tail wc sort uniq tr cut xargs dd truncate du df ps kill which "
    "gzip gunzip zcat tar cmp sha256sum md5sum timeout"
).split()

SCRIPTS = {
    # Real ones wait until the database answers; lab containers have no network, so go on.
    "wait_on_mysql.sh": '#!/bin/sh\n# wa-lab stand-in: no database wait.\nexec "$@"\n',
    "wait_on_postgres.sh": '#!/bin/sh\n# wa-lab stand-in: no database wait.\nexec "$@"\n',
    # Stays up like the real client and stops at once on `docker stop` (PID 1 ignores
    # signals it has no handler for, hence the trap).
    "launch_within_docker.sh": (
        "#!/bin/sh\n# wa-lab stand-in for the client: idle until stopped.\n"
        'trap "exit 0" TERM INT\nwhile :; do sleep 1 & wait $!; done\n'
    ),
    # The real one prunes old files; the lab's must be harmless whoever runs it, and when.
    "cleanup.sh": "#!/bin/sh\n# wa-lab stand-in: removes nothing.\necho \"cleanup: nothing to do\"\nexit 0\n",
}

LOG_DIR = "/var/log/whatsapp"
ARCHIVE_DIR = f"{LOG_DIR}/archive"
COREAPP_LOG = "wacore.log"          # Coreapp and Master (same image)
# Each role's live logs, with a line or two each; the archive holds ARCHIVED_ROTATIONS
# compressed rotations of every one (web.log.1.gz, web.log.2.gz, ...).
LOGS = {
    "web": {
        "web.log": "INFO webapp: wa-lab stand-in of the Webapp started\n"
                   "INFO webapp: connected to the Coreapp\n",
        "access.log": '127.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /v1/health HTTP/1.1" '
                      '200 37 "-" "curl/7.88.1"\n',
        "error.log": "WARN webapp: wa-lab stand-in: no database wait\n",
    },
    "coreapp": {
        COREAPP_LOG: "INFO wacore: wa-lab stand-in of the Coreapp started\n"
                     "INFO wacore: idle (no network in the lab)\n",
    },
}
ARCHIVED_ROTATIONS = 3

LOGROTATE = Path("/usr/sbin/logrotate")
# Debian 12's /etc/logrotate.conf, verbatim.
LOGROTATE_CONF = """\
# see "man logrotate" for details

# global options do not affect preceding include directives

# rotate log files weekly
weekly

# keep 4 weeks worth of backlogs
rotate 4

# create new (empty) log files after rotating old ones
create

# use date as a suffix of the rotated file
#dateext

# uncomment this if you want your log files compressed
#compress

# packages drop log rotation information into this directory
include /etc/logrotate.d

# system-specific logs may also be configured here.
"""
WEBAPP_LOGROTATE_PATH = "/etc/logrotate.d/whatsapp"
# The source document's policy (R-LOG): 30 files, above 20 MB, compressed, archived.
WEBAPP_LOGROTATE = f"""\
# WhatsApp Business API Webapp: web, access and error logs
{LOG_DIR}/web.log {LOG_DIR}/access.log {LOG_DIR}/error.log {{
    rotate 30
    size 20M
    compress
    olddir {ARCHIVE_DIR}
    missingok
    notifempty
    copytruncate
}}
"""


@dataclass(frozen=True)
class ImageRecipe:
    """What one image holds; `tarball()` renders it, `digest` fingerprints it."""

    role: str
    directories: dict[str, int]                          # path -> mode
    files: dict[str, tuple[bytes, int]]                  # path -> (content, mode)
    symlinks: dict[str, str]                             # path -> target
    docker_changes: tuple[str, ...] = field(default=())  # Dockerfile lines for `docker import -c`

    def tarball(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for path, mode in sorted(self.directories.items()):
                tar.addfile(_entry(path, tarfile.DIRTYPE, mode))
            for path, (content, mode) in sorted(self.files.items()):
                info = _entry(path, tarfile.REGTYPE, mode)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            for path, target in sorted(self.symlinks.items()):
                info = _entry(path, tarfile.SYMTYPE, 0o777)
                info.linkname = target
                tar.addfile(info)
        return buffer.getvalue()

    @property
    def digest(self) -> str:
        hasher = hashlib.sha256(self.tarball())
        hasher.update(json.dumps(self.docker_changes).encode())
        return hasher.hexdigest()


def _entry(path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type, info.mode, info.mtime = kind, mode, EPOCH
    return info


def recipe_for(role: str) -> ImageRecipe:
    """The one place deciding what the `role` image ("web" or "coreapp") contains."""
    directories = {
        "/bin": 0o755, "/usr": 0o755, "/usr/bin": 0o755, "/usr/local": 0o755,
        "/etc": 0o755, "/tmp": 0o1777, "/root": 0o700, "/var": 0o755, "/var/log": 0o755,
        "/opt": 0o755, "/opt/whatsapp": 0o755, "/opt/whatsapp/bin": 0o755,
        LOG_DIR: 0o755, ARCHIVE_DIR: 0o755,
        "/usr/local/wamedia": 0o755,
    }
    files = {
        "/bin/busybox": (BUSYBOX.read_bytes(), 0o755),
        "/etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644),
        "/etc/group": (b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        **{f"/opt/whatsapp/bin/{name}": (text.encode(), 0o755) for name, text in SCRIPTS.items()},
        **_log_files(LOGS[role]),
    }
    if role == "web":
        files.update(_logrotate_files())
        directories["/var/lib/logrotate"] = 0o755    # its state file
    directories.update(_missing_parents([*files, *directories], directories))
    symlinks = {f"/bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS}
    symlinks["/usr/bin/env"] = "/bin/busybox"   # for `#!/usr/bin/env sh` scripts
    changes = (
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["/opt/whatsapp/bin/launch_within_docker.sh"]',
        f"LABEL org.wa-lab.role={role}",
    )
    return ImageRecipe(role, directories, files, symlinks, changes)


def _log_files(logs: dict[str, str]) -> dict[str, tuple[bytes, int]]:
    """Live logs, and their rotations gzip-compressed in the archive (mtime fixed in the gzip
    header too, so the bytes never change)."""
    files = {}
    for name, text in logs.items():
        files[f"{LOG_DIR}/{name}"] = (text.encode(), 0o644)
        for rotation in range(1, ARCHIVED_ROTATIONS + 1):
            files[f"{ARCHIVE_DIR}/{name}.{rotation}.gz"] = (
                gzip.compress(text.encode(), mtime=EPOCH), 0o644)
    return files


def _logrotate_files() -> dict[str, tuple[bytes, int]]:
    """The host's logrotate and what it loads, at the paths `ldd` names, plus its
    configuration (root's, 0644: logrotate ignores group- or world-writable files)."""
    if not LOGROTATE.exists():
        raise LabError(f"{LOGROTATE} is missing on this host (run lab/install.sh)")
    files = {str(LOGROTATE): (LOGROTATE.read_bytes(), 0o755)}
    for library in _shared_libraries(LOGROTATE):
        files[library] = (Path(library).read_bytes(), 0o755)   # read_bytes follows symlinks
    files["/etc/logrotate.conf"] = (LOGROTATE_CONF.encode(), 0o644)
    files[WEBAPP_LOGROTATE_PATH] = (WEBAPP_LOGROTATE.encode(), 0o644)
    return files


def _shared_libraries(binary: Path) -> list[str]:
    """The absolute paths `ldd` resolves for `binary`, the dynamic loader included
    (linux-vdso has none: the kernel provides it)."""
    listing = run(["ldd", str(binary)], timeout=30).stdout
    return sorted(set(re.findall(r"(/\S+) \(0x[0-9a-f]+\)", listing)))


def _missing_parents(paths: list[str], directories: dict[str, int]) -> dict[str, int]:
    """The directories (0755) above `paths` that `directories` lacks (e.g. /lib64)."""
    needed = {str(parent) for path in paths for parent in Path(path).parents if str(parent) != "/"}
    return {path: 0o755 for path in needed - directories.keys()}


def image_tag(role: str, version: str) -> str:
    return f"{REGISTRY}/{role}:v{version}"


def ensure_images(version: str) -> list[str]:
    """Build the images of `version` that are missing or stale; return the tags (re)built."""
    built = []
    for role in ROLES:
        recipe, tag = recipe_for(role), image_tag(role, version)
        if _recipe_digest(tag) != recipe.digest:
            _build(recipe, tag)
            built.append(tag)
    return built


def prune_stale_images() -> None:
    """Remove the lab's images that a rebuild left untagged and no container uses any more
    (the label filter keeps this away from anyone else's images)."""
    run(["docker", "image", "prune", "--force", "--filter", f"label={RECIPE_LABEL}"],
        timeout=60, check=False)


def _recipe_digest(tag: str) -> str | None:
    """The recipe digest `tag` was built from; None when there is no such image."""
    result = run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
                 timeout=30, check=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(RECIPE_LABEL)


def _build(recipe: ImageRecipe, tag: str) -> None:
    argv = ["docker", "import"]
    for change in (*recipe.docker_changes, f"LABEL {RECIPE_LABEL}={recipe.digest}"):
        argv += ["--change", change]
    run_bytes_in([*argv, "-", tag], recipe.tarball(), timeout=120)
