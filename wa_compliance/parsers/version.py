"""Client versions as the image tags carry them (`docker.whatsapp.biz/web:v2.53.1`), compared
as versions: 2.9.0 < 2.29.1 < 2.53.1.

>>> ClientVersion.parse("v2.29.1") < ClientVersion.parse("2.53.1")
True
>>> version_of_image("docker.whatsapp.biz/coreapp:v2.41.2")
ClientVersion(parts=(2, 41, 2))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"v?([0-9]{1,4}(?:\.[0-9]{1,4}){1,3})")
# Since this release pass_through defaults to false and the messages table grows (R-GC).
PASS_THROUGH_CHANGE = "2.29.1"


@dataclass(frozen=True, order=True)
class ClientVersion:
    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> "ClientVersion":
        """`2.53.1` or `v2.53.1`; ValueError naming the text otherwise."""
        match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"{text!r} is not a client version (expected e.g. 2.53.1 or v2.53.1)")
        parts = tuple(int(part) for part in match[1].split("."))
        while len(parts) < 3:
            parts += (0,)
        return cls(parts)

    def __str__(self) -> str:
        return "v" + ".".join(map(str, self.parts))


def version_of_image(image: str) -> ClientVersion | None:
    """The version an image reference's tag names; None for a digest, no tag or another tag
    (`latest`): the version cannot be told from it."""
    reference = image.split("@", 1)[0]
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:        # `host:5000/web` has a port, no tag
        return None
    try:
        return ClientVersion.parse(tag)
    except ValueError:
        return None


def crosses_pass_through_change(running: ClientVersion, target: ClientVersion) -> bool:
    change = ClientVersion.parse(PASS_THROUGH_CHANGE)
    return running < change <= target
