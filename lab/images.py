"""The stand-in images `docker.whatsapp.biz/web:vX` and `docker.whatsapp.biz/coreapp:vX`.

Meta's images cannot be pulled here, so the lab builds look-alikes with `docker import` from a
tarball made in memory: busybox (from the host's busybox-static) plus the paths the checks look
at (`/opt/whatsapp/bin/*.sh`, `/var/log/whatsapp/archive`, `/usr/local/wamedia`).

Each image carries the SHA-256 of its recipe in the label `org.wa-lab.recipe`: an image is
rebuilt only when missing or when its recipe changed. Everything that goes into an image is
decided in `recipe_for()` below, so changing one role's image (e.g. a Debian rootfs with
logrotate for the webapp) is a change in one place.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from lab.commands import run, run_bytes_in

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
        "/var/log/whatsapp": 0o755, "/var/log/whatsapp/archive": 0o755,
        "/usr/local/wamedia": 0o755,
    }
    files = {
        "/bin/busybox": (BUSYBOX.read_bytes(), 0o755),
        "/etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644),
        "/etc/group": (b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        **{f"/opt/whatsapp/bin/{name}": (text.encode(), 0o755) for name, text in SCRIPTS.items()},
    }
    symlinks = {f"/bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS}
    symlinks["/usr/bin/env"] = "/bin/busybox"   # for `#!/usr/bin/env sh` scripts
    changes = (
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["/opt/whatsapp/bin/launch_within_docker.sh"]',
        f"LABEL org.wa-lab.role={role}",
    )
    return ImageRecipe(role, directories, files, symlinks, changes)


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
