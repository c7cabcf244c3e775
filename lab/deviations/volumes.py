"""Deviations of the `volumes` section: the media volume (R-VOL, VOL-001..005).

All of them change one Coreapp container or service, the first that is not a Master: wacore,
or wacore1 in Multiconnect (`affected_service`, `affected_container` in targets.py).

Container deviations let Compose recreate that one service from copies of the deployment's
Compose inputs (under .lab/compose/) that differ from the compliant ones only in the media
entry of that service. So the container keeps the name, labels, environment, image and
network mode Compose gives it, and discovery by image and Compose project still finds it;
its labels name the copies it was made from, and its config hash no longer matches the
deployment's files, so any compliant `up` (a restore) recreates it. Why copies rather than a
third override file: a Compose v1 override cannot remove a `volumes` entry (mount_missing).

Compose-file deviations edit Meta's copy in the deployment directory (the file the profile's
`compose_file` names) minimally, one or two lines, and leave the containers alone; restoring
writes Meta's file back byte-for-byte.

Nothing here writes into or deletes from any media storage: a deviation only changes which
storage one container mounts, and how.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lab.commands import run
from lab.compose import OVERRIDE_FILE, media_entry, render_override
from lab.compose_text import media_read_only, without_media
from lab.deviations.registry import deviation
from lab.deviations.targets import affected_container, affected_service
from lab.errors import LabError
from lab.topology import MEDIA_PATH, MEDIA_VOLUME, compose_source

if TYPE_CHECKING:
    from lab.deployment import Lab

OTHER_VOLUME = "otherMedia"             # Compose names it <project>_otherMedia
OTHER_BIND_FOLDER = "media-other"       # beside the deployment's media folder


def _compliant_source(lab: Lab) -> str:
    """What every container mounts at the media path: Meta's volume, or the bind folder."""
    return MEDIA_VOLUME if lab.media == "volume" else str(lab.media_folder)


# --- container deviations -----------------------------------------------------------------
def _recreate_affected_service(lab: Lab, entry: str | None, note: str,
                               volumes: tuple[str, ...] = ()) -> None:
    """Recreate the affected service with `entry` at the media path (None: no mount there);
    every other line of its configuration is the compliant one."""
    service = affected_service(lab)
    meta_text = compose_source(lab.topology, lab.engine).read_bytes().decode()
    media = lab.media_entries()
    if entry is None:
        meta_text = without_media(meta_text, service)
        media.pop(service, None)
    else:
        media[service] = entry
    inputs = lab.deviation_compose_dir
    inputs.mkdir(mode=0o700, parents=True, exist_ok=True)
    base, override = inputs / lab.compose_file.name, inputs / OVERRIDE_FILE
    base.write_bytes(meta_text.encode())
    override.write_text(render_override(lab.services, media, volumes, note=f"wa-lab: {note}"))
    lab.compose.up([service], files=[str(path.relative_to(lab.dir)) for path in (base, override)])
    _verify_media_mount(lab, entry)


def _verify_media_mount(lab: Lab, entry: str | None) -> None:
    """Fail loudly if Compose did not give the container the mount asked for."""
    name = affected_container(lab)
    mounts = json.loads(run(["docker", "inspect", "--format", "{{json .Mounts}}", name],
                            timeout=30).stdout)
    media = [mount for mount in mounts if mount.get("Destination") == MEDIA_PATH]
    if entry is None:
        ok = not media
    else:
        source, read_only = entry.split(":")[0], entry.endswith(":ro")
        ok = len(media) == 1 and media[0]["RW"] is not read_only and (
            media[0].get("Source") == source if source.startswith("/")
            else media[0].get("Name") == f"{lab.project}_{source}")
    if not ok:
        raise LabError(f"{name}: Compose did not make the media mount {entry or 'absent'} "
                       f"(got {media})")


@deviation("vol.mount_missing", "the first Coreapp container (wacore / wacore1) has no mount "
           f"at {MEDIA_PATH}", {"compose", "containers"})
def mount_missing(lab: Lab) -> None:
    _recreate_affected_service(lab, None, f"vol.mount_missing: no media entry on "
                                          f"{affected_service(lab)}")


@deviation("vol.read_only", "the first Coreapp container mounts the shared media read-only",
           {"compose", "containers"})
def read_only(lab: Lab) -> None:
    _recreate_affected_service(lab, media_entry(_compliant_source(lab), read_only=True),
                               f"vol.read_only: {affected_service(lab)} mounts media :ro")


@deviation("vol.other_volume", f"the first Coreapp container mounts the volume "
           f"<project>_{OTHER_VOLUME} at {MEDIA_PATH} (not shared)", {"compose", "containers"})
def other_volume(lab: Lab) -> None:
    _recreate_affected_service(lab, media_entry(OTHER_VOLUME),
                               f"vol.other_volume: {affected_service(lab)} mounts {OTHER_VOLUME}",
                               volumes=(OTHER_VOLUME,))


@deviation("vol.bind_path_differs", f"the first Coreapp container binds <project>/"
           f"{OTHER_BIND_FOLDER} instead of the shared media folder", {"compose", "containers"},
           media={"bind"})
def bind_path_differs(lab: Lab) -> None:
    folder = lab.media_folder.with_name(OTHER_BIND_FOLDER)
    folder.mkdir(mode=0o755, exist_ok=True)
    _recreate_affected_service(lab, media_entry(str(folder)),
                               f"vol.bind_path_differs: {affected_service(lab)} binds {folder}")


# --- compose-file deviations ----------------------------------------------------------------
def _edit_compose_file(lab: Lab, edit) -> None:
    """Apply `edit(text, service)` to the deployment's compose file, bytes in, bytes out."""
    text = lab.compose_file.read_bytes().decode()
    lab.compose_file.write_bytes(edit(text, affected_service(lab)).encode())


@deviation("vol.compose_read_only", "the compose file mounts the media volume ':ro' on the "
           "first Coreapp service (containers untouched)", {"compose"})
def compose_read_only(lab: Lab) -> None:
    _edit_compose_file(lab, media_read_only)


@deviation("vol.compose_missing", "the compose file has no media volume entry on the first "
           "Coreapp service (containers untouched)", {"compose"})
def compose_missing(lab: Lab) -> None:
    _edit_compose_file(lab, without_media)
