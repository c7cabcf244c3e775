"""logs — log rotation (R-LOG).

Source: "Rotation des journaux". Webapp's rotation uses logrotate, keeps the last 30 files of
the web, access and error logs, rotates only above 20 MB, compresses rotated files and
archives them in /var/log/whatsapp/archive. Coreapp rotates with an internal script: 30 files,
above 15 MB, compressed, same archive; it does not delete old files by itself (hence the
cleanup job of the cron section).

Everything is read inside each running container in one `docker exec` (facts/inside.py).
"""

import posixpath

from wa_compliance.check import check
from wa_compliance.facts.inside import live_logs
from wa_compliance.rules import logs as rules
from wa_compliance.subjects import snapshots

WEBAPP_STANZA = """{log_dir}/web.log {log_dir}/access.log {log_dir}/error.log {{
    rotate 30
    size 20M
    compress
    olddir {log_dir}/archive
    missingok
    notifempty
    copytruncate
}}"""


def _stanza(deployment) -> str:
    return WEBAPP_STANZA.format(log_dir=deployment.profile.deployment.log_dir)


@check("LOG-001", "every Webapp container's logrotate configuration covers its web, access and error logs, and is valid",
       "high", remediation="Give the Webapp a logrotate block for its web, access and error logs in /etc/logrotate.d/ "
                           "(see LOG-002 for its content) and check it with: logrotate -d /etc/logrotate.conf",
       reads=("read_inside",))
def test_log_001_logrotate_covers_webapp_logs(deployment, verdict):
    """The Webapp's logrotate configuration has a block covering its web, access and error logs; our
    parser and `logrotate -d` find no error. The configuration is `/etc/logrotate.conf` and what it
    includes; without it — or when it does not name the logs — the files of `/etc/logrotate.d/` read
    on their own (an image's rotation script may hand them to logrotate directly); the evidence
    (`found_by`) says which. Missing only when neither exists.

    R-LOG: Webapp rotates its web, access and error logs with logrotate.
    """
    for container, snapshot in snapshots(deployment, verdict, roles=("webapp",)):
        rotation = deployment.webapp_rotation(container)
        found, config = rotation.found, rotation.found.config
        if config is None:
            fix = (f"Create /etc/logrotate.d/whatsapp in {container.name} (baked into your image or mounted) with:\n"
                   if not found.exists else f"Make {container.name}'s logrotate configuration readable and valid, with "
                                            "a block such as:\n")
            verdict.failed(container.subject, found.found, remediation=fix + _stanza(deployment))
            continue
        covered, uncovered = rotation.covered, rotation.uncovered
        problems = []
        if uncovered:
            problems.append(f"no logrotate block covers {', '.join(posixpath.basename(p) for p in uncovered)} "
                            f"(read {', '.join(config.files_read)})")
        problems += [f"invalid: {problem}" for problem in config.problems]
        read = snapshot.logrotate
        problems += [f"logrotate -d reports: {line}" for line in rules.debug_errors(read.debug_output)]
        if read.debug_rc not in (0, None) and not rules.debug_errors(read.debug_output):
            problems.append(f"logrotate -d {read.debugged} exits with {read.debug_rc}")
        blocks = sorted({f"{b.path}:{b.line}" for b in covered.values()})
        verdict.judge(container.subject, problems,
                      passed=f"{', '.join(posixpath.basename(p) for p in covered)} covered by {', '.join(blocks)}",
                      remediation=f"Cover the missing logs in {container.name}'s logrotate configuration, e.g.:\n"
                                  f"{_stanza(deployment)}" if uncovered else None,
                      files_read=list(config.files_read), blocks=blocks, found_by=found.found)


@check("LOG-002", "the Webapp's rotation keeps 30 files, rotates only above 20 MB, compresses, archives to "
                  "/var/log/whatsapp/archive", "medium",
       remediation="In the Webapp's logrotate block set: rotate 30, size 20M, compress, olddir /var/log/whatsapp/archive.",
       reads=("read_inside",))
def test_log_002_rotation_policy(deployment, verdict):
    """That block keeps `rotate 30`, rotates only above 20 MB (`size 20M`, or `minsize 20M` with a time
    criterion), `compress`, `olddir /var/log/whatsapp/archive`; each deviation is named with its
    file, line and the expected directive.

    R-LOG: keeps the last 30 files, rotates only above 20 MB, compresses, archives in
    /var/log/whatsapp/archive.
    """
    log_dir = deployment.profile.deployment.log_dir
    expected = rules.Expected(archive=posixpath.join(log_dir, "archive"))
    for container, _ in snapshots(deployment, verdict, roles=("webapp",)):
        rotation = deployment.webapp_rotation(container)
        if rotation.found.config is None:
            verdict.skipped(container.subject, f"{rotation.found.found} (see LOG-001)")
            continue
        covered = rotation.covered
        if not covered:
            verdict.skipped(container.subject, "no logrotate block covers the web, access and error logs (see LOG-001)")
            continue
        problems = []
        for block, paths in _by_block(covered).items():
            names = ", ".join(posixpath.basename(p) for p in paths)
            problems += [f"block at {block.path}:{block.line} ({names}) {problem}"
                         for problem in rules.policy_problems(block.policy, paths[0], expected)]
        verdict.judge(container.subject, problems, passed="rotate 30, only above 20 MB, compressed, archived in "
                                                       f"{expected.archive}",
                      remediation=f"Make the block read:\n{_stanza(deployment)}")


def _by_block(covered: dict) -> dict:
    blocks: dict = {}
    for path, block in covered.items():
        blocks.setdefault(block, []).append(path)
    return blocks


@check("LOG-003", "/var/log/whatsapp/archive exists and is writable in every Webapp, Coreapp and Master container",
       "medium", remediation="Create it in the container's image or volume: mkdir -p /var/log/whatsapp/archive, "
                             "owned by the user the client runs as.", reads=("read_inside",))
def test_log_003_archive_folder(deployment, verdict):
    """`/var/log/whatsapp/archive` exists and is writable (`test -w`, nothing is written) in every
    Webapp, Coreapp and Master.

    R-LOG: both Webapp and Coreapp archive rotated logs in /var/log/whatsapp/archive.
    """
    archive = posixpath.join(deployment.profile.deployment.log_dir, "archive")
    for container, snapshot in snapshots(deployment, verdict):
        folder = snapshot.archive
        if folder.state == "missing":
            verdict.failed(container.subject, f"{archive} does not exist: rotated logs have nowhere to go")
        elif folder.state != "present":
            verdict.failed(container.subject, f"{archive} is not a directory")
        elif not folder.writable:
            verdict.failed(container.subject, f"{archive} is not writable by the container's user (uid {snapshot.uid})")
        else:
            verdict.passed(container.subject, f"{archive} exists and is writable", archived_files=len(folder.files))


@check("LOG-004", "no live log is far above its rotation threshold (Webapp 20 MB, Coreapp 15 MB)", "medium",
       remediation="Find why rotation stopped (logrotate not run, the Coreapp's internal rotation failing, a full "
                   "archive folder), then run the rotation once by hand.", reads=("read_inside",))
def test_log_004_live_logs_rotated(deployment, verdict):
    """No live `*.log` is above its threshold (Webapp 20 MiB, Coreapp/Master 15 MiB) ×
    `thresholds.log_tolerance` (1.5): rotation is really happening.

    R-LOG: Webapp rotates above 20 MB, Coreapp above 15 MB; a live log well beyond that means
    rotation is not happening.
    """
    tolerance = deployment.profile.thresholds.log_tolerance
    log_dir = deployment.profile.deployment.log_dir
    for container, snapshot in snapshots(deployment, verdict):
        if snapshot.log_dir.state != "present":
            verdict.error(container.subject, f"the log folder {log_dir} does not exist in the container (deployment.log_dir)")
            continue
        threshold = rules.WEBAPP_THRESHOLD if container.role == "webapp" else rules.COREAPP_THRESHOLD
        logs = live_logs(snapshot.log_dir.entries)
        verdict.judge(container.subject, rules.oversized(snapshot.log_dir.entries, threshold, tolerance),
                      passed=f"{len(logs)} live log(s), none above {rules.human(threshold * tolerance)}",
                      sizes={e.name: e.size for e in logs})


@check("LOG-005", "archived logs are compressed and at most 30 are kept per log", "low",
       remediation="Run the cleanup job (docker exec <container> /opt/whatsapp/bin/cleanup.sh, see CRON-002) and "
                   "make sure rotation compresses (LOG-002).", reads=("read_inside",))
def test_log_005_archive_contents(deployment, verdict):
    """Archived files are compressed, at most 30 per log.

    R-LOG: rotated files are compressed and the last 30 kept; Coreapp never deletes old ones itself.
    """
    archive = posixpath.join(deployment.profile.deployment.log_dir, "archive")
    for container, snapshot in snapshots(deployment, verdict):
        if snapshot.archive.state != "present":
            verdict.skipped(container.subject, f"no {archive} folder (see LOG-003)")
            continue
        files = snapshot.archive.files
        verdict.judge(container.subject, [f"{archive}: {p}" for p in rules.archive_problems(files)],
                      passed=f"{len(files)} archived file(s), all compressed, at most {rules.KEEP} per log")
