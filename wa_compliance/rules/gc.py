"""R-GC decisions: one pure function per check, from the facts (facts/gc.py) to GC-002 … GC-006.

Source ("Gestion des données", garbage collection): a messages table above 2,000,000 rows is a
large database. Automatic garbage collection (`db_garbagecollector_enable`) keeps the database
stable: the upgrade to v2.29.1+ enables it for businesses that had `pass_through` enabled, and
the document recommends enabling it after the upgrade; nothing in it asks to disable it, so at
≤ 120 rps it must be on. Above 120 requests/second, garbage-collect through the API
(`PUT /v1/services/message/gc`) instead, once every 24 hours off-peak; above 10,000,000 rows
one call may not be enough. API-driven GC is best avoided otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..facts.gc import GcFacts, Known, SizeClass
from ..model import Outcome


@dataclass(frozen=True)
class Decision:
    verdict: Outcome                # pass, fail or skip
    message: str
    severity: str | None = None     # overrides the check's own (GC-003: high only for large tables)


MAX_GAP = dt.timedelta(hours=25)    # "every 24 h", with an hour of slack for a job's own drift


def high_traffic(facts: GcFacts) -> bool | None:
    """Above the threshold? None when unknown — also when only the rate now was read and it is
    at or below the threshold: an audit at night cannot tell the day's peak."""
    if facts.rps is None:
        return None
    busy = facts.rps.value > facts.api_gc_rps
    return busy if busy or facts.rps_is_peak else None


def _unknown_peak(facts: GcFacts) -> str:
    give = "declare traffic.peak_rps in the profile, or give traffic.prometheus (the Prometheus scraping /metrics)"
    if facts.history_problem:
        give = f"the history could not be read ({facts.history_problem}); or declare traffic.peak_rps"
    if facts.rps is None:
        return f"traffic unknown: {give}"
    return (f"peak traffic unknown: the rate now is {facts.rps.value:g} rps, at or below {facts.api_gc_rps:g}, "
            f"and a quiet hour says nothing of the day's peak; {give}")


def _traffic(facts: GcFacts) -> str:
    if facts.rps is None:
        return "traffic unknown"
    return f"{facts.rps.value:g} rps ({facts.rps.source})"


def _setting(name: str, known: Known) -> str:
    return f"{name} is {str(known.value).lower()} ({known.source})"


SETTING_KEYS = {"pass_through": "settings.pass_through", "automatic GC": "settings.db_garbagecollector_enable"}


def settings_known(facts: GcFacts) -> Decision:
    """GC-002: each setting from the API, else from the profile; the message says which came from where."""
    known = {"pass_through": facts.pass_through, "automatic GC": facts.auto_gc}
    missing = [name for name, value in known.items() if value is None]
    if not missing:
        return Decision(Outcome.PASS, f"{_setting('pass_through', facts.pass_through)}; "
                                      f"{_setting('automatic GC', facts.auto_gc)}")
    why = {name: facts.unknown_settings.get(name, "the API could not be read") for name in missing}
    if len(missing) == 2 and len(set(why.values())) == 1:
        message = f"pass_through and automatic GC unknown: {why[missing[0]]}, and the profile declares no settings"
    else:
        message = "; ".join(f"{name} unknown: {why[name]}, and the profile does not declare {SETTING_KEYS[name]}"
                            for name in missing)
        message += "".join(f"; {_setting(name, value)}" for name, value in known.items() if value is not None)
    return Decision(Outcome.FAIL, message)


def automatic_gc_enabled(facts: GcFacts) -> Decision:
    """GC-003: at ≤ 120 rps (or unknown traffic, assumed so), automatic GC is enabled.

    Disabled fails by risk: high when pass_through is off and the table large (messages
    accumulate and nothing collects them), medium when pass_through is off and the table is
    not known to be large, low when pass_through is on (the client discards messages itself).
    An unknown pass_through is taken as off, the riskier case, and said."""
    if high_traffic(facts):
        return Decision(Outcome.SKIP, f"traffic is above {facts.api_gc_rps:g} rps ({_traffic(facts)}): "
                                      "garbage collection goes through the API (GC-004)")
    if facts.auto_gc is None:
        return Decision(Outcome.SKIP, "automatic GC unknown (see GC-002)")
    assumed = "" if high_traffic(facts) is not None else (
        f"; traffic unknown, assumed ≤ {facts.api_gc_rps:g} rps" if facts.rps is None else
        f"; peak unknown (the rate now is {facts.rps.value:g} rps), assumed ≤ {facts.api_gc_rps:g} rps")
    shown = [_setting("automatic GC", facts.auto_gc)]
    if facts.pass_through is not None:
        shown.insert(0, _setting("pass_through", facts.pass_through))
    evidence = ", ".join(shown) + assumed
    if facts.auto_gc.value:
        return Decision(Outcome.PASS, evidence)
    large = facts.size in (SizeClass.LARGE, SizeClass.VERY_LARGE)
    table = (f"the messages table is {facts.size.value} ({facts.rows.value:,} rows, {facts.rows.source})"
             if facts.rows is not None else "the messages table's size is unknown (see GC-001)")
    if facts.pass_through is not None and facts.pass_through.value:
        why, severity = "pass_through is on, so the client already discards delivered messages", "low"
    else:
        off = "pass_through is off" if facts.pass_through is not None else "pass_through is unknown (taken as off)"
        if large:
            why, severity = f"{off} and {table}: messages accumulate and nothing collects them", "high"
        else:
            why, severity = f"{off}: messages accumulate and nothing collects them; {table}", "medium"
    return Decision(Outcome.FAIL, f"{evidence}: automatic GC must be enabled at ≤ {facts.api_gc_rps:g} rps; {why}",
                    severity=severity)


def api_gc_scheduled(facts: GcFacts) -> Decision:
    """GC-004: above 120 rps, a host job calls PUT /v1/services/message/gc daily, off-peak."""
    busy = high_traffic(facts)
    if busy is None:
        return Decision(Outcome.SKIP, _unknown_peak(facts))
    if not busy:
        return Decision(Outcome.SKIP, f"traffic {_traffic(facts)} is at most {facts.api_gc_rps:g} rps: "
                                      "automatic GC applies (GC-003)")
    if facts.history is not None:
        return _gc_as_recorded(facts)
    good = [job for job in facts.jobs if job.daily and job.off_peak]
    if good:
        return Decision(Outcome.PASS, f"{_traffic(facts)}; {good[0].where} calls the GC endpoint {good[0].description}")
    if not facts.jobs:
        unfollowed = f" (not followed: {'; '.join(facts.unfollowed)})" if facts.unfollowed else ""
        return Decision(Outcome.FAIL, f"{_traffic(facts)} is above {facts.api_gc_rps:g} rps and no host cron job calls "
                                      f"PUT /v1/services/message/gc{unfollowed}")
    shown = "; ".join(f"{job.where} runs {job.description}"
                      f"{'' if job.daily else ', not daily'}{'' if job.off_peak else ', outside the off-peak window'}"
                      for job in facts.jobs)
    return Decision(Outcome.FAIL, f"{_traffic(facts)}: the GC job must run at least every 24 h off-peak: {shown}")


def _gc_as_recorded(facts: GcFacts) -> Decision:
    """GC-004 from the client's own record (Prometheus): the successful GC calls over the window
    — from a host job or from the integration, whichever made them — judged as they ran."""
    history, window = facts.history, facts.off_peak.window
    calls = [call.at for call in history.gc_calls]
    where = f"{history.url}, {history.window}"
    if not calls:
        jobs = f"; {', '.join(job.where for job in facts.jobs)} is scheduled but never ran" if facts.jobs else ""
        return Decision(Outcome.FAIL, f"{_traffic(facts)}: no successful PUT /v1/services/message/gc in the "
                                      f"client's record ({where}){jobs}")
    problems = []
    edges = [history.first, *calls, history.last]
    for before, after in zip(edges, edges[1:]):
        if before is not None and after is not None and after - before > MAX_GAP:
            hours = (after - before).total_seconds() / 3600
            what = "since the last call" if after is history.last else f"before the call of {after:%Y-%m-%d %H:%M}"
            problems.append(f"no call for {hours:.0f} h {what}")
    outside = [call for call in calls if call.time() not in window]
    if outside:
        shown = ", ".join(f"{call:%a %H:%M}" for call in outside[:5]) + (" ..." if len(outside) > 5 else "")
        problems.append(f"{len(outside)} call(s) outside the off-peak window {window} ({facts.off_peak.source}): {shown}")
    hours = sorted({f"{call:%H:%M}" for call in calls})
    told = (f"{len(calls)} successful GC calls in the client's record ({where}), the last on "
            f"{calls[-1]:%Y-%m-%d %H:%M}, at {', '.join(hours[:6])}")
    if problems:
        return Decision(Outcome.FAIL, f"{_traffic(facts)}; {told}: " + "; ".join(problems))
    return Decision(Outcome.PASS, f"{_traffic(facts)}; {told}: every 24 h, inside {window}")


def api_gc_discouraged(facts: GcFacts) -> Decision:
    """GC-005: at ≤ 120 rps, API-driven GC is scheduled although automatic GC would do."""
    busy = high_traffic(facts)
    if busy is None:
        return Decision(Outcome.SKIP, _unknown_peak(facts))
    if busy:
        return Decision(Outcome.SKIP, f"traffic {_traffic(facts)} is above {facts.api_gc_rps:g} rps: API GC is the rule")
    if facts.history is not None and facts.history.gc_calls:
        last = facts.history.gc_calls[-1].at
        return Decision(Outcome.FAIL, f"traffic {_traffic(facts)} is at most {facts.api_gc_rps:g} rps, yet the client "
                                      f"recorded {len(facts.history.gc_calls)} calls to PUT /v1/services/message/gc "
                                      f"(the last on {last:%Y-%m-%d %H:%M}): this ties cleanup to the integration; "
                                      "prefer automatic GC")
    if facts.jobs:
        where = ", ".join(job.where for job in facts.jobs)
        return Decision(Outcome.FAIL, f"traffic {_traffic(facts)} is at most {facts.api_gc_rps:g} rps, yet {where} "
                                      "calls PUT /v1/services/message/gc: this ties cleanup to the integration; "
                                      "prefer automatic GC")
    return Decision(Outcome.PASS, f"no API GC job, traffic {_traffic(facts)}")


def very_large_note(facts: GcFacts, very_large: int) -> Decision:
    """GC-006 (info): above 10 M rows one GC call may not be enough."""
    if facts.size is not SizeClass.VERY_LARGE:
        return Decision(Outcome.SKIP, f"the messages table is {facts.size.value}, not above {very_large:,} rows")
    note = (f"the messages table has {facts.rows.value:,} rows ({facts.rows.source}), above {very_large:,}: "
            "one garbage-collection pass may not be enough")
    if facts.jobs or high_traffic(facts):
        note += "; the API GC job must repeat until its callbacks report no error"
    return Decision(Outcome.PASS, note)
