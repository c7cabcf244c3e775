"""Peak traffic and the off-peak window from the deployment's own history: a real Prometheus
(lab/prometheus.py) holding 14 days of the client's request counter, backfilled with promtool,
audited "now" — whatever the hour, the history says what the day looks like."""

from __future__ import annotations

import time

import pytest

from lab.prometheus import BUSY_BY_DAY, GC_AT_BUSIEST_HOUR, GC_STOPPED, QUIET, LabPrometheus
from lab.profiles import write
from tests.lab.silent_port import silent_listener
from wa_compliance.timeouts import COMMAND_SECONDS

HOST = "lab-traffic"
TOKEN = "prometheus-token-never-shown-3f9a"


@pytest.fixture(scope="module")
def prometheus(lab_biz):
    server = LabPrometheus(lab_biz.prometheus_dir)
    yield server
    server.remove()


def audit_with(audit, lab, tmp_path, url, *args, off_peak=None, env=None, **prometheus):
    profile = lab.profile(HOST, traffic={"prometheus": {"url": url, **prometheus}},
                          **({"schedule": {"off_peak": off_peak}} if off_peak else {}))
    return audit(f"--host={write(profile, tmp_path / f'{HOST}.yaml')}", *args,
                 env={**lab.api_env(), **(env or {})})


def one(run, check_id) -> dict:
    (result,) = run.of(HOST, check_id)
    return result


def test_busy_by_day_audited_at_a_quiet_hour_still_sees_its_peak_and_the_integrations_gc(
        prometheus, lab_biz, audit, tmp_path):
    prometheus.load(BUSY_BY_DAY)
    # the stand-in's counter reads a quiet 20 rps now: without the history GC-004 could not decide
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc", env={"X": TOKEN},
                     token_env="X")
    gc4 = one(run, "GC-004")
    assert gc4["outcome"] == "pass", gc4
    assert "200 rps (Prometheus" in gc4["message"] and "99th percentile" in gc4["message"]
    assert "successful GC calls in the client's record" in gc4["message"] and "at 02:57" in gc4["message"]
    profile = gc4["evidence"]["traffic_profile"]
    assert profile["off_peak"] == "00:00-06:00" and max(profile["hourly_peak"]) == pytest.approx(200, rel=0.02)
    assert one(run, "GC-003")["outcome"] == "skip" and one(run, "GC-005")["outcome"] == "skip"
    everything = "".join(p.read_text() for p in run.reports_dir.rglob("*") if p.is_file())
    assert TOKEN not in everything and TOKEN not in run.console
    # the picture is in the page, inline
    page = next(run.reports_dir.rglob("report.html")).read_text()
    assert '<section id="traffic">' in page and "GC call at 02:57" in page


@pytest.mark.parametrize("history, said", [
    (GC_AT_BUSIEST_HOUR, "outside the off-peak window 00:00-06:00"),
    (GC_STOPPED, "since the last call"),
])
def test_gc_at_the_busiest_hour_or_stopped_days_ago_fails(prometheus, lab_biz, audit, tmp_path, history, said):
    prometheus.load(history)
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc")
    gc4 = one(run, "GC-004")
    assert gc4["outcome"] == "fail" and said in gc4["message"], gc4


def test_a_quiet_deployment_with_automatic_gc_passes_gc_003_from_its_history(prometheus, lab_biz, audit, tmp_path):
    prometheus.load(QUIET)
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc")
    gc4, gc5 = one(run, "GC-004"), one(run, "GC-005")
    assert gc4["outcome"] == "skip" and "50 rps (Prometheus" in gc4["message"], gc4
    assert gc5["outcome"] == "pass", gc5


def test_a_cleanup_job_at_the_busiest_hour_fails_cron_004_under_auto(prometheus, lab_biz, audit, tmp_path):
    prometheus.load(BUSY_BY_DAY)
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "cron", off_peak="auto")
    assert {r["outcome"] for r in run.of(HOST, "CRON-004")} == {"pass"}
    assert "auto: the 6 hours with the fewest outgoing messages" in run.of(HOST, "CRON-004")[0]["message"]
    with lab_biz.deviation("cron.at_14h"):
        run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "cron", off_peak="auto")
    failed = [r for r in run.of(HOST, "CRON-004") if r["outcome"] == "fail"]
    assert failed and "runs at 14:00, outside the off-peak window 00:00-06:00" in failed[0]["message"]


def test_without_a_peak_a_quiet_rate_now_decides_nothing(lab_biz, audit):
    run = audit("--host=lab", "-m", "gc", env=lab_biz.api_env())
    for check_id in ("GC-004", "GC-005"):
        (result,) = run.of("lab", check_id)
        assert result["outcome"] == "skip" and "peak traffic unknown" in result["message"], result


def test_prometheus_down_falls_back_and_says_so(prometheus, lab_biz, audit, tmp_path):
    prometheus.stop()
    started = time.monotonic()
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc or cron", off_peak="auto")
    assert time.monotonic() - started < 30
    gc4 = one(run, "GC-004")
    assert gc4["outcome"] == "skip" and "cannot reach Prometheus" in gc4["message"], gc4
    assert "the default 00:00-06:00 applies" in run.of(HOST, "CRON-004")[0]["message"]
    assert "Traceback" not in run.console


def test_prometheus_that_never_answers_costs_one_timeout(lab_biz, audit, tmp_path):
    with silent_listener() as port:
        started = time.monotonic()
        run = audit_with(audit, lab_biz, tmp_path, f"http://127.0.0.1:{port}", "-m", "gc")
        elapsed = time.monotonic() - started
    assert elapsed < COMMAND_SECONDS + 12, elapsed
    gc4 = one(run, "GC-004")
    assert gc4["outcome"] == "skip" and "cannot reach Prometheus" in gc4["message"], gc4


def test_a_selector_matching_no_series_is_one_clear_line(prometheus, lab_biz, audit, tmp_path):
    prometheus.load(BUSY_BY_DAY)
    run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc", selector='node="no-such-node"')
    gc4 = one(run, "GC-004")
    assert gc4["outcome"] == "skip" and "holds no request rate" in gc4["message"], gc4


def test_a_prometheus_behind_basic_auth_is_read_with_the_login_and_refuses_a_wrong_one(
        prometheus, lab_biz, audit, tmp_path):
    password = "prometheus-password-never-shown-77c1"
    prometheus.load(BUSY_BY_DAY)
    prometheus.require_login("audit", password)
    try:
        logins = {"PROM_USER": "audit", "PROM_PASSWORD": password}
        run = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc", env=logins,
                         username_env="PROM_USER", password_env="PROM_PASSWORD")
        assert one(run, "GC-004")["outcome"] == "pass", one(run, "GC-004")
        everything = "".join(p.read_text() for p in run.reports_dir.rglob("*") if p.is_file())
        assert password not in everything and password not in run.console
        wrong = audit_with(audit, lab_biz, tmp_path, prometheus.url, "-m", "gc",
                           env={**logins, "PROM_PASSWORD": "wrong-password-0000"},
                           username_env="PROM_USER", password_env="PROM_PASSWORD")
        gc4 = one(wrong, "GC-004")
        assert gc4["outcome"] == "skip" and "refused the audit's credentials (HTTP 401)" in gc4["message"], gc4
        assert "wrong-password-0000" not in wrong.console
    finally:
        prometheus.require_login(None)
