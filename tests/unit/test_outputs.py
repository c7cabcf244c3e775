"""wa_compliance.outputs: --metrics-file, --plan and --baseline, from fabricated results."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from wa_compliance.audit import Audit, output_path
from wa_compliance.errors import UsageError
from wa_compliance.model import Outcome, Result, Severity
from wa_compliance.outputs import Baseline, BaselineError, is_marked, render_metrics, render_plan, write_metrics, write_plan
from wa_compliance.outputs.plan import checks_to_fix
from wa_compliance.reports.common import HostRun

HOST = "prod1"
T0 = dt.datetime(2026, 11, 28, 3, 0, 0, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(seconds=42.5)
CRON_LINE = ("0 3 * * * root docker exec w_1 /opt/whatsapp/bin/cleanup.sh; "
             "docker exec c_1 /opt/whatsapp/bin/cleanup.sh")


def result(check_id="CRON-002", subject="c_1", outcome=Outcome.PASS, severity=Severity.HIGH,
           message=None, remediation="Add the cron line.", host=HOST, evidence=None):
    section = {"ENV": "env", "VOL": "volumes", "GC": "gc", "LOG": "logs", "CRON": "cron"}.get(
        check_id.split("-")[0], "env")
    return Result(id=check_id, title=f"title of {check_id}", section=section, severity=severity,
                  subject=subject, outcome=outcome,
                  message=message if message is not None else f"{check_id} {outcome} on {subject}",
                  remediation=remediation, host=host, evidence=dict(evidence or {}))


def run_of(results, host=HOST):
    return HostRun(host=host, profile=f"profiles/{host}.yaml", started=T0, finished=T1,
                   tool_version="0.1.0", results=results)


def metrics(text):
    """{(name, frozenset(labels.items())): value} of every sample."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


# -- metrics ----------------------------------------------------------------------------------
def fleet_results():
    return [
        result("CRON-001", "cron daemon on local", Outcome.PASS),
        result("CRON-002", "w_1", Outcome.PASS),
        result("CRON-002", "c_1", Outcome.FAIL, remediation=CRON_LINE),
        result("CRON-002", "c_2", Outcome.FAIL, remediation=CRON_LINE),
        result("LOG-004", "w_1", Outcome.WAIVED, Severity.MEDIUM),
        result("GC-004", HOST, Outcome.SKIP, message="traffic unknown"),
        result("GC-006", HOST, Outcome.FAIL, Severity.INFO, message="very large table"),
        result("VOL-004", "c_1", Outcome.ERROR, Severity.HIGH, message="probe timed out"),
        result("GC-003", HOST, Outcome.FAIL, Severity.MEDIUM, remediation="Send by hand: PATCH ..."),
    ]


def test_metrics_say_which_checks_pass_per_host_and_count_outcomes():
    other = run_of([result("CRON-002", "x_1", Outcome.PASS, host="prod2")], host="prod2")
    samples = metrics(render_metrics([run_of(fleet_results()), other]))
    passed = "wa_compliance_check_passed"
    assert value(samples, passed, host=HOST, check="CRON-001", section="cron", severity="high") == 1
    assert value(samples, passed, host=HOST, check="CRON-002", section="cron", severity="high") == 0
    assert value(samples, passed, host=HOST, check="VOL-004", section="volumes", severity="high") == 0
    # waived and skipped results do not fail a check; an info check never fails (docs/checks.md)
    assert value(samples, passed, host=HOST, check="LOG-004", section="logs", severity="medium") == 1
    assert value(samples, passed, host=HOST, check="GC-004", section="gc", severity="high") == 1
    assert value(samples, passed, host=HOST, check="GC-006", section="gc", severity="info") == 1
    # a check graded per result (GC-003) carries its graded severity
    assert value(samples, passed, host=HOST, check="GC-003", section="gc", severity="medium") == 0
    assert value(samples, passed, host="prod2", check="CRON-002", section="cron", severity="high") == 1

    counts = {o: value(samples, "wa_compliance_results", host=HOST, check="CRON-002", outcome=o)
              for o in ("pass", "fail", "error", "skip", "waived")}
    assert counts == {"pass": 1, "fail": 2, "error": 0, "skip": 0, "waived": 0}
    assert value(samples, "wa_compliance_last_run_timestamp_seconds", host=HOST) == T1.timestamp()
    assert value(samples, "wa_compliance_run_duration_seconds", host=HOST) == 42.5
    assert value(samples, "wa_compliance_run_duration_seconds", host="prod2") == 42.5


def test_a_known_failure_still_fails_its_check_in_the_metrics():
    known = result("CRON-002", "c_1", Outcome.FAIL, evidence={"baseline": "already failing"})
    samples = metrics(render_metrics([run_of([known])]))
    assert value(samples, "wa_compliance_check_passed", host=HOST, check="CRON-002",
                 section="cron", severity="high") == 0


@pytest.mark.parametrize("hostile", ['a"b\n', 'a"b\n\\c{d}=e,', "a\rb", "a\x00b", "a\u2028b", "#x", " ", 'a\tb"}'])
def test_hostile_label_values_are_escaped_and_parse_back(hostile):
    text = render_metrics([run_of([result(f"ENV-{hostile}", "s", Outcome.FAIL, host=hostile)], host=hostile)])
    samples = metrics(text)
    assert value(samples, "wa_compliance_check_passed", host=hostile, check=f"ENV-{hostile}",
                 section="env", severity="high") == 0
    assert value(samples, "wa_compliance_run_duration_seconds", host=hostile) == 42.5


def test_label_values_are_escaped_by_the_library():
    text = render_metrics([run_of([result(host='a"b\n')], host='a"b\n')])
    assert 'host="a\\"b\\n"' in text


def test_lone_surrogates_and_secrets_never_reach_the_metrics():
    run = run_of([result("CRON-002\udcff", "s", host="h-s3cret")], host="h-s3cret")
    text = render_metrics([run], secrets=["s3cret"])
    assert "s3cret" not in text and "CRON-002\ufffd" in text
    metrics(text)


def test_metrics_file_is_replaced_atomically_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "wa_compliance.prom"
    path.write_text("old\n")
    write_metrics(path, [run_of(fleet_results())])
    assert os.listdir(tmp_path) == ["wa_compliance.prom"]
    assert "wa_compliance_check_passed" in path.read_text()
    with pytest.raises(OSError):
        write_metrics(tmp_path / "missing" / "x.prom", [run_of(fleet_results())])
    assert os.listdir(tmp_path) == ["wa_compliance.prom"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=40), st.text(max_size=80),
                          st.sampled_from(list(Outcome)), st.sampled_from(list(Severity))),
                min_size=1, max_size=8),
       st.text(min_size=1, max_size=20))
def test_any_subject_message_or_name_keeps_the_metrics_file_parseable(items, host):
    results = [result(f"ENV-{check}", subject, outcome, severity, message=message, host=host)
               for check, subject, message, outcome, severity in items]
    samples = metrics(render_metrics([run_of(results, host=host)]))
    checks = {f"ENV-{check}" for check, *_ in items}
    parsed = {dict(labels)["check"] for name, labels in samples if name == "wa_compliance_check_passed"}
    assert parsed == checks
    assert {dict(labels)["host"] for name, labels in samples} == {host}
    total = sum(v for (name, _), v in samples.items() if name == "wa_compliance_results")
    assert total == len(items)


# -- plan -------------------------------------------------------------------------------------
def test_plan_lists_each_remediation_once_with_every_subject_it_fixes():
    text = render_plan([run_of(fleet_results())], tool_version="0.1.0", fail_on=Severity.LOW)
    assert "**The audit applied nothing**" in text and "review it before applying it" in text
    assert text.count(CRON_LINE) == 1
    section = text.split("### 1. CRON-002 (high)")[1].split("###")[0]
    assert "- `c_1` — high: CRON-002 fail on c_1" in section
    assert "- `c_2` — high: CRON-002 fail on c_2" in section
    assert "`w_1`" not in section                       # a passing subject is not listed


def test_plan_orders_checks_by_severity_and_keeps_errors_and_waivers_apart():
    text = render_plan([run_of(fleet_results())], tool_version="0.1.0", fail_on=Severity.LOW)
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### 1. CRON-002 (high) — title of CRON-002",
                        "### 2. GC-003 (medium) — title of GC-003",
                        "### 3. GC-006 (info) — title of GC-006",
                        "### Could not be evaluated"]
    assert "Below --fail-on=low: does not fail the run." in text.split("### 3.")[1]
    assert "- VOL-004 (high) `c_1`: probe timed out" in text
    assert "LOG-004" not in text and "GC-004" not in text and "CRON-001" not in text
    assert "1 waived (not listed)" in text


def test_plan_keeps_different_remediations_of_one_check_apart():
    results = [result("LOG-001", "w_1", Outcome.FAIL, remediation="Create /etc/logrotate.d/whatsapp in w_1"),
               result("LOG-001", "w_2", Outcome.FAIL, remediation="Create /etc/logrotate.d/whatsapp in w_2"),
               result("LOG-001", "w_3", Outcome.FAIL, remediation="Create /etc/logrotate.d/whatsapp in w_2")]
    [check] = checks_to_fix(results)
    assert [[r.subject for r in c.results] for c in check.changes] == [["w_1"], ["w_2", "w_3"]]
    text = render_plan([run_of(results)], tool_version="0.1.0")
    assert "Change 1 of 2 (high), fixes:" in text and "Change 2 of 2 (high), fixes:" in text


def test_plan_marks_known_failures_and_keeps_remediation_text_verbatim_in_a_safe_fence():
    stanza = "Make the block read:\n/var/log/whatsapp/*.log {\n  rotate 30\n}\n```\nnot the end"
    results = [result("LOG-002", "w_1", Outcome.FAIL, Severity.MEDIUM, remediation=stanza,
                      evidence={"baseline": "already failing"}, message="rotate 7\nsize 1M")]
    text = render_plan([run_of(results)], tool_version="0.1.0")
    assert "`w_1` — medium (already failing in the baseline): rotate 7\n  size 1M" in text
    assert "````text\n" + stanza + "\n````" in text
    assert "1 already failing in the baseline" in text


def test_plan_says_when_there_is_nothing_to_change_and_scrubs_secrets():
    text = render_plan([run_of([result(outcome=Outcome.PASS)]), run_of([], host="prod2")],
                       tool_version="0.1.0")
    assert "Nothing to change: no check failed." in text
    assert "Hosts: prod1 (0 checks to fix), prod2 (no check ran)" in text
    secret = render_plan([run_of([result(outcome=Outcome.FAIL, message="pw hunter2hunter2",
                                         remediation="set hunter2hunter2")])],
                         tool_version="0.1.0", secrets=["hunter2hunter2"])
    assert "hunter2hunter2" not in secret and "pw ***" in secret


def test_plan_file_is_written_atomically_with_ordinary_permissions(tmp_path):
    path = tmp_path / "plan.md"
    write_plan(path, [run_of(fleet_results())], tool_version="0.1.0")
    assert os.listdir(tmp_path) == ["plan.md"]
    assert path.read_text().startswith("# Remediation plan\n")
    assert stat.S_IMODE(path.stat().st_mode) & 0o044       # readable like any report
    with pytest.raises(OSError):
        write_plan(tmp_path / "missing" / "plan.md", [], tool_version="0.1.0")


# -- baseline ---------------------------------------------------------------------------------
def baseline_file(tmp_path, host=HOST, entries=None, name="results.json", **top):
    document = {"schema": 1, "host": host, "profile": f"profiles/{host}.yaml", "summary": {},
                "results": entries if entries is not None else [
                    {"id": "CRON-002", "subject": "c_1", "outcome": "fail"},
                    {"id": "VOL-004", "subject": "c_1", "outcome": "error"},
                    {"id": "CRON-002", "subject": "w_1", "outcome": "pass"},
                    {"id": "LOG-004", "subject": "w_1", "outcome": "waived"}]}
    document.update(top)
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_baseline_knows_failures_of_the_same_host_check_and_subject(tmp_path):
    baseline = Baseline.load([baseline_file(tmp_path)], hosts=[HOST, "prod2"])
    assert baseline.is_known(result("CRON-002", "c_1", Outcome.FAIL))
    assert baseline.is_known(result("CRON-002", "c_1", Outcome.ERROR))
    assert baseline.is_known(result("VOL-004", "c_1", Outcome.FAIL))
    assert not baseline.is_known(result("CRON-002", "c_1", Outcome.PASS))     # fixed: nothing to mark
    assert not baseline.is_known(result("CRON-002", "c_2", Outcome.FAIL))     # another subject
    assert not baseline.is_known(result("CRON-003", "c_1", Outcome.FAIL))     # another check
    assert not baseline.is_known(result("CRON-002", "w_1", Outcome.FAIL))     # passed then
    assert not baseline.is_known(result("LOG-004", "w_1", Outcome.FAIL))      # waived then
    assert not baseline.is_known(result("CRON-002", "c_1", Outcome.FAIL, host="prod2"))


def test_baseline_marks_known_failures_in_their_evidence(tmp_path):
    baseline = Baseline.load([baseline_file(tmp_path)], hosts=[HOST])
    results = [result("CRON-002", "c_1", Outcome.FAIL), result("CRON-002", "c_2", Outcome.FAIL)]
    assert baseline.mark(results) == [results[0]]
    assert results[0].evidence == {"baseline": "already failing"} and results[0].outcome == Outcome.FAIL
    assert is_marked(Result.from_dict(results[0].to_dict())) and not is_marked(results[1])


def test_one_baseline_per_host(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = baseline_file(tmp_path / "a"), baseline_file(tmp_path / "b", host="prod2",
                                                           entries=[{"id": "ENV-010", "subject": "db.env",
                                                                     "outcome": "fail"}])
    baseline = Baseline.load([one, two], hosts=[HOST, "prod2"])
    assert baseline.is_known(result("ENV-010", "db.env", Outcome.FAIL, host="prod2"))
    assert not baseline.is_known(result("ENV-010", "db.env", Outcome.FAIL, host=HOST))
    with pytest.raises(BaselineError, match="a second baseline for host 'prod1'"):
        Baseline.load([one, one], hosts=[HOST])
    with pytest.raises(BaselineError, match="is the results of host 'prod2', which this run does not audit"):
        Baseline.load([two], hosts=[HOST])


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("<html>", "is not a results.json: not JSON"),
    ("[1, 2]", 'is not a results.json: no "schema" key'),
    ('{"schema": 2, "host": "prod1", "results": []}', "is a results.json of schema 2; this version reads schema 1"),
    ('{"schema": 1, "results": []}', 'no "host"'),
    ('{"schema": 1, "host": "prod1"}', 'no "results" list'),
    ('{"schema": 1, "host": "prod1", "results": [{"id": "ENV-001"}]}', "results[0] lacks id, subject or outcome"),
    (b"\xff\xfe", "cannot be read"),
])
def test_a_bad_baseline_is_one_clear_usage_error(tmp_path, content, problem):
    path = tmp_path / "results.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as caught:
        Baseline.load([path], hosts=[HOST])
    message = str(caught.value)
    assert message.startswith(f"--baseline {path}: ") and problem in message
    assert "\n" not in message


def test_a_baseline_folder_is_refused_with_a_hint(tmp_path):
    baseline_file(tmp_path)
    with pytest.raises(BaselineError, match=f"is a directory, not a results.json \\(did you mean {tmp_path}/results.json\\?\\)"):
        Baseline.load([tmp_path], hosts=[HOST])


def test_an_empty_baseline_knows_nothing():
    baseline = Baseline.load([], hosts=[HOST])
    assert not baseline and not baseline.is_known(result(outcome=Outcome.FAIL))


# -- options ----------------------------------------------------------------------------------
def test_an_output_in_a_missing_folder_is_a_usage_error_before_the_audit(tmp_path):
    assert output_path("--plan", None) is None
    assert output_path("--plan", str(tmp_path / "plan.md")) == tmp_path / "plan.md"
    with pytest.raises(UsageError, match=r"--metrics-file=.*/nope/x.prom: folder .*/nope does not exist"):
        output_path("--metrics-file", str(tmp_path / "nope" / "x.prom"))
    with pytest.raises(UsageError, match="is a directory; name a file"):
        output_path("--plan", str(tmp_path))


def test_audit_options_carry_outputs_and_baselines(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "prod1.yaml").write_text("name: prod1\ntarget: local\n")
    audit = Audit.from_options(["prod1"], str(profiles), "low", str(tmp_path / "r"), False,
                               metrics_file=str(tmp_path / "m.prom"), plan_file=str(tmp_path / "p.md"),
                               baselines=[str(baseline_file(tmp_path))])
    assert audit.metrics_file == tmp_path / "m.prom" and audit.plan_file == tmp_path / "p.md"
    assert audit.baseline.is_known(result("CRON-002", "c_1", Outcome.FAIL))
    with pytest.raises(UsageError, match="name the same file"):
        Audit.from_options(["prod1"], str(profiles), "low", "r", False,
                           metrics_file=str(tmp_path / "x"), plan_file=str(tmp_path / "x"))


@pytest.mark.parametrize("given, expected", [("16", 16), ("1", 1), (3, 3)])
def test_concurrency_is_a_number_of_deployments(tmp_path, given, expected):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "prod1.yaml").write_text("name: prod1\ntarget: local\n")
    assert Audit.from_options(["prod1"], str(profiles), "low", "r", False, concurrency=given).concurrency == expected


@pytest.mark.parametrize("given", ["0", "-2", "many", "1.5", ""])
def test_concurrency_below_one_or_not_a_number_is_refused(tmp_path, given):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "prod1.yaml").write_text("name: prod1\ntarget: local\n")
    with pytest.raises(UsageError, match=f"--concurrency={given}: expected a number of deployments, 1 or more"):
        Audit.from_options(["prod1"], str(profiles), "low", "r", False, concurrency=given)
