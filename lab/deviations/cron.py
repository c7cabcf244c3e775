"""Deviations of the `cron` section: the host's cleanup schedule (R-CRON, CRON-001..005).

Most edit the deployment's cron file (`Lab.cron_file`) line by line, as an operator would,
keeping its header and the lines they do not concern, so two of them can be on at once;
restoring ("cron") rewrites the compliant file. cron.ps_loop is the compliant variant many
operators use: one loop over `docker ps`. The stale-ID ones do what an upgrade does to a
cron file naming containers by ID: the Webapp's line names its current ID, then Compose
recreates the Webapp, so that ID exists no more (recorded in `Lab.stale_container_id()`).
cleanup.sh deviations change the first Coreapp that is not a Master (targets.py); restoring
("inside") recreates the deployment's containers from their image. cron.daemon_stopped stops
the host's cron daemon, for every deployment on this host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from lab import cron as host_cron
from lab.commands import run
from lab.compose import PROJECT_LABEL
from lab.deviations.logs import exec_in
from lab.deviations.registry import deviation, switch_on_again
from lab.deviations.targets import affected_container, affected_webapp, webapp_service
from lab.errors import LabError
from lab.images import image_tag

if TYPE_CHECKING:
    from lab.deployment import Lab

AT_14H = "0 14 * * *"           # daily, but at peak time
WEEKLY = "30 3 * * 0"           # off-peak, but Sundays only
SHORT_ID = 12                   # `docker ps` shows IDs this long


def _is_entry(line: str) -> bool:
    """A schedule line (not a comment, a blank or a variable like PATH=)."""
    return line[:1].isdigit() or line[:1] in "*@"


def _edit_entries(lab: Lab, edit: Callable[[list[str]], list[str]], note: str) -> None:
    """Replace the cron file's schedule lines by `edit(them)`; a first comment says why."""
    try:
        lines = lab.cron_file.read_text().splitlines()
    except FileNotFoundError:
        raise LabError(f"{lab.cron_file} is missing (run: python -m lab up --project "
                       f"{lab.project})") from None
    others = [line for line in lines if not _is_entry(line)]
    entries = edit([line for line in lines if _is_entry(line)])
    text = "\n".join([f"# wa-lab deviation: {note}", *others, *entries]) + "\n"
    host_cron.write(lab.cron_file, text)


def _naming(container: str) -> Callable[[str], bool]:
    return lambda line: f" docker exec {container} " in line


def _rescheduled(entries: list[str], schedule: str) -> list[str]:
    return [f"{schedule} {line.split(maxsplit=5)[5]}" for line in entries]


def _loop_only(lab: Lab, docker_filter: str, note: str) -> None:
    _edit_entries(lab, lambda entries: [host_cron.loop_line(docker_filter)], note)


@deviation("cron.missing_container", "the cron file has no line for the first Coreapp "
           "(wacore / wacore1)", {"cron"})
def missing_container(lab: Lab) -> None:
    named = _naming(affected_container(lab))
    _edit_entries(lab, lambda entries: [line for line in entries if not named(line)],
                  f"no line for {affected_container(lab)}")


def _stale_webapp_id(lab: Lab, length: int | None, note: str) -> None:
    """Name the Webapp by its ID (`length` first characters), then recreate it (an upgrade)."""
    webapp = affected_webapp(lab)
    stale = _container_id(webapp)[:length]
    named = _naming(webapp)
    _edit_entries(lab, lambda entries: [
        line.replace(f" {webapp} ", f" {stale} ") if named(line) else line for line in entries],
        note)
    lab.stale_id_record.write_text(stale + "\n")
    lab.compose.recreate([webapp_service(lab)])
    if _container_id(webapp).startswith(stale):
        raise LabError(f"{webapp} kept its ID {stale} when recreated")
    # The new container comes from the image: what deviations changed inside is gone.
    switch_on_again(lab, lab.active_deviations(), frozenset({"inside"}))


def _container_id(name: str) -> str:
    return json.loads(run(["docker", "inspect", "--format", "{{json .Id}}", name],
                          timeout=30).stdout)


@deviation("cron.stale_full_id", "the Webapp's line names it by its full ID, then the Webapp "
           "is recreated (as at an upgrade): the ID is stale", {"cron"})
def stale_full_id(lab: Lab) -> None:
    _stale_webapp_id(lab, None, "the Webapp's line names a container ID gone at an upgrade")


@deviation("cron.stale_short_id", f"the Webapp's line names it by its {SHORT_ID}-character "
           "ID, then the Webapp is recreated (as at an upgrade): the ID is stale", {"cron"})
def stale_short_id(lab: Lab) -> None:
    _stale_webapp_id(lab, SHORT_ID, "the Webapp's line names a short ID gone at an upgrade")


@deviation("cron.at_14h", f"every line runs at {AT_14H!r} (daily, outside off-peak)",
           {"cron"})
def at_14h(lab: Lab) -> None:
    _edit_entries(lab, lambda entries: _rescheduled(entries, AT_14H), f"every line at {AT_14H}")


@deviation("cron.weekly", f"every line runs at {WEEKLY!r} (off-peak, but weekly)", {"cron"})
def weekly(lab: Lab) -> None:
    _edit_entries(lab, lambda entries: _rescheduled(entries, WEEKLY), f"every line at {WEEKLY}")


@deviation("cron.ps_loop", "one loop over `docker ps` filtered by the Compose project label "
           "replaces the lines (COMPLIANT: covers every container)", {"cron"})
def ps_loop(lab: Lab) -> None:
    _loop_only(lab, f"label={PROJECT_LABEL}={lab.project}",
               "one loop over every container of the deployment")


@deviation("cron.ps_loop_partial", "one loop over `docker ps --filter ancestor=<web image>` "
           "replaces the lines: it covers the Webapp only", {"cron"})
def ps_loop_partial(lab: Lab) -> None:
    _loop_only(lab, f"ancestor={image_tag('web', lab.version)}",
               "one loop over the Webapp image's containers only")


def _loop_script(lab: Lab) -> str:
    """A wrapper script as operators write them: a loop over the deployment's containers."""
    return "\n".join([
        "#!/bin/sh",
        f"# wa-lab deployment {lab.project!r}: cleanup.sh in every container of the deployment (R-CRON)",
        "set -u",
        f"for c in $(docker ps -q --filter label={PROJECT_LABEL}={lab.project}); do",
        f'    docker exec "$c" {host_cron.CLEANUP} || echo "cleanup failed in $c" >&2',
        "done",
    ]) + "\n"


def _via_script(lab: Lab, mode: int | None, note: str) -> None:
    """One line runs <state>/bin/wa-cleanup.sh; `mode` None: the script is not there."""
    path = lab.scripts_dir / "wa-cleanup.sh"
    if mode is None:
        path.unlink(missing_ok=True)
    else:
        host_cron.write_script(path, _loop_script(lab), mode)
    _edit_entries(lab, lambda entries: [f"{host_cron.OFF_PEAK} root {path} >/dev/null 2>&1"], note)


@deviation("cron.via_script", "one line runs a script on the host that loops over `docker ps` "
           "filtered by the Compose project label (COMPLIANT: the script is followed)", {"cron"})
def via_script(lab: Lab) -> None:
    _via_script(lab, 0o755, "one line runs a cleanup script")


@deviation("cron.via_script_missing", "one line runs a cleanup script that does not exist", {"cron"})
def via_script_missing(lab: Lab) -> None:
    _via_script(lab, None, "one line runs a cleanup script that is not there")


@deviation("cron.via_script_not_executable", "one line runs a cleanup script by its path, but the "
           "script is mode 0644: cron's sh cannot run it", {"cron"})
def via_script_not_executable(lab: Lab) -> None:
    _via_script(lab, 0o644, "one line runs a cleanup script that is not executable")


@deviation("cron.no_cleanup_script", f"{host_cron.CLEANUP} is removed from the first Coreapp",
           {"inside"})
def no_cleanup_script(lab: Lab) -> None:
    exec_in(affected_container(lab), f"rm -f {host_cron.CLEANUP}")


@deviation("cron.cleanup_not_executable", f"{host_cron.CLEANUP} is mode 0644 in the first Coreapp",
           {"inside"})
def cleanup_not_executable(lab: Lab) -> None:
    exec_in(affected_container(lab), f"chmod 0644 {host_cron.CLEANUP}")


@deviation("cron.daemon_stopped", "the host's cron daemon is stopped (for every deployment "
           "on this host)", {"daemon"})
def daemon_stopped(lab: Lab) -> None:
    host_cron.stop_daemon()
