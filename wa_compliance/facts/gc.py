"""What the GC decisions (rules/gc.py) read, each value with where it came from.

Rows from the messages table's statistics; pass_through and automatic GC from
`GET /v1/settings/application`, else as the profile declares them; traffic declared, else from the
API's request counter; API GC jobs from host cron, on this deployment's API host and port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

from ..errors import FactUnavailable
from ..parsers.gc_job import GC_PATH, GcCommandError, gc_calls
from ..parsers.schedule import schedule_facts
from .cached import fact
from .cron_commands import not_followed
from .history import TrafficHistory
from .traffic import OffPeak


class SizeClass(str, Enum):
    NORMAL = "normal"
    LARGE = "large"
    VERY_LARGE = "very large"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Known:
    """A value and where it came from ("GET /v1/settings/application", "declared in the profile"...)."""

    value: object
    source: str


@dataclass(frozen=True)
class ApiJob:
    where: str               # file:line of the cron entry
    daily: bool
    off_peak: bool
    description: str         # "at 03:00 every day"


@dataclass(frozen=True)
class GcFacts:
    size: SizeClass
    rows: Known | None
    pass_through: Known | None
    auto_gc: Known | None
    rps: Known | None
    jobs: tuple[ApiJob, ...]
    api_gc_rps: float = 120
    # why each unknown setting is unknown ("pass_through" / "automatic GC" -> reason)
    unknown_settings: Mapping[str, str] = field(default_factory=dict)
    # scripts cron entries run that could not be followed ("/etc/cron.d/x:3 runs /y.sh, which does not exist")
    unfollowed: tuple[str, ...] = ()
    rps_is_peak: bool = True            # False: the counter's rate now, which proves only a busy hour
    history: TrafficHistory | None = None   # from Prometheus: the peak, the hours, the GC calls made
    history_problem: str | None = None      # why the history could not be read
    off_peak: OffPeak | None = None


def size_class(rows: int | None, large: int, very_large: int) -> SizeClass:
    if rows is None:
        return SizeClass.UNKNOWN
    if rows > very_large:
        return SizeClass.VERY_LARGE
    return SizeClass.LARGE if rows > large else SizeClass.NORMAL


def _rows(deployment):
    try:
        table = deployment.messages_table
    except FactUnavailable:
        return None
    return Known(table.rows, f"{table.name}, {table.source}")


def _settings(deployment):
    """(pass_through, automatic GC, why each unknown one is): each from the API when it has it,
    else as the profile declares it, setting by setting."""
    where = "GET /v1/settings/application"
    try:
        application, api_problem = deployment.application_settings, None
    except FactUnavailable as exc:
        application, api_problem = {}, f"the API could not be read ({exc})"
    pass_through = application.get("pass_through")
    pass_through = None if pass_through is None else Known(bool(pass_through), where)
    newer = application.get("garbagecollector_enable")
    if isinstance(newer, dict) and "messages" in newer:
        auto_gc = Known(bool(newer["messages"]), f"{where}, garbagecollector_enable.messages")
    elif "db_garbagecollector_enable" in application:
        auto_gc = Known(bool(application["db_garbagecollector_enable"]), f"{where}, db_garbagecollector_enable")
    else:
        auto_gc = None
    declared = deployment.profile.settings
    pass_through, pass_through_why = _or_declared(pass_through, "settings.pass_through", declared.pass_through, api_problem)
    auto_gc, auto_gc_why = _or_declared(auto_gc, "settings.db_garbagecollector_enable",
                                        declared.db_garbagecollector_enable, api_problem)
    unknown = {name: why for name, why in (("pass_through", pass_through_why), ("automatic GC", auto_gc_why)) if why}
    return pass_through, auto_gc, unknown


def _or_declared(from_api, key, value, api_problem):
    """(the setting, why it is unknown): the API's value, else the profile's, else (None, the reason)."""
    if from_api is not None:
        return from_api, None
    why = api_problem or "GET /v1/settings/application answered without it"
    if value is None:
        return None, why
    return Known(value, f"declared in the profile ({key}); {why}"), None


def _history(deployment):
    """(the Prometheus history, why it could not be read): both None without traffic.prometheus."""
    if not deployment.profile.traffic.prometheus.url:
        return None, None
    try:
        return deployment.traffic_history, None
    except FactUnavailable as exc:
        return None, str(exc)


def _traffic(deployment, history, problem):
    """(the peak, or the rate now; whether it is the peak): the profile's declared peak; else the
    Prometheus history's; else the API's request counter read now — above the threshold that
    proves a busy deployment, at or below it says nothing of the day's peak."""
    declared = deployment.profile.traffic.peak_rps
    if declared is not None:
        return Known(declared, "declared: traffic.peak_rps"), True
    if history is not None:
        return Known(round(history.peak, 1), history.describe_peak()), True
    try:
        rate = deployment.metrics_rps
    except FactUnavailable:
        return None, True
    source = "Webapp /metrics request counter: the rate now, not the peak"
    return Known(round(rate, 1), source + (f" (Prometheus: {problem})" if problem else "")), False


def _api_jobs(deployment):
    """Host cron entries that PUT to this deployment's GC endpoint, in their command or in a script
    they run, with their schedule judged."""
    window = deployment.off_peak.window
    api_host = urlsplit(deployment.profile.api.url).netloc if deployment.profile.api.url else None
    jobs = []
    for site, cron in _deployment_cron(deployment):
        if cron.ignored:
            continue
        calls = [(body, call) for body in cron.runs.bodies for call in _gc_calls(body.text)]
        if api_host:                          # not another deployment's GC job on the same host
            ours = {"", api_host, *_webapp_addresses(site)}
            calls = [(body, call) for body, call in calls if urlsplit(call.url).netloc in ours]
        if not calls:
            continue
        try:
            schedule = schedule_facts(cron.entry.schedule)
        except ValueError:
            continue
        body, call = calls[0]
        jobs.append(ApiJob(" → ".join((site.subject(cron.where), *body.located(call.text))),
                           schedule.at_least_daily(), schedule.runs and not schedule.outside(window),
                           schedule.description))
    return tuple(jobs)


def _webapp_addresses(site) -> set[str]:
    """host:port a job on `site` reaches one of the deployment's Webapps at: a port a Webapp of
    that host publishes, on the host itself (localhost, 127.0.0.1, its name)."""
    try:
        ports = {port for c in site.containers if c.role == "webapp" for port in c.published}
    except FactUnavailable:
        return set()
    names = {"localhost", "127.0.0.1", site.label, urlsplit(site.profile.target).hostname} - {"", None}
    return {f"{name}:{port}" for name in names for port in ports}


def _per_host(deployment, read):
    """(host, read(host), why it failed) for every host of the deployment; one host alone: its
    failure is the checks' own, raised."""
    for site in deployment.deployment_hosts:
        try:
            yield site, read(site), None
        except FactUnavailable as exc:
            if len(deployment.deployment_hosts) == 1:
                raise
            yield site, None, str(exc)


def _deployment_cron(deployment):
    """(host, cron entry) of every host of the deployment: on a deployment spread over hosts,
    the jobs of all of them count (a host whose cron cannot be read is in _unreadable_cron)."""
    for site, commands, _ in _per_host(deployment, lambda site: site.cron_commands):
        for cron in commands or ():
            yield site, cron


def _unreadable_cron(deployment):
    notes = []
    for site, commands, why in _per_host(deployment, lambda site: site.cron_commands):
        if why:
            notes.append(f"{site.label}: cron not read ({why})")
        else:
            notes += [site.subject(note) for note, _ in not_followed(commands, GC_PATH)]
    return tuple(notes)


def _gc_calls(text):
    try:
        return gc_calls(text)
    except GcCommandError:
        return ()                             # sh would not run it either


class GarbageCollectionFacts:
    @fact
    def gc_facts(self) -> GcFacts:
        """Everything GC-002..006 decide on (table size, settings, traffic, API GC jobs), with where
        each came from."""
        thresholds = self.profile.thresholds
        rows = _rows(self)
        history, problem = _history(self)
        rps, is_peak = _traffic(self, history, problem)
        pass_through, auto_gc, unknown = _settings(self)
        return GcFacts(
            size=size_class(rows.value if rows else None, thresholds.large_table_rows,
                            thresholds.very_large_table_rows),
            rows=rows, pass_through=pass_through, auto_gc=auto_gc, rps=rps, rps_is_peak=is_peak,
            history=history, history_problem=problem, off_peak=self.off_peak,
            jobs=_api_jobs(self), api_gc_rps=thresholds.api_gc_rps, unknown_settings=unknown,
            # scripts cron entries run that could not be followed: where a GC call may hide
            unfollowed=_unreadable_cron(self))
