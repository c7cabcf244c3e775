"""volumes — the media volume (R-VOL).

Source: "Data management", section *Volumes*: the client needs one Docker volume for media,
mounted in the containers at /usr/local/wamedia/; it stores incoming and outgoing media, may
live on any shared file storage, and every Webapp and Coreapp container must have read/write
access to it. Master containers run the Coreapp image and Meta's Multiconnect files give them
the same volume, so they are held to the same rule.
"""

from wa_compliance.check import check
from wa_compliance.rules import volumes as rules
from wa_compliance.errors import FactUnavailable
from wa_compliance.subjects import containers_to_check, each_host, unreached

RECREATE = "then recreate it: docker-compose up -d --force-recreate {service}"


def _service(container) -> str:
    return container.compose_service or container.name


@check("VOL-001", "every Webapp and Coreapp container mounts the media volume", "critical",
       remediation="Add '- whatsappMedia:/usr/local/wamedia' under the service's volumes in docker-compose.yml "
                   "(as in Meta's files) and recreate the container.", reads=("media_mounts",))
def test_vol_001_media_mounted(deployment, verdict):
    """Every Webapp/Coreapp/Master container has a mount at the media path.

    R-VOL: the media volume is mounted in the containers at /usr/local/wamedia/.
    """
    media_path = deployment.profile.deployment.media_path
    for container in containers_to_check(deployment, verdict):
        mount = deployment.media_mounts[container.subject]
        if mount is None:
            verdict.failed(container.subject, f"no mount at {media_path}: media it stores stay inside this container",
                           remediation=f"Add '- whatsappMedia:{media_path}' to the {_service(container)} service's volumes, "
                                       + RECREATE.format(service=_service(container)))
        else:
            verdict.passed(container.subject, f"{mount.describe()} at {media_path}", mount=mount.describe())


@check("VOL-002", "the media mount is read-write", "critical",
       remediation="Remove ':ro' (or read_only: true) from the media volume entry and recreate the container.",
       reads=("media_mounts",))
def test_vol_002_media_read_write(deployment, verdict):
    """That mount is read-write.

    R-VOL: every Webapp and Coreapp container must have read/write access to the media volume.
    """
    media_path = deployment.profile.deployment.media_path
    for container in containers_to_check(deployment, verdict):
        mount = deployment.media_mounts[container.subject]
        if mount is None:
            verdict.skipped(container.subject, f"no mount at {media_path} (see VOL-001)")
        elif not mount.read_write:
            verdict.failed(container.subject, f"{media_path} is mounted read-only ({mount.describe()})",
                           remediation=f"Remove ':ro' from the {_service(container)} service's media volume entry, "
                                       + RECREATE.format(service=_service(container)))
        else:
            verdict.passed(container.subject, f"{media_path} is mounted read-write ({mount.describe()})")


@check("VOL-003", "every container mounts the same media storage", "critical",
       remediation="Mount the same named volume, bind path or network export at /usr/local/wamedia in every "
                   "Webapp, Coreapp and Master container, and recreate the odd ones.",
       reads=("media_mounts", "volume_options", "mount_table"))
def test_vol_003_media_shared(deployment, verdict):
    """All containers mount the same storage: one named volume, one bind path, or one network export
    (two volumes on the same NFS/CIFS export count as the same).

    R-VOL: one media volume, shared: media stored by one container must be found by the others.
    """
    media_path = deployment.profile.deployment.media_path
    storage, host_of = {}, {}
    for container in containers_to_check(deployment, verdict):
        host_of[container.subject] = container.host
        mount = deployment.media_mounts[container.subject]
        if mount is None:
            verdict.skipped(container.subject, f"no mount at {media_path} (see VOL-001)")
            continue
        host = deployment.site_of(container)
        try:
            storage[container.subject] = _storage(host, mount)
        except FactUnavailable as exc:
            verdict.error(container.subject, f"cannot tell what {mount.describe()} is stored on: {exc}")
    shared, odd = rules.odd_ones_out(storage)
    missing = unreached(deployment)
    for name, where in storage.items():
        alone = rules.host_of(where)
        # a local volume or a local bind path is its own host's storage only
        elsewhere = sorted({host_of[other] for other in storage if host_of[other] != host_of[name]})
        if name in odd:
            why = f"; storage of {alone} only: containers on other hosts cannot see it" if alone else ""
            verdict.failed(name, f"mounts {where} at {media_path}, the others share {shared}: "
                                 f"media stored here is invisible to them{why}", storage=where, shared=shared)
        elif alone and elsewhere:
            verdict.failed(name, f"mounts {where} at {media_path}: storage of {alone} only, the containers on "
                                 f"{', '.join(elsewhere)} cannot see it", storage=where)
        elif missing:
            verdict.error(name, f"shares {where} with {len(storage) - len(odd) - 1} other container(s), "
                                f"but not every host could be read{missing}", storage=where)
        else:
            verdict.passed(name, f"shares {where} with {len(storage) - len(odd) - 1} other container(s)", storage=where)


def _storage(host, mount) -> str:
    """The storage a mount really is, on its host: a bind path (or a volume over one) is
    looked up in that host's mount table, where a network export shows."""
    options = host.volume_options.get(mount.source) if mount.kind == "volume" else None
    bound = mount.kind == "bind" or "bind" in ((options or {}).get("o") or "").split(",")
    mounts = host.mount_table if bound else None
    return rules.storage_of(mount, options, host.label, mounts)


@check("VOL-004", "a file written by each container is read back identical by every other one", "high",
       remediation="Give every container read/write access to the same media storage (see VOL-001..003); "
                   "on network storage, check its permissions and that every host mounts the same export.",
       reads=("media_probe",))
def test_vol_004_live_round_trip(deployment, verdict):
    """Live round trip: each container writes a probe, every other one reads it back byte-identical.

    R-VOL: verified live, not only as configured: the containers really share the media files.
    """
    running = containers_to_check(deployment, verdict, running=True)
    if not running:
        return
    if len(running) == 1:
        # the stopped ones are `error` above; a lone container proves nothing about sharing
        return verdict.error(running[0].subject, "no other container is running to read its probe back: "
                                              "the round trip needs two")
    report = deployment.media_probe
    if report.unreachable:
        # a docker exec failed (engine or connection lost): the round trip proves nothing either way
        cut = next(iter(report.unreachable.values()))
        for container in running:
            verdict.error(container.subject, report.unreachable.get(container.subject, f"round trip cut short: {cut}"))
    else:
        problems = rules.round_trip_problems(report.write_errors, report.seen, report.media_path)
        missing = unreached(deployment)
        host_of = {c.subject: c.host for c in running}
        for container in running:
            found = problems.get(container.subject, [])
            # the largest group's own probes are not visible on another host that mounts other storage
            missed_on = sorted({host_of[reader] for reader, views in report.seen.items()
                                if host_of.get(reader, container.host) != container.host
                                and views.get(container.subject, "identical") != "identical"})
            if not found and missed_on:
                found = [f"its probe is not visible on {', '.join(missed_on)}, whose containers do not share "
                         f"{report.media_path} with it"]
            if missing and not found:
                verdict.error(container.subject, f"its probe was read back identical by {len(running) - 1} other "
                                                 f"container(s), but not every host could be read{missing}")
            else:
                verdict.judge(container.subject, found,
                              passed=f"its probe was read back identical by {len(running) - 1} other container(s)",
                              probe_execs=report.exec_count)
    for leftover in report.leftovers:
        name, _, path = leftover.partition(":")
        verdict.error(name, f"the probe {path} could not be removed: delete it by hand")


@check("VOL-005", "the compose file declares the media volume, read-write, on every WhatsApp service", "medium",
       remediation="In docker-compose.yml, give every waweb/wacore/master service the entry "
                   "'- whatsappMedia:/usr/local/wamedia' (no ':ro'), as Meta's files do.",
       reads=("compose_file", "media_mounts"))
def test_vol_005_compose_declares_media(deployment, verdict):
    """The compose file named by `deployment.compose_file` declares the media volume, not read-only, on
    every waweb/wacore/master service.

    R-VOL: "to view or change the volume's path, edit docker-compose.yml" — the file must stay right
    too.
    """
    for host, _ in each_host(deployment, verdict):
        _judge_compose_file(host, verdict)


def _judge_compose_file(host, verdict) -> None:
    path = host.profile.deployment.compose_file
    if not path:
        return verdict.skipped(host.host_subject, "no compose file named in the profile (deployment.compose_file)")
    if not host.compose_file.exists:
        return verdict.failed(host.subject(path), f"compose file not found at {path} on {host.profile.target}")
    media_path = host.profile.deployment.media_path
    declarations = host.compose_media
    if not declarations:
        return verdict.failed(host.subject(path), "declares no service running docker.whatsapp.biz/web or coreapp images")
    for service in declarations:
        subject = host.subject(f"{path} service {service.service}")
        if service.entry is None:
            verdict.failed(subject, f"line {service.line}: no volume at {media_path}",
                           remediation=f"Add '- whatsappMedia:{media_path}' under services.{service.service}.volumes.")
        elif service.read_only:
            verdict.failed(subject, f"line {service.line}: the media volume is declared read-only ({service.entry!r})",
                           remediation=f"Remove ':ro' from {service.entry!r} under services.{service.service}.volumes.")
        else:
            verdict.passed(subject, f"declares {service.entry!r}", role=service.role)
