"""Rules of the media volume (R-VOL), as plain functions over the containers' media mounts
(facts/media.py)."""

from __future__ import annotations

from collections import Counter

from ..facts.media import MediaMount

# Volume options (driver `local`) that put the data on network storage.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "glusterfs", "ceph")
# File systems of a mount table that are network storage (FUSE ones as /proc/mounts names them).
NETWORK_MOUNTS = (*NETWORK_FILESYSTEMS, "fuse.sshfs", "fuse.glusterfs", "fuse.ceph", "fuse.cephfs",
                  "fuse.s3fs", "9p", "afs", "lustre", "beegfs", "gpfs")


def storage_of(mount: MediaMount, volume_options: dict | None, host: str = "",
               mounts: list[tuple[str, str, str]] | None = None) -> str:
    """What the data really lives on, so that two volumes on one NFS export compare equal; a
    `local` volume or a local bind path is its own host's storage (`host` names it when the
    deployment spans hosts), a bind path on a network mount of the host's `mounts` table
    (source, mount point, type) is that export.

    >>> storage_of(MediaMount("volume", "a_media", True, "local"), {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/wamedia"})
    'nfs 10.0.0.5:/wamedia'
    >>> storage_of(MediaMount("bind", "/mnt/wa/media", True), None, "wa-b",
    ...            [("root@10.0.0.9:/srv", "/mnt/wa", "fuse.sshfs")])
    'fuse.sshfs 10.0.0.9:/srv/media'
    >>> storage_of(MediaMount("volume", "a_media", True, "local"), {}, "wa-b")
    'volume a_media on wa-b'
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
    path = mount.source if mount.kind == "bind" else _bound_device(options)
    if path:
        network = _network_mount(path, mounts or [])
        if network:
            return network
        described = f"bind {path}"
    else:
        described = mount.describe()
    return f"{described} on {host}" if host else described


def _bound_device(options: dict) -> str | None:
    """The folder a `local` volume with `o=bind` stands for (Meta's file kept unmodified, the
    volume created over a mounted directory)."""
    if "bind" in (options.get("o") or "").split(",") and (options.get("device") or "").startswith("/"):
        return options["device"]
    return None


def _network_mount(path: str, mounts: list[tuple[str, str, str]]) -> str | None:
    """`type server:/export/rest` when `path` lies on a network mount of the table."""
    best = None
    for source, point, fstype in mounts:
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[1])):
            best = (source, point, fstype)
    if best is None or best[2].lower() not in NETWORK_MOUNTS:
        return None
    source, point, fstype = best
    rest = path[len(point.rstrip("/")):]
    server, colon, export = source.rpartition(":")
    server = server.rpartition("@")[2]           # sshfs names the login: not part of the storage
    return f"{fstype} {server}{colon}{export.rstrip('/')}{rest}" if colon else f"{fstype} {source}{rest}"


def host_of(storage: str) -> str | None:
    """The host a storage belongs to alone ('volume x on wa-b' -> 'wa-b'), None for shared."""
    head, on, host = storage.rpartition(" on ")
    return host if on and head.startswith(("volume ", "bind ")) else None


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
