"""Rules of the media volume (R-VOL), as plain functions over the containers' media mounts
(facts/media.py)."""

from __future__ import annotations

from collections import Counter

from ..facts.media import MediaMount

# Volume options (driver `local`) that put the data on network storage.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "glusterfs", "ceph")


def storage_of(mount: MediaMount, volume_options: dict | None) -> str:
    """What the data really lives on, so that two volumes on one NFS export compare equal.

    >>> storage_of(MediaMount("volume", "a_media", True, "local"), {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/wamedia"})
    'nfs 10.0.0.5:/wamedia'
    """
    options = volume_options or {}
    fstype = (options.get("type") or "").lower()
    if mount.kind == "volume" and fstype in NETWORK_FILESYSTEMS:
        address = ""
        for option in (options.get("o") or "").split(","):
            if option.startswith("addr="):
                address = option[len("addr="):]
        device = options.get("device") or ""
        return f"{fstype} {address}{device}" if device.startswith(":") else f"{fstype} {device}"
    if mount.kind == "volume" and mount.driver not in (None, "", "local"):
        return f"volume {mount.source} (driver {mount.driver})"
    return mount.describe()


def odd_ones_out(storage_by_container: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """The storage most containers share, and the containers on another one. Ties go to the
    storage named first (containers are listed Webapp first)."""
    if not storage_by_container:
        return None, {}
    counts = Counter(storage_by_container.values())
    shared = max(counts, key=lambda storage: (counts[storage], -list(storage_by_container.values()).index(storage)))
    return shared, {name: storage for name, storage in storage_by_container.items() if storage != shared}


def round_trip_problems(write_errors: dict[str, str | None], seen: dict[str, dict[str, str]],
                        media_path: str) -> dict[str, list[str]]:
    """Per container, what went wrong in the probe round trip (empty list: it shares media).

    `seen[reader][writer]` is "identical", "different", "missing" or "unreadable". Containers
    that see each other's probes form a group; the largest group (the first listed on a tie)
    is the shared media, and only the containers outside it are blamed for not sharing.

    >>> round_trip_problems({"web": None, "core": None, "odd": None},
    ...     {"web": {"core": "identical", "odd": "missing"}, "core": {"web": "identical", "odd": "missing"},
    ...      "odd": {"web": "missing", "core": "missing"}}, "/usr/local/wamedia")["odd"]
    ['does not share /usr/local/wamedia with web, core: their probes are not visible here, nor its probe there']
    """
    writers = [name for name, error in write_errors.items() if error is None]
    group_of = {name: {name} for name in writers}
    for a in writers:
        for b in writers:
            if a < b and seen.get(a, {}).get(b) == "identical" and seen.get(b, {}).get(a) == "identical":
                merged = group_of[a] | group_of[b]
                for member in merged:
                    group_of[member] = merged
    groups = []
    for name in writers:
        if group_of[name] not in groups:
            groups.append(group_of[name])
    shared = max(groups, key=len) if groups else set()
    main = [name for name in writers if name in shared]

    problems: dict[str, list[str]] = {}
    for name, error in write_errors.items():
        if error is not None:
            problems[name] = [f"cannot write to {media_path}: {error}"]
        elif name not in shared:
            problems[name] = [f"does not share {media_path} with {', '.join(main)}: "
                              "their probes are not visible here, nor its probe there"]
        else:
            problems[name] = [f"{writer}'s probe is {verdict} here" for writer, verdict in seen.get(name, {}).items()
                              if writer in shared and verdict != "identical"]
    return problems
