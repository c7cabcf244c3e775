"""--metrics-file, --plan and --baseline as an operator uses them, against the lab (README: command line).

The failing run: `cron.missing_container` leaves the Coreapp biz_wacore_1 without a cleanup
line, so CRON-002 fails for it (high); every other cron check passes."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

CLEANUP = "/opt/whatsapp/bin/cleanup.sh"
CRON_LINE = f"docker exec biz_waweb_1 {CLEANUP}; docker exec biz_wacore_1 {CLEANUP}"
MISSING = f"no cron entry runs {CLEANUP} in biz_wacore_1"


def samples(path):
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


@pytest.mark.lab
def test_metrics_and_plan_of_a_run_with_one_failing_check(lab_biz, audit, tmp_path):
    prom, plan = tmp_path / "wa_compliance.prom", tmp_path / "plan.md"
    before = time.time()
    with lab_biz.deviation("cron.missing_container"):
        run = audit("--host=lab", "-m", "cron", f"--metrics-file={prom}", f"--plan={plan}")
    assert run.exit_code == 1, run.console
    assert f"metrics: {prom}" in run.console and f"remediation plan: {plan}" in run.console
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md", "reports", "wa_compliance.prom"]

    found = samples(prom)
    passed = {labels["check"]: value for labels, value in found["wa_compliance_check_passed"]}
    assert passed == {"CRON-001": 1, "CRON-002": 0, "CRON-003": 1, "CRON-004": 1, "CRON-005": 1}
    assert ({"host": "lab", "check": "CRON-002", "section": "cron", "severity": "high"}, 0) \
        in found["wa_compliance_check_passed"]
    cron_002 = {labels["outcome"]: value for labels, value in found["wa_compliance_results"]
                if labels["check"] == "CRON-002"}
    assert cron_002 == {"pass": 1, "fail": 1, "error": 0, "skip": 0, "waived": 0}
    [(labels, finished)] = found["wa_compliance_last_run_timestamp_seconds"]
    assert labels == {"host": "lab"} and before - 5 <= finished <= time.time()
    [(labels, duration)] = found["wa_compliance_run_duration_seconds"]
    assert labels == {"host": "lab"} and 0 < duration < 120

    text = plan.read_text()
    assert text.startswith("# Remediation plan\n") and "**The audit applied nothing**" in text
    assert "### 1. CRON-002 (high)" in text and "### 2." not in text
    assert f"- `biz_wacore_1` — high: {MISSING}" in text
    assert text.count(CRON_LINE) == 1 and "/etc/cron.d/" in text
    for path in (prom, plan):
        assert lab_biz.db_password not in path.read_text()


@pytest.mark.lab
def test_with_a_baseline_only_new_failures_fail_the_run(lab_biz, audit, tmp_path):
    baseline = tmp_path / "baseline.json"
    with lab_biz.deviation("cron.missing_container"):
        first = audit("--host=lab", "-m", "cron", reports_dir=tmp_path / "first")
        assert first.exit_code == 1, first.console
        shutil.copy(tmp_path / "first" / "lab" / "latest" / "results.json", baseline)

        # the same failure again: reported, marked, but the run passes (checked under xdist)
        again = audit("--host=lab", "-m", "cron", f"--baseline={baseline}", "-n", "2",
                      f"--plan={tmp_path / 'plan.md'}")
        assert again.exit_code == 0, again.console
        assert re.search(r"^lab: \d+ pass, 1 fail \(1 already in the baseline\), 0 error, 0 skip, 0 waived — ",
                         again.console, re.M), again.console
        [known] = [r for r in again.of("lab", "CRON-002") if r["outcome"] != "pass"]
        assert known["outcome"] == "fail" and known["subject"] == "biz_wacore_1"
        assert known["evidence"]["baseline"] == "already failing"
        assert "(already failing in the baseline)" in (tmp_path / "plan.md").read_text()

        # a second deviation: its failure is new, and fails the run
        with lab_biz.deviation("cron.at_14h"):
            new = audit("--host=lab", "-m", "cron", f"--baseline={baseline}")
    assert new.exit_code == 1, new.console
    assert re.search(r"^lab: \d+ pass, 2 fail \(1 already in the baseline\), 0 error", new.console, re.M), new.console
    failed = [line for line in new.console.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and "test_cron_004" in failed[0], failed
    outcomes = {(r["id"], r["outcome"], r["evidence"].get("baseline")) for r in new.results("lab")
                if r["outcome"] != "pass"}
    assert outcomes == {("CRON-002", "fail", "already failing"), ("CRON-004", "fail", None)}


@pytest.mark.lab
def test_an_output_that_cannot_be_written_is_told_and_fails_the_run(lab_biz, audit, tmp_path):
    run = audit("--host=lab", "-m", "cron", "--metrics-file=/proc/wa_compliance.prom",
                f"--plan={tmp_path / 'plan.md'}")
    assert run.exit_code == 1, run.console        # every check passed, but the evidence is missing
    assert "metrics NOT written to /proc/wa_compliance.prom: No such file or directory" in run.console
    assert (tmp_path / "plan.md").is_file() and "Traceback" not in run.console


@pytest.mark.parametrize("option, message", [
    ("--baseline={missing}", "--baseline {missing}: no such file"),
    ("--baseline={not_json}", "--baseline {not_json}: is not a results.json: not JSON"),
    ("--baseline={other_host}", "is the results of host 'prod9', which this run does not audit (hosts: lab)"),
    ("--metrics-file={tmp}/nope/wa.prom", "--metrics-file={tmp}/nope/wa.prom: folder {tmp}/nope does not exist"),
    ("--plan={tmp}", "--plan={tmp}: is a directory; name a file"),
])
def test_bad_output_options_are_usage_errors(audit, tmp_path, option, message):
    paths = {"missing": tmp_path / "missing.json", "not_json": tmp_path / "report.html",
             "other_host": tmp_path / "results.json", "tmp": tmp_path}
    paths["not_json"].write_text("<html></html>")
    paths["other_host"].write_text(json.dumps({"schema": 1, "host": "prod9", "results": []}))
    run = audit("--host=lab", "-m", "cron", option.format(**paths))
    assert run.exit_code == 4, run.console
    assert message.format(**paths) in run.console
    assert "Traceback" not in run.console
