"""cron — the cleanup schedule (R-CRON).

Source: "Recommandation de script de nettoyage": run `docker exec your-container-name
/opt/whatsapp/bin/cleanup.sh` periodically (daily) on all Webapp, Coreapp and Master
containers, from a cron job on the host, during off-peak hours.

Cron sources: root's crontab, /etc/crontab, /etc/cron.d/* and the profile's cron.users /
cron.files, read in one round trip (facts/host_cron.py), parsed as Debian cron reads them:
a cron.d file cron skips (a dot in its name, group-writable...) cleans nothing. A script on the
host that an entry runs is read in the same round trip and followed as sh runs it, to depth 3
(facts/cron_commands.py); one cron cannot run (missing, not executable) covers nothing and is named.
"""

from wa_compliance.check import check
from wa_compliance.facts.cron_commands import not_followed
from wa_compliance.parsers.cleanup_command import CLEANUP
from wa_compliance.parsers.schedule import schedule_facts
from wa_compliance.rules import cron as rules
from wa_compliance.subjects import containers_to_check, each_host, snapshots


def _window(deployment):
    """The off-peak window: schedule.off_peak, or `auto` read from the traffic history."""
    return deployment.off_peak.window


def _suggestion(deployment, containers) -> str:
    window = _window(deployment)
    line = rules.suggested_line([c.name for c in containers], rules.window_middle(window.start, window.end))
    return f"Add this line to /etc/cron.d/whatsapp-cleanup (no dot in the file name, owned by root, mode 644):\n{line}"


def _label(job) -> str:
    return f"{job.where} ({job.entry.schedule})"


@check("CRON-001", "a cron daemon runs on the host", "high",
       remediation="Start the host's cron daemon and enable it at boot (Debian: systemctl enable --now cron; "
                   "RHEL: systemctl enable --now crond).", reads=("host_cron",))
def test_cron_001_daemon_running(deployment, verdict):
    """A cron daemon process (cron, crond, cronie, fcron, dcron, supercronic...) runs on the host.

    R-CRON: the cleanup job runs from a cron job on the host: something must run cron jobs.
    """
    for host, cron in each_host(deployment, verdict, lambda h: h.host_cron):
        subject = f"cron daemon on {host.profile.target}"
        if cron.daemons:
            assumed = [d.assumption for d in cron.daemons if d.assumption]
            verdict.passed(subject, ", ".join(f"{d.label} (pid {d.pid})" for d in cron.daemons)
                           + (f"; {'; '.join(assumed)}" if assumed else ""))
        else:
            verdict.failed(subject, "no cron daemon process (cron, crond, cronie, fcron...) is running: "
                                    "no cron entry, the cleanup job included, ever runs")


@check("CRON-002", "host cron runs docker exec <container> /opt/whatsapp/bin/cleanup.sh for every Webapp, Coreapp "
                   "and Master container, and names no stale container", "high",
       remediation="Add one cron line running docker exec <name> /opt/whatsapp/bin/cleanup.sh for every container, "
                   "by name (IDs change at every upgrade).", reads=("host_cron", "destroyed_containers"))
def test_cron_002_every_container_cleaned(deployment, verdict):
    """Every Webapp/Coreapp/Master container is cleaned by an entry cron really runs: `docker exec
    NAME`, a full or short ID, or a loop over `docker ps --filter ...` whose filter selects it; an
    entry naming a container that no longer exists is failed as **stale**, with the container it
    most likely meant. An entry that runs a script on the host is followed into it, as sh runs it,
    to depth 3 (facts/cron_commands.py).

    R-CRON: run cleanup.sh on all Webapp, Coreapp and Master containers from host cron.
    """
    containers = containers_to_check(deployment, verdict)
    if not containers:
        return
    for host, found in each_host(deployment, verdict, lambda h: h.cleanup_coverage):
        # each host's cron cleans that host's containers
        _judge_coverage(host, found, [c for c in containers if c.host == host.label], verdict)


def _judge_coverage(host, found, containers, verdict) -> None:
    suggestion = _suggestion(host, containers)
    unreadable = [s.path for s in host.host_cron.sources if s.state == "unreadable"]
    unfollowed = not_followed(host.cron_commands, "cleanup.sh")
    unknown = [note for note, commands_unknown in unfollowed if commands_unknown]
    for container in containers:
        jobs = found.jobs.get(container.name)
        if jobs:
            verdict.passed(container.subject, f"cleaned by {', '.join(host.subject(_label(j)) for j in jobs)}",
                           entries=[host.subject(j.where) for j in jobs])
            continue
        why = [f"{j.where} would, but cron ignores that file: {j.ignored}" for j in found.ignored.get(container.name, [])]
        why += [s.describe() for s in found.stale if container.name in s.likely]
        why += [note for note, commands_unknown in unfollowed if not commands_unknown]
        message = f"no cron entry runs {CLEANUP} in {container.name}" + (f" ({'; '.join(why)})" if why else "")
        if host.label:
            message += f" on {host.label}"
        if unreadable:
            verdict.error(container.subject, f"{message}, but {', '.join(unreadable)} could not be read: "
                                          "audit as a user who can read them")
        elif unknown:
            verdict.error(container.subject, f"{message}, but what some scripts run is unknown: {'; '.join(unknown)}")
        else:
            verdict.failed(container.subject, message, remediation=suggestion)
    for stale in found.stale:
        verdict.failed(host.subject(stale.job.where), stale.describe(), remediation=suggestion, stale_target=stale.target,
                       likely=list(stale.likely), entry=stale.job.entry.raw)


def _judged_jobs(deployment, verdict):
    """The cleanup entries of this deployment, each with its schedule's facts."""
    containers = containers_to_check(deployment, verdict)
    for host, found in each_host(deployment, verdict, lambda h: h.cleanup_coverage):
        jobs = found.relevant_jobs() if containers else []
        if containers and not jobs:
            verdict.skipped(host.host_subject, "no cron entry runs cleanup.sh for this deployment (see CRON-002)")
        for job in jobs:
            try:
                yield host.subject(job.entry_where), job, schedule_facts(job.entry.schedule)
            except ValueError as exc:
                verdict.failed(host.subject(job.entry_where), f"schedule {job.entry.schedule!r} is not valid: {exc}")


@check("CRON-003", "each cleanup entry runs at least once every 24 hours", "medium",
       remediation="Schedule the cleanup entry daily, e.g. '30 3 * * *' (minute hour, every day).",
       reads=("host_cron", "engine_containers"))
def test_cron_003_daily(deployment, verdict):
    """Each cleanup entry of this deployment runs at least once every 24 h.

    R-CRON: run the cleanup script periodically — daily.
    """
    for where, job, schedule in _judged_jobs(deployment, verdict):
        if schedule.at_least_daily():
            verdict.passed(where, f"runs {schedule.description}", schedule=job.entry.schedule)
        else:
            gap = f"; up to {_days(schedule.longest_gap)} between runs" if schedule.longest_gap else ""
            verdict.failed(where, f"runs {schedule.description} ({job.entry.schedule}){gap}: "
                                      "expected at least once every 24 h", schedule=job.entry.schedule)


def _days(gap) -> str:
    hours = gap.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


@check("CRON-004", "each cleanup entry runs inside the off-peak window", "low",
       remediation="Move the cleanup entry's minute and hour into the off-peak window (profile schedule.off_peak).",
       reads=("host_cron", "engine_containers", "off_peak"))
def test_cron_004_off_peak(deployment, verdict):
    """Each such entry fires only inside `schedule.off_peak` (default `00:00-06:00`, host time; may
    wrap midnight, e.g. `22:00-04:00`).

    R-CRON: the cleanup job runs during off-peak hours (profile schedule.off_peak, default
    00:00-06:00).
    """
    window, source = deployment.off_peak.window, deployment.off_peak.source
    told = "" if source == "schedule.off_peak" else f"; {source}"
    for where, job, schedule in _judged_jobs(deployment, verdict):
        if not schedule.runs:
            verdict.skipped(where, f"runs {schedule.description}, never at a time of day (see CRON-003)")
            continue
        outside = schedule.outside(window)
        shown = ", ".join(t.strftime("%H:%M") for t in outside[:5]) + (" ..." if len(outside) > 5 else "")
        verdict.judge(where, [f"runs at {shown}, outside the off-peak window {window} (host time{told})"] if outside else [],
                      passed=f"runs {schedule.description}, inside {window}{told}", schedule=job.entry.schedule)


@check("CRON-005", "/opt/whatsapp/bin/cleanup.sh exists and is executable in every container it must run in", "high",
       remediation="Recreate the container from Meta's image (docker-compose up -d --force-recreate): the image ships "
                   "/opt/whatsapp/bin/cleanup.sh, mode 755.", reads=("read_inside",))
def test_cron_005_cleanup_script_present(deployment, verdict):
    """`/opt/whatsapp/bin/cleanup.sh` exists and is executable in every container.

    R-CRON: the cron job runs /opt/whatsapp/bin/cleanup.sh inside each container.
    """
    for container, snapshot in snapshots(deployment, verdict):
        script = snapshot.cleanup
        if not script.present:
            verdict.failed(container.subject, f"{CLEANUP} does not exist in {container.name}")
        elif not script.executable:
            verdict.failed(container.subject, f"{CLEANUP} is not executable in {container.name} "
                                           f"(mode {script.mode}, {script.kind})")
        else:
            verdict.passed(container.subject, f"{CLEANUP} is executable (mode {script.mode})")
