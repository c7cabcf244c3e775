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
