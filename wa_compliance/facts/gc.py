"""What the GC decisions (rules/gc.py) read, each value with where it came from.

Rows from the messages table's statistics; pass_through and automatic GC from
`GET /v1/settings/application`, else as the profile declares them; traffic declared, else from the
API's request counter; API GC jobs from host cron, on this deployment's API host and port.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import FactUnavailable
from ..parsers.gc_job import GC_PATH, GcCommandError, gc_calls
from ..parsers.schedule import parse_window, schedule_facts
from ..rules import gc as rules


def _rows(deployment):
    try:
        table = deployment.messages_table
    except FactUnavailable:
        return None
    return rules.Known(table.rows, f"{table.name}, {table.source}")


def _settings(deployment):
    """(pass_through, automatic GC, why each unknown one is): each from the API when it has it,
    else as the profile declares it, setting by setting."""
    where = "GET /v1/settings/application"
    try:
        application, api_problem = deployment.application_settings, None
    except FactUnavailable as exc:
        application, api_problem = {}, f"the API could not be read ({exc})"
    pass_through = application.get("pass_through")
    pass_through = None if pass_through is None else rules.Known(bool(pass_through), where)
    newer = application.get("garbagecollector_enable")
    if isinstance(newer, dict) and "messages" in newer:
        auto_gc = rules.Known(bool(newer["messages"]), f"{where}, garbagecollector_enable.messages")
    elif "db_garbagecollector_enable" in application:
        auto_gc = rules.Known(bool(application["db_garbagecollector_enable"]), f"{where}, db_garbagecollector_enable")
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
    known = _declared(key, value, why)
    return known, (None if known else why)


def _declared(key, value, why):
    return None if value is None else rules.Known(value, f"declared in the profile ({key}); {why}")


def _traffic(deployment):
    declared = deployment.profile.traffic.peak_rps
    if declared is not None:
        return rules.Known(declared, "declared: traffic.peak_rps")
    try:
        return rules.Known(round(deployment.metrics_rps, 1), "Webapp /metrics request counter: the current rate, not the peak")
    except FactUnavailable:
        return None


def _api_jobs(deployment):
    """Host cron entries that PUT to this deployment's GC endpoint, in their command or in a script
    they run, with their schedule judged."""
    window = parse_window(deployment.profile.schedule.off_peak)
    api_host = urlsplit(deployment.profile.api.url).netloc if deployment.profile.api.url else None
    jobs = []
    for cron in deployment.cron_commands:
        if cron.ignored:
            continue
        calls = [(body, call) for body in cron.runs.bodies for call in _gc_calls(body.text)]
        if api_host:                          # not another deployment's GC job on the same host
            calls = [(body, call) for body, call in calls if urlsplit(call.url).netloc in ("", api_host)]
        if not calls:
            continue
        try:
            schedule = schedule_facts(cron.entry.schedule)
        except ValueError:
            continue
        body, call = calls[0]
        jobs.append(rules.ApiJob(" → ".join((cron.where, *body.located(call.text))), schedule.at_least_daily(),
                                 schedule.runs and not schedule.outside(window), schedule.description))
    return tuple(jobs)


def _gc_calls(text):
    try:
        return gc_calls(text)
    except GcCommandError:
        return ()                             # sh would not run it either


def _unfollowed(deployment):
    """Scripts cron entries run that could not be followed: where a GC call may hide."""
    return tuple(u.describe(c.where) for c in deployment.cron_commands if not c.ignored for u in c.runs.unfollowed
                 if not u.unknown or u.may_hold(GC_PATH))


def gather_gc_facts(deployment) -> rules.GcFacts:
    """The facts GC-002..006 decide on, with where each came from."""
    thresholds = deployment.profile.thresholds
    rows = _rows(deployment)
    pass_through, auto_gc, unknown = _settings(deployment)
    return rules.GcFacts(
        size=rules.size_class(rows.value if rows else None, thresholds.large_table_rows, thresholds.very_large_table_rows),
        rows=rows, pass_through=pass_through, auto_gc=auto_gc, rps=_traffic(deployment),
        jobs=_api_jobs(deployment), api_gc_rps=thresholds.api_gc_rps, unknown_settings=unknown,
        unfollowed=_unfollowed(deployment))
