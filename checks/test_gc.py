"""gc — database size and garbage collection (R-GC), the checks that gate an upgrade.

Source: "Gestion des données", *Garbage collection*. A messages table above 2,000,000 rows
is a large database. Since v2.29.1 pass_through defaults to false, which grows the table.
Automatic GC (`db_garbagecollector_enable`) keeps the database stable: the upgrade enables it for
businesses that had pass_through enabled, and the document recommends enabling it after the
upgrade. Above 120 requests/second, garbage-
collect through the API (`PUT /v1/services/message/gc`) once every 24 h off-peak, after marking
messages as read; above 10,000,000 rows one call may not be enough. API-driven GC is best avoided
otherwise.

Reads: the engine's statistics (one read-only session), `GET /v1/settings/application` and
`GET /metrics` after one login (never a PUT or PATCH), host cron, gathered once per host by
facts/gc.py. Decisions: rules/gc.py.
"""

from wa_compliance.check import check
from wa_compliance.errors import FactUnavailable
from wa_compliance.facts.gc import size_class
from wa_compliance.model import Outcome
from wa_compliance.parsers.schedule import schedule_facts
from wa_compliance.rules import gc as rules

# what GC-002..006 decide on (gc_facts): the counter's first reading first, its window is the audit
GC_READS = ("first_counter_reading", "application_settings", "messages_table", "host_cron", "traffic_history",
            "off_peak")
ENABLE_AUTOMATIC_GC = ('PATCH /v1/settings/application with {"db_garbagecollector_enable": true} '
                       '(newer clients: {"garbagecollector_enable": {"messages": true}})')


def _thresholds(deployment):
    return deployment.profile.thresholds


def _record(verdict, subject, decision, remediation=None, **evidence):
    if decision.verdict is Outcome.PASS:
        verdict.passed(subject, decision.message, **evidence)
    elif decision.verdict is Outcome.SKIP:
        verdict.skipped(subject, decision.message, **evidence)
    else:
        verdict.failed(subject, decision.message, remediation, severity=decision.severity, **evidence)


@check("GC-001", "size of the messages table, classified normal / large (> 2 M) / very large (> 10 M)", "info",
       remediation="Nothing to fix: this classifies the database for the GC checks.", upgrade=True,
       reads=("messages_table",))
def test_gc_001_messages_table_size(deployment, verdict):
    """Rows of the messages table from the engine's statistics (`information_schema.TABLES.TABLE_ROWS`,
    `pg_class.reltuples`), never a scan unless `--exact-counts`; classified normal / large / very
    large.

    R-GC: a messages table above 2,000,000 rows is a large database (statistics, never a scan).
    """
    table = deployment.messages_table
    thresholds = _thresholds(deployment)
    size = size_class(table.rows, thresholds.large_table_rows, thresholds.very_large_table_rows)
    verdict.passed(table.name, f"{table.rows:,} rows ({table.source}): {size.value}",
                   rows=table.rows, source=table.source, size_class=size.value)


@check("GC-002", "pass_through and automatic GC are known (from the API, else declared in the profile)", "medium",
       remediation="Give the audit API access (api.url and credentials), or declare settings.pass_through and "
                   "settings.db_garbagecollector_enable in the profile.", upgrade=True, reads=GC_READS)
def test_gc_002_settings_known(deployment, verdict):
    """`pass_through` and automatic GC are known: `GET /v1/settings/application`
    (`db_garbagecollector_enable` on older clients, `garbagecollector_enable.messages` on newer),
    else — setting by setting, also when the API answers without one of them — the profile's
    `settings` (the message says which came from where).

    R-GC: the GC rule depends on pass_through and db_garbagecollector_enable.
    """
    _record(verdict, deployment.name, rules.settings_known(deployment.gc_facts))


@check("GC-003", "at ≤ 120 rps, automatic GC is enabled", "high",
       remediation=f"Enable automatic GC: {ENABLE_AUTOMATIC_GC}.", upgrade=True, reads=GC_READS)
def test_gc_003_automatic_gc_enabled(deployment, verdict):
    """At ≤ 120 rps (unknown traffic is assumed ≤ 120, and said), automatic GC is enabled; off fails by
    risk: **high** when `pass_through` is off and the table large (messages accumulate, nothing
    collects them), medium when `pass_through` is off and the table is not large (or its size is
    unknown), low when `pass_through` is on; an unknown `pass_through` is taken as off, and said.

    R-GC: automatic GC keeps the database stable; the upgrade to v2.29.1+ enables it for businesses
    that had pass_through on, and the document recommends enabling it after the upgrade. Off: high
    when pass_through is off and the table large, medium when pass_through is off, low when it is
    on.
    """
    _record(verdict, deployment.name, rules.automatic_gc_enabled(deployment.gc_facts))


@check("GC-004", "above 120 rps, a host job calls PUT /v1/services/message/gc daily, off-peak", "high",
       remediation="Schedule the API GC from host cron, daily off-peak, after marking messages as read, e.g.:\n"
                   "0 3 * * * root curl -s -X PUT -H \"Authorization: Bearer $(cat /etc/whatsapp/token)\" "
                   "https://WEBAPP:443/v1/services/message/gc", upgrade=True, reads=GC_READS)
def test_gc_004_api_gc_scheduled(deployment, verdict):
    """Above 120 rps, a host cron job PUTs to the GC endpoint at least every 24 h, inside
    `schedule.off_peak`: in the entry's command or in a script it runs (followed as for CRON-002);
    only a command that runs counts.

    R-GC: above 120 requests/second, GC through the API once every 24 h in an off-peak window.
    With Prometheus, the client's own record of the calls (whoever made them) wins over the jobs.
    """
    facts = deployment.gc_facts
    picture = {"traffic_profile": _traffic_profile(deployment, facts)} if facts.history else {}
    _record(verdict, deployment.name, rules.api_gc_scheduled(facts), **picture)


def _traffic_profile(deployment, facts) -> dict:
    """What report.html draws: the hours of the history, the off-peak window, when the cleanup
    jobs and the GC calls run, and the threshold."""
    history = facts.history
    cleanup = set()
    for host in deployment.hosts:
        try:
            jobs = host.cleanup_coverage.relevant_jobs()
        except FactUnavailable:
            continue
        for job in jobs:
            try:
                cleanup.update(t.strftime("%H:%M") for t in schedule_facts(job.entry.schedule).times_of_day)
            except ValueError:
                continue
    return {"hourly_mean": list(history.hourly_mean), "hourly_peak": list(history.hourly_peak),
            "off_peak": str(facts.off_peak.window), "off_peak_source": facts.off_peak.source,
            "threshold": facts.api_gc_rps, "peak": round(history.peak, 1),
            "cleanup_at": sorted(cleanup), "gc_calls_at": sorted({f"{c.at:%H:%M}" for c in history.gc_calls}),
            "source": history.describe_peak(), "queries": list(history.queries)}


@check("GC-005", "at ≤ 120 rps, no API-driven GC is scheduled (discouraged)", "low",
       remediation="Remove the cron job calling PUT /v1/services/message/gc and rely on automatic GC (GC-003).",
       reads=GC_READS)
def test_gc_005_api_gc_discouraged(deployment, verdict):
    """At ≤ 120 rps, no API GC job is scheduled (discouraged by the document).

    R-GC: API-driven GC ties cleanup to the integration and is best avoided below 120 rps.
    """
    _record(verdict, deployment.name, rules.api_gc_discouraged(deployment.gc_facts))


@check("GC-006", "very large table: one GC call may not be enough", "info",
       remediation="Repeat the GC call until its callbacks report no error.", upgrade=True, reads=GC_READS)
def test_gc_006_very_large_table(deployment, verdict):
    """Very large table: one GC call may not be enough (a note, never a failure).

    R-GC: above 10,000,000 rows the GC API request may have to run several times.
    """
    _record(verdict, deployment.name, rules.very_large_note(deployment.gc_facts, _thresholds(deployment).very_large_table_rows))
