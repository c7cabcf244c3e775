"""Deviations of the `logs` section: log rotation (R-LOG, LOG-001..005).

They change files inside one container, through `docker exec` (busybox is in the images):
the Webapp's logrotate policy `/etc/logrotate.d/whatsapp` or its live web.log, or the log
archive of the first Coreapp that is not a Master (targets.py). Policy edits rewrite lines
of the file in place, as an operator's editor would (owner and mode stay root's 0644), and
set a value rather than replace the compliant one, so switching one on again is harmless.
Restoring ("inside") recreates the deployment's containers from their image.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lab.commands import run
from lab.deviations.registry import deviation
from lab.deviations.targets import affected_container, affected_webapp
from lab.errors import LabError
from lab.images import ARCHIVE_DIR, COREAPP_LOG, LOG_DIR, WEBAPP_LOGROTATE_PATH

if TYPE_CHECKING:
    from lab.deployment import Lab

OTHER_OLDDIR = f"{LOG_DIR}/old"
OVERSIZE_BYTES = 100 * 1024 * 1024      # 5x the Webapp's 20 MB threshold, as a sparse file
ARCHIVED_FILES = 45                     # above the 30 kept
INSIDE = {"inside"}


def exec_in(container: str, script: str, stdin: str | None = None) -> str:
    """Run a busybox sh `script` in `container` as root; its stdout."""
    argv = ["docker", "exec", *(["-i"] if stdin is not None else []), container,
            "sh", "-c", script]
    return run(argv, stdin=stdin, timeout=60).stdout


def _set_policy_lines(lab: Lab, pattern: str, replacement: str | None) -> None:
    """Replace the lines of the Webapp's policy matching `pattern` (on the stripped line) by
    `replacement`, indentation kept; None removes them."""
    container = affected_webapp(lab)
    text = exec_in(container, f"cat {WEBAPP_LOGROTATE_PATH}")
    lines, matched = [], 0
    for line in text.splitlines(keepends=True):
        if re.fullmatch(pattern, line.strip()):
            matched += 1
            if replacement is not None:
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(f"{indent}{replacement}\n")
        else:
            lines.append(line)
    if replacement is not None and not matched:
        raise LabError(f"{container}:{WEBAPP_LOGROTATE_PATH} has no line matching {pattern!r}")
    exec_in(container, f"cat > {WEBAPP_LOGROTATE_PATH}", stdin="".join(lines))


@deviation("log.rotate_7", "the Webapp's logrotate policy keeps 7 files (rotate 7)", INSIDE)
def rotate_7(lab: Lab) -> None:
    _set_policy_lines(lab, r"rotate \d+", "rotate 7")


@deviation("log.size_200M", "the Webapp's logrotate policy rotates above 200 MB (size 200M)",
           INSIDE)
def size_200m(lab: Lab) -> None:
    _set_policy_lines(lab, r"size \S+", "size 200M")


@deviation("log.nocompress", "the Webapp's logrotate policy says nocompress", INSIDE)
def nocompress(lab: Lab) -> None:
    _set_policy_lines(lab, r"(no)?compress", "nocompress")


@deviation("log.no_olddir", "the Webapp's logrotate policy has no olddir (archives beside "
           "the logs)", INSIDE)
def no_olddir(lab: Lab) -> None:
    _set_policy_lines(lab, r"olddir\s.*", None)


@deviation("log.other_olddir", f"the Webapp's logrotate policy archives to {OTHER_OLDDIR} "
           "(created, so the policy stays valid)", INSIDE)
def other_olddir(lab: Lab) -> None:
    exec_in(affected_webapp(lab), f"mkdir -p {OTHER_OLDDIR}")
    _set_policy_lines(lab, r"olddir\s.*", f"olddir {OTHER_OLDDIR}")


@deviation("log.no_config", f"{WEBAPP_LOGROTATE_PATH} is removed from the Webapp", INSIDE)
def no_config(lab: Lab) -> None:
    exec_in(affected_webapp(lab), f"rm -f {WEBAPP_LOGROTATE_PATH}")


@deviation("log.no_main_config", "the Webapp image keeps its policy in "
           f"{WEBAPP_LOGROTATE_PATH} but has no /etc/logrotate.conf (COMPLIANT: the image's rotation "
           "hands the folder to logrotate)", INSIDE)
def no_main_config(lab: Lab) -> None:
    exec_in(affected_webapp(lab), "rm -f /etc/logrotate.conf")


@deviation("log.folder_not_included", "/etc/logrotate.conf no longer includes /etc/logrotate.d "
           f"({WEBAPP_LOGROTATE_PATH} stays: COMPLIANT, handed to logrotate directly)", INSIDE)
def folder_not_included(lab: Lab) -> None:
    exec_in(affected_webapp(lab), "sed -i '/^[[:space:]]*include/d' /etc/logrotate.conf")


@deviation("log.no_rotation_config", "neither /etc/logrotate.conf nor /etc/logrotate.d/ in the "
           "Webapp", INSIDE)
def no_rotation_config(lab: Lab) -> None:
    exec_in(affected_webapp(lab), "rm -rf /etc/logrotate.conf /etc/logrotate.d")


@deviation("log.partial_config", "the Webapp's logrotate policy covers web.log only (not "
           "access.log, error.log)", INSIDE)
def partial_config(lab: Lab) -> None:
    _set_policy_lines(lab, rf"{LOG_DIR}/\S+( {LOG_DIR}/\S+)* {{", f"{LOG_DIR}/web.log {{")


@deviation("log.live_oversize", f"the Webapp's web.log is a sparse file of "
           f"{OVERSIZE_BYTES // 2**20} MiB (rotation not happening)", INSIDE)
def live_oversize(lab: Lab) -> None:
    exec_in(affected_webapp(lab), f"truncate -s {OVERSIZE_BYTES} {LOG_DIR}/web.log")


@deviation("log.archive_45", f"the first Coreapp's archive holds {ARCHIVED_FILES} compressed "
           f"{COREAPP_LOG}.N.gz files (30 are kept)", INSIDE)
def archive_45(lab: Lab) -> None:
    exec_in(affected_container(lab), (
        f"cd {ARCHIVE_DIR} && i=1 && while [ $i -le {ARCHIVED_FILES} ]; do "
        f"f={COREAPP_LOG}.$i.gz; [ -e $f ] || echo \"INFO wacore: rotated ($i)\" | gzip -c > $f; "
        "i=$((i + 1)); done"))


@deviation("log.archive_uncompressed", f"the first Coreapp's archived {COREAPP_LOG}.N.gz "
           f"files are decompressed ({COREAPP_LOG}.1, .2, ...)", INSIDE)
def archive_uncompressed(lab: Lab) -> None:
    exec_in(affected_container(lab), (
        f"cd {ARCHIVE_DIR} && for f in {COREAPP_LOG}.*.gz; do "
        '[ -e "$f" ] && gunzip -f "$f"; done; true'))


@deviation("log.no_archive_dir", f"{ARCHIVE_DIR} is removed from the first Coreapp", INSIDE)
def no_archive_dir(lab: Lab) -> None:
    exec_in(affected_container(lab), f"rm -rf {ARCHIVE_DIR}")
