"""Every GC check against the lab's real databases and the API stand-in (docs/checks.md, gc, issue's
"done when"): tables of 0.5 M, 2.5 M and 12 M rows made by the servers themselves, settings and
traffic served over HTTPS, API GC jobs in the host's real cron files."""

from __future__ import annotations

import contextlib

import subprocess

import pytest

from lab.seed import drop_messages, second_candidate, seed_messages, seed_second_candidate
from tests.audit_runner import assert_outcomes

pytestmark = pytest.mark.lab
GC_IDS = [f"GC-{n:03d}" for n in range(1, 7)]
SMALL, LARGE, VERY_LARGE = 500_000, 2_500_000, 12_000_000
LARGE_TABLE, VERY_LARGE_TABLE = "messages_large", "messages_very_large"


@pytest.fixture(scope="module")
def biz(lab_biz):
    seed_messages(lab_biz, SMALL)
    seed_messages(lab_biz, LARGE, table=LARGE_TABLE)
    return lab_biz


@pytest.fixture(scope="module")
def bizpg(lab_pg):
    seed_messages(lab_pg, SMALL)
    seed_messages(lab_pg, LARGE, table=LARGE_TABLE)
    return lab_pg


def audit_gc(audit, lab, tmp_path, *args, table=None, **overrides):
    """Audit `lab` with -m gc, its profile adjusted (another table, declared settings, traffic)."""
    if table:
        overrides["database"] = {"messages_table": f"{lab.db_name}.{table}"}
    runs = len(list(tmp_path.glob("profile-*.yaml")))      # each audit its own profile and reports
    profile = lab.write_profile(tmp_path / f"profile-{runs}.yaml", name="gc", **overrides)
    return audit(f"--host={profile}", "-m", "gc", *args, reports_dir=tmp_path / f"reports-{runs}")


def outcome(run, check_id):
    [result] = run.of("gc", check_id)
    return result


@pytest.mark.parametrize("lab_name", ["biz", "bizpg"])
def test_a_small_table_with_matching_settings_passes(request, audit, tmp_path, lab_name):
    lab = request.getfixturevalue(lab_name)
    run = audit_gc(audit, lab, tmp_path)
    assert run.exit_code == 0, run.console
    assert_outcomes(run, "gc", ["GC-001", "GC-002", "GC-003"], {})
    # the counter's quiet rate now (20 rps) says nothing of the day's peak: GC-004/005 cannot decide
    assert {outcome(run, c)["outcome"] for c in ("GC-004", "GC-005", "GC-006")} == {"skip"}
    assert "peak traffic unknown" in outcome(run, "GC-005")["message"]
    assert outcome(run, "GC-001")["message"].endswith(": normal")
    assert "garbagecollector_enable.messages" in outcome(run, "GC-002")["message"]


# pass_through x automatic GC, as the API reports them -> GC-003 on the small and on the large table
GC_003_CASES = {
    "pass_through off, GC on (after v2.29.1, as recommended)": (None, ("pass", None), ("pass", None)),
    "pass_through on, GC on": ("gc.pass_through_gc_on", ("pass", None), ("pass", None)),
    "pass_through on, GC off": ("gc.pass_through_gc_off", ("fail", "low"), ("fail", "low")),
    "pass_through off, GC off": ("gc.automatic_gc_off", ("fail", "medium"), ("fail", "high")),
}


@pytest.mark.parametrize("case", GC_003_CASES)
def test_gc_003_wants_automatic_gc_on_graded_by_risk(biz, audit, tmp_path, case):
    deviation, on_small, on_large = GC_003_CASES[case]
    with contextlib.ExitStack() as stack:
        if deviation:
            stack.enter_context(biz.deviation(deviation))
        small = audit_gc(audit, biz, tmp_path, "--fail-on=high")
        large = audit_gc(audit, biz, tmp_path, "-m", "upgrade", "--fail-on=high", table=LARGE_TABLE)
    for run, (expected, severity) in ((small, on_small), (large, on_large)):
        result = outcome(run, "GC-003")
        assert result["outcome"] == expected, result
        assert run.exit_code == (1 if severity == "high" else 0), run.console
        if expected == "fail":
            assert result["severity"] == severity
            assert "automatic GC must be enabled at ≤ 120 rps" in result["message"]
            assert '"db_garbagecollector_enable": true' in result["remediation"]
            assert "disable" not in result["message"] + result["remediation"]
    if case == "pass_through off, GC off":
        assert "messages accumulate and nothing collects them" in outcome(large, "GC-003")["message"]
        assert "the messages table is large" in outcome(large, "GC-003")["message"]


def test_gc_003_on_postgresql_a_large_table_without_gc_fails_high(bizpg, audit, tmp_path):
    with bizpg.deviation("gc.automatic_gc_off"):
        run = audit_gc(audit, bizpg, tmp_path, "-m", "upgrade", "--fail-on=high", table=LARGE_TABLE)
    result = outcome(run, "GC-003")
    assert (result["outcome"], result["severity"]) == ("fail", "high"), result
    assert run.exit_code == 1


def test_pass_through_and_gc_both_on_pass(biz, audit, tmp_path):
    with biz.deviation("gc.pass_through_gc_on"), biz.deviation("gc.old_payload"):
        run = audit_gc(audit, biz, tmp_path, table=LARGE_TABLE)
    assert outcome(run, "GC-003")["outcome"] == "pass"
    assert "db_garbagecollector_enable" in outcome(run, "GC-002")["message"]


@pytest.fixture(scope="module")
def very_large(biz):
    seed_messages(biz, VERY_LARGE, table=VERY_LARGE_TABLE)
    return biz


def test_a_very_large_busy_deployment_needs_its_api_gc_job(very_large, audit, tmp_path):
    lab = very_large
    with lab.deviation("gc.high_traffic"):
        without = audit_gc(audit, lab, tmp_path, table=VERY_LARGE_TABLE)
        with lab.deviation("gc.api_job_daily"):
            daily = audit_gc(audit, lab, tmp_path, table=VERY_LARGE_TABLE)
        with lab.deviation("gc.api_job_weekly"):
            weekly = audit_gc(audit, lab, tmp_path, table=VERY_LARGE_TABLE)
        with lab.deviation("gc.api_job_14h"):
            afternoon = audit_gc(audit, lab, tmp_path, table=VERY_LARGE_TABLE)
    assert outcome(without, "GC-004")["outcome"] == "fail"
    assert "no host cron job calls PUT /v1/services/message/gc" in outcome(without, "GC-004")["message"]
    assert outcome(without, "GC-003")["outcome"] == "skip"
    note = outcome(without, "GC-006")
    assert note["outcome"] == "pass" and "one garbage-collection pass may not be enough" in note["message"]
    assert "very large" in outcome(without, "GC-001")["message"]
    assert outcome(daily, "GC-004")["outcome"] == "pass", outcome(daily, "GC-004")
    assert str(lab.gc_cron_file) in outcome(daily, "GC-004")["message"]
    assert "not daily" in outcome(weekly, "GC-004")["message"]
    assert "outside the off-peak window" in outcome(afternoon, "GC-004")["message"]
    assert {outcome(r, "GC-005")["outcome"] for r in (without, daily)} == {"skip"}


@pytest.mark.parametrize("deviation, expected", [("gc.api_job_sh_c", "pass"), ("gc.api_job_echo", "fail")])
def test_gc_004_counts_only_a_gc_call_that_runs(biz, audit, tmp_path, deviation, expected):
    """The job is read by the cleanup job's shell reader: wrapped in flock + sh -c it counts;
    echoed into a log it does not."""
    with biz.deviation("gc.high_traffic"), biz.deviation(deviation):
        run = audit_gc(audit, biz, tmp_path)
    result = outcome(run, "GC-004")
    assert result["outcome"] == expected, result
    if expected == "pass":
        assert str(biz.gc_cron_file) in result["message"]
    else:
        assert "no host cron job calls PUT /v1/services/message/gc" in result["message"]


def test_gc_004_follows_the_scripts_a_job_runs(biz, audit, tmp_path):
    """cron → nightly script → GC script that logs in, then PUTs: the call is found two scripts
    deep and the chain named."""
    nightly, gc = biz.scripts_dir / "wa-nightly.sh", biz.scripts_dir / "wa-gc.sh"
    with biz.deviation("gc.high_traffic"), biz.deviation("gc.api_job_script"):
        run = audit_gc(audit, biz, tmp_path)
        # the scripts are real: run as cron would, they log in and collect
        subprocess.run(["sh", "-c", str(nightly)], check=True, timeout=60)
        sent = [(r["method"], r["path"], r["status"]) for r in biz.api_server.requests()[-2:]]
    assert sent == [("POST", "/v1/users/login", 200), ("PUT", "/v1/services/message/gc", 200)], sent
    result = outcome(run, "GC-004")
    assert result["outcome"] == "pass", result
    assert f"{biz.gc_cron_file}:6 → {nightly}:3 → {gc}:9 calls the GC endpoint at 03:00 every day" in result["message"]
    with biz.deviation("gc.high_traffic"), biz.deviation("gc.api_job_script_missing"):
        run = audit_gc(audit, biz, tmp_path)
    result = outcome(run, "GC-004")
    assert result["outcome"] == "fail", result
    assert (f"no host cron job calls PUT /v1/services/message/gc (not followed: {biz.gc_cron_file}:6 → {nightly}:3 "
            f"runs {gc}, which does not exist)") in result["message"]


def test_an_api_gc_job_at_low_traffic_is_discouraged(biz, audit, tmp_path):
    with biz.deviation("gc.api_job_daily"):
        run = audit_gc(audit, biz, tmp_path, traffic={"peak_rps": 50})
    result = outcome(run, "GC-005")
    assert (result["outcome"], result["severity"]) == ("fail", "low")
    assert "50 rps (declared: traffic.peak_rps) is at most 120 rps" in result["message"]
    assert run.exit_code == 1


def test_with_the_api_down_declared_settings_are_used_and_said(biz, audit, tmp_path):
    with biz.deviation("gc.api_down"):
        declared = audit_gc(audit, biz, tmp_path, settings={"pass_through": False, "db_garbagecollector_enable": True})
        unknown = audit_gc(audit, biz, tmp_path)
    assert outcome(declared, "GC-002")["outcome"] == "pass"
    assert "declared in the profile" in outcome(declared, "GC-002")["message"]
    assert "cannot reach the client's API" in outcome(declared, "GC-002")["message"]
    assert outcome(unknown, "GC-002")["outcome"] == "fail"
    assert outcome(unknown, "GC-004")["outcome"] == "skip"   # no traffic either


def test_gc_002_takes_each_setting_from_the_api_else_from_the_profile(biz, audit, tmp_path):
    with biz.deviation("gc.settings_without_gc"):
        declared = audit_gc(audit, biz, tmp_path, settings={"db_garbagecollector_enable": True})
        undeclared = audit_gc(audit, biz, tmp_path)
    result = outcome(declared, "GC-002")
    assert result["outcome"] == "pass", result
    assert "pass_through is false (GET /v1/settings/application)" in result["message"]
    assert ("automatic GC is true (declared in the profile (settings.db_garbagecollector_enable); "
            "GET /v1/settings/application answered without it)") in result["message"]
    assert outcome(declared, "GC-003")["outcome"] == "pass"
    result = outcome(undeclared, "GC-002")
    assert result["outcome"] == "fail"
    assert result["message"] == ("automatic GC unknown: GET /v1/settings/application answered without it, and the "
                                 "profile does not declare settings.db_garbagecollector_enable; pass_through is false "
                                 "(GET /v1/settings/application)")


def test_several_candidate_tables_are_an_error_naming_them_and_the_profile_key(biz, audit, tmp_path):
    seed_second_candidate(biz)
    try:
        run = audit_gc(audit, biz, tmp_path)
    finally:
        drop_messages(biz, database=second_candidate(biz))
    result = outcome(run, "GC-001")
    assert result["outcome"] == "error"
    assert f"{biz.db_name}.messages" in result["message"] and f"{second_candidate(biz)}.messages" in result["message"]
    assert "database.messages_table" in result["message"]


def test_exact_counts_scan_only_when_asked(biz, audit, tmp_path):
    run = audit_gc(audit, biz, tmp_path, "--exact-counts")
    assert outcome(run, "GC-001")["message"] == f"{SMALL:,} rows (SELECT COUNT(*) (--exact-counts)): normal"
    plain = audit_gc(audit, biz, tmp_path)
    assert "information_schema.TABLES.TABLE_ROWS" in outcome(plain, "GC-001")["message"]


def test_an_audit_sends_only_the_login_and_gets(biz, audit, tmp_path):
    """SECURITY.md: never PUT /v1/services/message/gc, never PATCH — whatever the checks find."""
    with biz.deviation("gc.high_traffic"):
        biz.clear_api_requests()
        run = audit(f"--host={biz.write_profile(tmp_path / 'all.yaml', name='all')}")
        requests = biz.api_requests()
    assert run.results("all")
    assert requests, "the audit did not reach the API"
    assert {(r["method"], r["path"].split("?")[0]) for r in requests} <= {
        ("POST", "/v1/users/login"), ("GET", "/v1/settings/application"), ("GET", "/metrics")}
    assert sum(r["method"] == "POST" for r in requests) == 1, requests


def test_without_a_name_prefix_the_table_is_found_among_the_accounts_databases(biz, audit, tmp_path):
    """db.env without WA_DB_NAME_PREFIX: every database the account can see is searched."""
    unprefixed = tmp_path / "db.env"
    unprefixed.write_text("".join(line for line in biz.db_env_path.read_text().splitlines(keepends=True)
                                  if not line.startswith("WA_DB_NAME_PREFIX")))
    run = audit_gc(audit, biz, tmp_path, deployment={"db_env": str(unprefixed)})
    result = outcome(run, "GC-001")
    assert result["outcome"] == "pass" and result["subject"] == f"{biz.db_name}.messages", result
