"""Line edits of Meta's compose file: one service's media volume entry made read-only or removed.

The edits work on the text rather than loading and re-dumping YAML, so everything else
(comments, quoting, key order) stays byte-for-byte Meta's, as after an operator's hand edit.
Used by the vol.compose_* deviations, and by vol.mount_missing for the copy Compose runs on
(an override cannot remove a `volumes` entry).
"""

from __future__ import annotations

import re

import yaml

from lab.errors import LabError
from lab.topology import MEDIA_PATH, MEDIA_VOLUME

# Meta's entry, e.g. "     - whatsappMedia:/usr/local/wamedia" (indentation varies by file).
_MEDIA_ENTRY = re.compile(rf"^\s*-\s*{MEDIA_VOLUME}:{re.escape(MEDIA_PATH)}\s*$")
_VOLUMES_KEY = re.compile(r"^\s+volumes:\s*$")
_LIST_ITEM = re.compile(r"^\s*-")


def media_read_only(text: str, service: str) -> str:
    """`text` with `service`'s media entry ending in `:ro`."""
    lines = text.splitlines(keepends=True)
    index = _media_entry_line(lines, service)
    line = lines[index]
    body = line.rstrip("\r\n")
    lines[index] = body + ":ro" + line[len(body):]
    return "".join(lines)


def without_media(text: str, service: str) -> str:
    """`text` without `service`'s media entry; its `volumes:` key goes too when the entry was
    the only one (Compose rejects an empty `volumes:`)."""
    lines = text.splitlines(keepends=True)
    index = _media_entry_line(lines, service)
    only_entry = (_VOLUMES_KEY.match(lines[index - 1])
                  and (index + 1 == len(lines) or not _LIST_ITEM.match(lines[index + 1])))
    del lines[index - 1 if only_entry else index:index + 1]
    return "".join(lines)


def media_volumes(text: str, service: str) -> list[str]:
    """The `volumes` entries of `service` mounting the media path (to verify an edit)."""
    declared = yaml.safe_load(text)["services"][service].get("volumes") or []
    return [entry for entry in declared if entry.split(":")[1:2] == [MEDIA_PATH]]


def _media_entry_line(lines: list[str], service: str) -> int:
    """Index of Meta's media entry in the block of `service`."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"  {service}:"), None)
    if start is None:
        raise LabError(f"service {service!r} not found in the compose file")
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"^ {0,2}\S", lines[i])), len(lines))     # next service or section
    found = [i for i in range(start + 1, end) if _MEDIA_ENTRY.match(lines[i])]
    if len(found) != 1:
        raise LabError(f"service {service!r}: expected one '{MEDIA_VOLUME}:{MEDIA_PATH}' entry "
                       f"in the compose file, found {len(found)}")
    return found[0]
