"""Each container's mount at the media path, as `docker inspect` shows it.

>>> mount = media_mount([{"Type": "volume", "Name": "biz_whatsappMedia", "Destination": "/usr/local/wamedia",
...                       "RW": False, "Mode": "ro", "Driver": "local"}], "/usr/local/wamedia/")
>>> mount.describe()
'volume biz_whatsappMedia'
>>> mount.read_write
False
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaMount:
    kind: str                  # volume | bind | tmpfs | ...
    source: str                # volume name, or host path for a bind mount
    read_write: bool
    driver: str | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.source}"


def same_path(a: str, b: str) -> bool:
    return posixpath.normpath(a) == posixpath.normpath(b)


def media_mount(mounts, media_path: str) -> MediaMount | None:
    """The mount at the media path, from a container's `Mounts` (None when there is none)."""
    for mount in mounts:
        if same_path(mount.get("Destination", ""), media_path):
            kind = mount.get("Type", "volume")
            source = mount.get("Name") if kind == "volume" else mount.get("Source")
            return MediaMount(kind, source or "", bool(mount.get("RW")), mount.get("Driver"))
    return None


def parse_mounts(text: str) -> list[tuple[str, str, str]]:
    """(source, mount point, type) of each line of /proc/mounts, its octal escapes decoded.

    >>> parse_mounts("root@10.0.0.9:/srv /mnt/wa\\040media fuse.sshfs rw 0 0\\n")
    [('root@10.0.0.9:/srv', '/mnt/wa media', 'fuse.sshfs')]
    """
    found = []
    for line in text.split("\n"):
        fields = line.split(" ")         # the kernel escapes spaces, tabs, newlines in fields
        if len(fields) >= 3:
            found.append(tuple(_unescape(field) for field in fields[:3]))
    return found


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
