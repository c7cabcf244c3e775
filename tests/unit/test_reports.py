"""wa_compliance.reports: results.json, junit.xml and report.html (README: reports)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.model import Outcome, Result, Severity
from wa_compliance.model import _plain as plain
from wa_compliance.reports import HostRun, history, html_report, json_report, junit_report, write_reports
from wa_compliance.reports.common import Scrubber

HOST = "prod1"
T0 = dt.datetime(2026, 11, 28, 17, 15, 0, tzinfo=dt.timezone.utc)
ENTRY_KEYS = ["id", "title", "section", "severity", "subject", "outcome",
              "message", "evidence", "remediation", "waiver"]
TOP_KEYS = ["schema", "host", "profile", "started", "finished", "tool_version", "summary", "results"]
XSS = "<script>alert('x')</script>"
FILES = ("results.json", "junit.xml", "report.html")


def result(check_id="ENV-004", subject="/opt/whatsapp/db.env", outcome=Outcome.PASS,
           severity=Severity.HIGH, message=None, section=None, evidence=None, waiver=None,
           remediation="Set WA_DB_PORT in db.env to the database server's TCP port."):
    prefix = check_id.split("-")[0]
    return Result(
        id=check_id, title=f"title of {check_id}",
        section=section or {"ENV": "env", "VOL": "volumes", "GC": "gc", "LOG": "logs",
                            "CRON": "cron"}.get(prefix, "env"),
        severity=severity, subject=subject, outcome=outcome,
        message=message if message is not None else f"{check_id} {outcome} on {subject}",
        remediation=remediation, host=HOST,
        evidence={"port": "3306"} if evidence is None else evidence, waiver=waiver)


WAIVER = {"check": "LOG-005", "subject": None, "reason": "archive moved to S3",
          "expires": "2027-01-31", "state": "active"}


def sample_results():
    return [
        result("ENV-001", outcome=Outcome.PASS),
        result("ENV-002", outcome=Outcome.FAIL, severity=Severity.CRITICAL,
               message="WA_DB_PASSWORD is empty", evidence={"missing": ["WA_DB_PASSWORD"]}),
        result("VOL-002", subject="wacore_1", outcome=Outcome.ERROR, severity=Severity.CRITICAL,
               message="docker inspect failed: timeout", remediation="Mount the media volume rw."),
        result("GC-004", subject="host", outcome=Outcome.SKIP, message="traffic unknown: no metrics"),
        result("LOG-005", subject="waweb_1", outcome=Outcome.WAIVED, severity=Severity.LOW,
               message="34 archived files", waiver=WAIVER),
        result("CRON-001", subject="host", outcome=Outcome.PASS, severity=Severity.HIGH),
    ]


def host_run(results=None, started=T0, host=HOST, profile="profiles/prod1.yaml"):
    return HostRun(host=host, profile=profile, started=started,
                   finished=started + dt.timedelta(seconds=83), tool_version="0.1.0",
                   results=sample_results() if results is None else results)


def read(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def load_json(folder: Path) -> dict:
    return json.loads(read(folder, "results.json"))


def junit_cases(folder: Path) -> list[ET.Element]:
    root = ET.fromstring((folder / "junit.xml").read_bytes())
    return root.findall("./testsuite/testcase")


@pytest.fixture
def written(tmp_path):
    return write_reports(host_run(), tmp_path)


# -- run folder ---------------------------------------------------------------------------
def test_run_folder_is_named_by_utc_start_and_holds_three_files(tmp_path):
    started = dt.datetime(2026, 11, 28, 18, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    folder = write_reports(host_run(started=started), tmp_path)
    assert folder == tmp_path / HOST / "20261128T171500Z"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_latest_is_a_relative_symlink_updated_each_run(tmp_path):
    first = write_reports(host_run(), tmp_path)
    latest = tmp_path / HOST / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == first.name
    assert not os.path.isabs(os.readlink(latest))
    second = write_reports(host_run(started=T0 + dt.timedelta(hours=1)), tmp_path)
    assert os.readlink(latest) == second.name == "20261128T181500Z"
    assert latest.resolve() == second.resolve()
    assert [p.name for p in (tmp_path / HOST).iterdir() if p.name.startswith(".")] == []


def test_two_runs_in_the_same_second_get_distinct_folders(tmp_path):
    folders = [write_reports(host_run(), tmp_path) for _ in range(3)]
    assert [f.name for f in folders] == ["20261128T171500Z", "20261128T171500Z-2", "20261128T171500Z-3"]
    assert os.readlink(tmp_path / HOST / "latest") == "20261128T171500Z-3"
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_hosts_have_separate_folders(tmp_path):
    a = write_reports(host_run(host="prod1"), tmp_path)
    b = write_reports(host_run(host="prod2"), tmp_path)
    assert a.parent.name == "prod1" and b.parent.name == "prod2"
    assert a.name == b.name


@pytest.mark.parametrize("host", ["", ".", "..", "a/b", "a\\b", "a\0b"])
def test_a_host_name_that_is_not_one_path_component_is_refused(tmp_path, host):
    with pytest.raises(ValueError):
        write_reports(host_run(host=host), tmp_path)


# -- results.json -------------------------------------------------------------------------
def test_results_json_keys_and_types_are_exactly_the_spec(written):
    data = load_json(written)
    assert list(data) == TOP_KEYS
    assert data["schema"] == 1
    assert data["host"] == HOST
    assert data["profile"] == "profiles/prod1.yaml"
    assert data["started"] == "2026-11-28T17:15:00Z"
    assert data["finished"] == "2026-11-28T17:16:23Z"
    assert data["tool_version"] == "0.1.0"
    assert list(data["summary"]) == ["pass", "fail", "error", "skip", "waived"]
    assert len(data["results"]) == 6
    for entry in data["results"]:
        assert list(entry) == ENTRY_KEYS
        assert "host" not in entry
        for key in ("id", "title", "section", "severity", "subject", "outcome", "message", "remediation"):
            assert isinstance(entry[key], str), key
        assert entry["severity"] in {"info", "low", "medium", "high", "critical"}
        assert entry["outcome"] in {"pass", "fail", "error", "skip", "waived"}
        assert isinstance(entry["evidence"], dict)
        assert entry["waiver"] is None or isinstance(entry["waiver"], dict)


def test_results_json_summary_counts_and_values(written):
    data = load_json(written)
    assert data["summary"] == {"pass": 2, "fail": 1, "error": 1, "skip": 1, "waived": 1}
    by_id = {e["id"]: e for e in data["results"]}
    assert by_id["ENV-002"]["severity"] == "critical"
    assert by_id["ENV-002"]["outcome"] == "fail"
    assert by_id["ENV-002"]["evidence"] == {"missing": ["WA_DB_PASSWORD"]}
    assert by_id["LOG-005"]["waiver"] == WAIVER
    assert by_id["ENV-001"]["waiver"] is None
    assert [e["id"] for e in data["results"]] == [r.id for r in sample_results()]


def test_results_json_round_trips_into_results(written):
    data = load_json(written)
    back = [Result.from_dict({**entry, "host": data["host"]}) for entry in data["results"]]
    assert back == sample_results()


def test_results_json_holds_odd_evidence_as_plain_json(tmp_path):
    evidence = {"modes": {0o640}, "path": Path("/opt/db.env"), "when": dt.date(2026, 1, 2),
                "ratio": float("nan"), "pair": (1, 2), 3: "int key"}
    folder = write_reports(host_run([result(evidence=evidence)]), tmp_path)
    text = read(folder, "results.json")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["results"][0]["evidence"] == {"modes": [416], "path": "/opt/db.env", "when": "2026-01-02",
                                               "ratio": "nan", "pair": [1, 2], "3": "int key"}


def test_reports_stay_valid_with_undecodable_bytes_and_control_characters(tmp_path):
    raw = b"caf\xe9 \x01\x1b[31m".decode("utf-8", "surrogateescape")
    folder = write_reports(host_run([result(outcome=Outcome.FAIL, message=raw, subject=raw,
                                            evidence={"out": raw})]), tmp_path)
    for name in FILES:
        (folder / name).read_bytes().decode("utf-8")       # strict UTF-8
    assert json.loads(read(folder, "results.json"))["results"][0]["message"].startswith("caf\ufffd")
    [case] = junit_cases(folder)
    assert case.find("failure").get("message").startswith("caf\ufffd ")


# -- junit.xml ----------------------------------------------------------------------------
def test_junit_has_one_suite_per_host_and_one_case_per_result(written):
    root = ET.fromstring((written / "junit.xml").read_bytes())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["wa-compliance.prod1"]
    cases = junit_cases(written)
    assert len(cases) == 6
    assert [c.get("name") for c in cases] == [f"{HOST} {r.id} {r.subject}" for r in sample_results()]
    assert [c.get("classname") for c in cases] == [r.section for r in sample_results()]
    suite = suites[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("6", "1", "1", "2")


def test_junit_names_are_unique_even_for_repeated_id_and_subject(tmp_path):
    results = [result(), result(), result(outcome=Outcome.FAIL), result(subject="other")]
    folder = write_reports(host_run(results), tmp_path)
    names = [c.get("name") for c in junit_cases(folder)]
    base = f"{HOST} ENV-004 /opt/whatsapp/db.env"
    assert names == [base, f"{base} #2", f"{base} #3", f"{HOST} ENV-004 other"]


def test_junit_suffix_never_collides_with_a_real_subject():
    results = [result(subject="x #2"), result(subject="x"), result(subject="x")]
    names = junit_report.unique_names(host_run(results))
    assert len(set(names)) == 3


def test_junit_outcomes_map_to_failure_error_skipped(written):
    cases = {c.get("name").split()[1]: c for c in junit_cases(written)}
    failure = cases["ENV-002"].find("failure")
    assert failure.get("message") == "WA_DB_PASSWORD is empty"
    assert failure.text == sample_results()[1].remediation
    error = cases["VOL-002"].find("error")
    assert error.get("message") == "docker inspect failed: timeout"
    assert error.text == "Mount the media volume rw."
    assert cases["GC-004"].find("skipped").get("message") == "traffic unknown: no metrics"
    assert cases["LOG-005"].find("skipped").get("message") == "waived: archive moved to S3 (until 2027-01-31)"
    for passed in ("ENV-001", "CRON-001"):
        assert [child.tag for child in cases[passed]] == ["system-out"]


def test_junit_stdout_carries_severity_remediation_evidence_as_json(written):
    for case, expected in zip(junit_cases(written), sample_results()):
        data = json.loads(case.find("system-out").text)
        assert data == {"severity": str(expected.severity), "remediation": expected.remediation,
                        "evidence": expected.evidence, "waiver": expected.waiver}


def test_junit_failure_message_keeps_newlines_and_markup(tmp_path):
    message = f'line one\nline two & "{XSS}"'
    folder = write_reports(host_run([result(outcome=Outcome.FAIL, message=message)]), tmp_path)
    assert junit_cases(folder)[0].find("failure").get("message") == message
    assert "<script>" not in read(folder, "junit.xml")


def test_junit_failure_without_message_still_fails(tmp_path):
    folder = write_reports(host_run([result(outcome=Outcome.FAIL, message="", remediation="")]), tmp_path)
    assert junit_cases(folder)[0].find("failure") is not None


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# any code point, lone surrogates included (undecodable bytes of command output)
ANY_TEXT = st.text(st.characters(exclude_categories=()))


@PROPS
@given(message=ANY_TEXT, subject=ANY_TEXT.filter(bool), evidence=st.dictionaries(ANY_TEXT, ANY_TEXT))
def test_any_text_gives_parseable_reports(message, subject, evidence):
    run = Scrubber().run(host_run([result(outcome=Outcome.FAIL, message=message, subject=subject,
                                          evidence=evidence)]))
    clean = run.results[0]
    root = ET.fromstring(junit_report.render(run).encode("utf-8"))
    [case] = root.findall("./testsuite/testcase")
    if clean.message:
        # ElementTree writes CR, LF and tab in attributes as references: exact round trip
        assert case.find("failure").get("message") == junit_report.xml_safe(clean.message)
    assert json.loads(case.find("system-out").text)["evidence"] == clean.evidence
    assert json.loads(json_report.render(run))["results"][0]["message"] == clean.message
    page = html_report.render(run, history.Changes(note=history.FIRST_RUN))
    page.encode("utf-8")
    assert "<script" not in page


# -- report.html --------------------------------------------------------------------------
REMOTE = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_html_is_self_contained(tmp_path):
    results = sample_results() + [result("ENV-009", outcome=Outcome.FAIL,
                                         remediation="See https://developers.facebook.com/docs/whatsapp")]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    assert not REMOTE.search(page)
    assert "url(" not in page and "@import" not in page
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "<svg", "<video", "<audio"):
        assert tag not in page.lower()
    # the remediation's URL is text, not a link
    assert "https://developers.facebook.com/docs/whatsapp" in page


def test_html_escapes_every_value(tmp_path):
    results = [result(outcome=Outcome.FAIL, subject=XSS, message=XSS, remediation=XSS,
                      evidence={XSS: XSS}),
               dataclasses.replace(result("ENV-003", subject=XSS, evidence={"x": XSS}), title=XSS),
               result("LOG-005", outcome=Outcome.WAIVED, subject=XSS,
                      waiver={**WAIVER, "reason": XSS}),
               result("GC-004", outcome=Outcome.SKIP, message=XSS)]
    page = read(write_reports(host_run(results, profile=XSS), tmp_path), "report.html")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert f'title="{html.escape(XSS)}"'.replace("&#x27;", "&#39;") in page


def test_html_header_summary_and_score(written):
    page = read(written, "report.html")
    assert "prod1" in page and "profiles/prod1.yaml" in page and "0.1.0" in page
    assert "2026-11-28T17:15:00Z" in page and "1 min 23 s" in page
    assert 'class="status FAIL"' in page
    assert "50.0 %" in page                       # 2 pass / (2 + 1 + 1)
    assert "first run for this host" in page


def test_html_status_pass_without_fail_or_error(tmp_path):
    results = [result(), result("GC-004", outcome=Outcome.SKIP)]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    assert 'class="status PASS"' in page and 'class="status FAIL"' not in page
    assert "100.0 %" in page


def test_html_score_is_na_when_nothing_was_judged():
    assert html_report.score({"pass": 0, "fail": 0, "error": 0, "skip": 3, "waived": 1}) == "n/a"


def test_html_lists_failures_first_most_severe_first(tmp_path):
    results = [result("LOG-002", outcome=Outcome.FAIL, severity=Severity.MEDIUM, message="keeps 10"),
               result("ENV-001", outcome=Outcome.PASS),
               result("VOL-001", outcome=Outcome.FAIL, severity=Severity.CRITICAL, message="no mount")]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    failures = page[page.index('id="failures"'):page.index('id="changes"')]
    assert failures.index("VOL-001") < failures.index("LOG-002")
    assert "ENV-001" not in failures
    assert page.index('id="failures"') < page.index('id="results"')
    assert '<pre class="paste">Set WA_DB_PORT in db.env to the database server&#39;s TCP port.</pre>' in failures
    assert "<details><summary>Evidence</summary>" in failures
    assert failures.index('id="failure-1"') < failures.index("VOL-001") < failures.index('id="failure-2"')


def test_html_results_table_links_a_failing_row_to_its_failure_entry(tmp_path):
    results = [result("ENV-001", outcome=Outcome.PASS, evidence={"seen": "passing evidence"}),
               result("VOL-001", outcome=Outcome.FAIL, severity=Severity.CRITICAL)]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    table = page[page.index('id="results"'):page.index('id="waivers"')]
    assert '<a href="#failure-1">' in table and 'id="failure-1"' in page
    assert "passing evidence" in table               # a passing row keeps its own evidence


def test_html_evidence_is_folded_on_screen_and_printed_open(tmp_path):
    results = [result(outcome=Outcome.FAIL, evidence={"mount": "wamedia-ro"}),
               result("CRON-001", subject="host", outcome=Outcome.PASS, evidence={"line": "cron-ok"})]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    style = page[page.index("@media print"):page.index("</style>")]
    assert "details { display: none; }" in style and ".print-only { display: block; }" in style
    assert ".print-only { display: none; }" in page[:page.index("@media")]
    for value in ("wamedia-ro", "cron-ok"):
        folded = re.findall(r"<details><summary>Evidence</summary><pre>(.*?)</pre></details>", page, re.S)
        printed = re.findall(r'class="print-only">(?:<p class="label">Evidence</p><pre>)?(.*?)</pre>', page, re.S)
        assert any(value in text for text in folded), value
        assert any(value in text for text in printed), value


def test_html_matrix_has_a_total_per_severity():
    totals = html_report.severity_totals(html_report.matrix(sample_results()))
    by_severity = {c["severity"]: (c["failing"], c["total"]) for c in totals}
    assert by_severity == {"critical": (2, 2), "high": (0, 3), "medium": (0, 0), "low": (0, 1),
                           "info": (0, 0), "all": (2, 6)}


@pytest.mark.parametrize("waiver, outcome, expected", [
    ({"expires": "2026-12-10", "state": "active"}, Outcome.WAIVED, "active, 12 days left"),
    ({"expires": "2026-11-29", "state": "active"}, Outcome.WAIVED, "active, 1 day left"),
    ({"expires": "2026-11-28", "state": "active"}, Outcome.WAIVED, "active, last day"),
    ({"expires": "2026-10-31", "state": "expired"}, Outcome.FAIL, "expired on 2026-10-31"),
    ({"expires": "someday", "state": "active"}, Outcome.WAIVED, "active"),
])
def test_html_waiver_state_says_how_long_it_still_holds(waiver, outcome, expected):
    assert html_report.waiver_state(waiver, outcome, T0) == expected


def test_html_shows_an_expired_waiver_and_its_failure(tmp_path):
    expired = {**WAIVER, "expires": "2026-10-31", "state": "expired"}
    results = [result("LOG-005", outcome=Outcome.FAIL, message="34 archived files (waiver expired on 2026-10-31)",
                      waiver=expired)]
    page = read(write_reports(host_run(results), tmp_path), "report.html")
    waivers = page[page.index('id="waivers"'):page.index('id="skipped"')]
    assert 'class="waiver-expired"' in waivers and "expired on 2026-10-31" in waivers
    assert "waiver expired on 2026-10-31" in page[page.index('id="failures"'):page.index('id="changes"')]


def test_html_shows_waivers_with_expiry_and_skips_with_reason(written):
    page = read(written, "report.html")
    waivers = page[page.index('id="waivers"'):page.index('id="skipped"')]
    assert "archive moved to S3" in waivers and "2027-01-31" in waivers
    skipped = page[page.index('id="skipped"'):]
    assert "traffic unknown: no metrics" in skipped


def test_html_counts_per_section_and_severity():
    rows = html_report.matrix(sample_results())
    assert [r["section"] for r in rows] == ["env", "volumes", "gc", "logs", "cron"]
    env = {c["severity"]: (c["failing"], c["total"]) for c in rows[0]["cells"]}
    assert env["critical"] == (1, 1) and env["high"] == (0, 1) and env["low"] == (0, 0)


def test_html_has_phone_and_print_css(written):
    page = read(written, "report.html")
    assert 'name="viewport"' in page and "@media print" in page and "@media (max-width" in page


# -- changes since the previous run -------------------------------------------------------
def keys(lines):
    return sorted((line["id"], line["subject"]) for line in lines)


def test_previous_run_diff_lists_new_failures_fixed_and_still_failing(tmp_path):
    before = [result("ENV-002", outcome=Outcome.FAIL),                  # fixed
              result("VOL-002", subject="wacore_1", outcome=Outcome.ERROR),  # still failing
              result("LOG-002", subject="waweb_1", outcome=Outcome.PASS),    # new failure
              result("CRON-002", subject="host", outcome=Outcome.PASS),      # still passing
              result("LOG-004", subject="waweb_1", outcome=Outcome.FAIL)]    # not run again
    after = [result("ENV-002", outcome=Outcome.PASS),
             result("VOL-002", subject="wacore_1", outcome=Outcome.FAIL),
             result("LOG-002", subject="waweb_1", outcome=Outcome.FAIL),
             result("CRON-002", subject="host", outcome=Outcome.PASS),
             result("GC-003", subject="database", outcome=Outcome.ERROR)]    # new, never seen
    write_reports(host_run(before), tmp_path)
    folder = tmp_path / HOST
    previous, problem = history.load_previous(folder)
    changes = history.compare(previous, [json_report.entry(r) for r in after], problem)
    assert changes.note is None and changes.previous == "2026-11-28T17:15:00Z"
    assert keys(changes.new_failures) == [("GC-003", "database"), ("LOG-002", "waweb_1")]
    assert keys(changes.fixed) == [("ENV-002", "/opt/whatsapp/db.env")]
    assert keys(changes.still_failing) == [("VOL-002", "wacore_1")]
    assert keys(changes.not_rechecked) == [("LOG-004", "waweb_1")]

    second = write_reports(host_run(after, started=T0 + dt.timedelta(days=1)), tmp_path)
    page = read(second, "report.html")
    changed = page[page.index('id="changes"'):page.index('id="results"')]
    assert "first run for this host" not in changed
    assert changed.index("New failures (2)") < changed.index("GC-003") < changed.index("Fixed (1)")
    assert changed.index("Fixed (1)") < changed.index("ENV-002") < changed.index("Still failing (1)")
    assert changed.index("Still failing (1)") < changed.index("VOL-002")
    # a relative link from reports/prod1/<run>/ to the previous run's page, its sibling
    assert '<a href="../20261128T171500Z/report.html" class="previous-report">' in changed
    assert (second / "../20261128T171500Z/report.html").resolve().is_file()


def test_waived_or_skipped_now_counts_as_no_longer_failing():
    previous = {"started": "x", "results": [json_report.entry(result(outcome=Outcome.FAIL))]}
    changes = history.compare(previous, [json_report.entry(result(outcome=Outcome.WAIVED))])
    assert keys(changes.fixed) == [("ENV-004", "/opt/whatsapp/db.env")]
    assert changes.fixed[0]["outcome"] == "waived" and changes.fixed[0]["previous_outcome"] == "fail"


def test_a_repeated_pair_is_failing_if_any_of_its_results_fails():
    previous = {"started": "x", "results": [json_report.entry(result(outcome=Outcome.PASS))]}
    current = [json_report.entry(result(outcome=Outcome.PASS)),
               json_report.entry(result(outcome=Outcome.FAIL))]
    assert keys(history.compare(previous, current).new_failures) == [("ENV-004", "/opt/whatsapp/db.env")]


def test_first_run_says_so(tmp_path):
    previous, problem = history.load_previous(tmp_path / HOST)
    assert (previous, problem) == (None, None)
    assert history.compare(previous, [], problem).note == "first run for this host"


def test_unreadable_previous_results_are_reported_not_taken_for_a_first_run(tmp_path):
    first = write_reports(host_run(), tmp_path)
    (first / "results.json").write_text("{not json", encoding="utf-8")
    page = read(write_reports(host_run(), tmp_path), "report.html")
    assert "is unreadable" in page and "first run for this host" not in page


def test_broken_latest_link_is_reported(tmp_path):
    (tmp_path / HOST).mkdir()
    os.symlink("gone", tmp_path / HOST / "latest")
    folder = write_reports(host_run(), tmp_path)
    assert "previous run has no results.json" in read(folder, "report.html")
    assert os.readlink(tmp_path / HOST / "latest") == folder.name


# -- secrets ------------------------------------------------------------------------------
SECRET = 'S3cr3t<&>"pw\'!'
TOKEN = "EAAG-token-0123456789"


def test_secrets_are_scrubbed_from_all_three_files(tmp_path):
    results = [
        result("ENV-010", outcome=Outcome.FAIL, subject=f"db.env ({SECRET})",
               message=f"WA_DB_PASSWORD={SECRET} is a sample value",
               remediation=f"Replace {SECRET} with a strong password.",
               evidence={"env": {"WA_DB_PASSWORD": SECRET, TOKEN: [TOKEN, f"Bearer {TOKEN}"]}}),
        result("ENV-009", outcome=Outcome.ERROR, message=f"login failed with token {TOKEN}"),
        result("LOG-005", outcome=Outcome.WAIVED, waiver={**WAIVER, "reason": f"ask {TOKEN}"}),
        result("GC-004", outcome=Outcome.SKIP, message=f"skip {SECRET}"),
    ]
    run = host_run(results, profile=f"/etc/wa/{TOKEN}.yaml")
    folder = write_reports(run, tmp_path, secrets=[SECRET, TOKEN, ""])
    for name in FILES:
        text = read(folder, name)
        for secret in (SECRET, TOKEN):
            assert secret not in text, name
            assert html.escape(secret) not in text, name
            assert json.dumps(secret)[1:-1] not in text, name
            assert "S3cr3t" not in text and "0123456789" not in text, name
        assert "***" in text, name
    data = load_json(folder)
    assert data["results"][0]["message"] == "WA_DB_PASSWORD=*** is a sample value"
    assert data["results"][0]["evidence"] == {"env": {"WA_DB_PASSWORD": "***", "***": ["***", "Bearer ***"]}}
    assert data["profile"] == "/etc/wa/***.yaml"


def test_secrets_are_scrubbed_from_the_previous_run_shown_in_changes(tmp_path):
    write_reports(host_run([result(outcome=Outcome.FAIL, message=f"pw {SECRET}")]), tmp_path)
    folder = write_reports(host_run([result(outcome=Outcome.PASS)]), tmp_path, secrets=[SECRET])
    page = read(folder, "report.html")
    assert "Fixed (1)" in page and "S3cr3t" not in page


def test_scrub_masks_the_longer_secret_whole_and_numbers_holding_a_secret():
    scrub = Scrubber(["abc", "abcdef", "424242"])
    assert scrub.text("xabcdefx abc") == "x***x ***"
    assert scrub.value({"n": 1424242, "m": 7, "ok": True}) == {"n": "1***", "m": 7, "ok": True}


def test_scrub_leaves_the_callers_results_untouched(tmp_path):
    results = [result(message=f"pw {SECRET}", evidence={"pw": SECRET})]
    write_reports(host_run(results), tmp_path, secrets=[SECRET])
    assert results[0].message == f"pw {SECRET}" and results[0].evidence == {"pw": SECRET}


# -- fleet index (DIR/index.html, DIR/<host>/history.jsonl) ---------------------------------
from html.parser import HTMLParser                                         # noqa: E402

from wa_compliance.reports import fleet                                    # noqa: E402


class HostRows(HTMLParser):
    """The index's host rows: {host: {"class", "cells": {label: text}, "href"}}."""

    def __init__(self):
        super().__init__()
        self.rows, self.scripts = {}, 0
        self._row = self._label = None
        self._in_svg = False            # the sparkline's <title> repeats the trend: not a cell's text

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self._in_svg = True
        if tag == "tr" and "host" in (attrs.get("class") or "").split():
            self._row = {"class": attrs["class"], "cells": {}, "href": None}
        elif tag == "td" and self._row is not None:
            self._label = attrs.get("data-label")
            self._row["cells"][self._label] = ""
        elif tag == "a" and self._row is not None and "report" in (attrs.get("class") or ""):
            self._row["href"] = attrs["href"]

    def handle_data(self, data):
        if self._row is not None and self._label and not self._in_svg:
            self._row["cells"][self._label] += data

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg = False
        elif tag == "td":
            self._label = None
        elif tag == "tr" and self._row is not None:
            self.rows[" ".join(self._row["cells"]["host"].split())] = self._row
            self._row = None


def index_rows(reports_dir: Path) -> dict:
    parser = HostRows()
    parser.feed(read(reports_dir, "index.html"))
    assert parser.scripts == 0
    return parser.rows


def history_lines(reports_dir: Path, host: str) -> list[dict]:
    return [json.loads(line) for line in read(reports_dir / host, "history.jsonl").splitlines()]


def audit_run(reports_dir, host, day, results=None):
    """One run of one host on day `day`, its reports written, as the plugin does."""
    return write_reports(host_run(results, host=host, started=T0 + dt.timedelta(days=day)), reports_dir)


def test_fleet_index_has_one_row_per_host_with_counts_and_a_relative_link(tmp_path):
    runs = {"prod2": audit_run(tmp_path, "prod2", 0, [result()]), "prod1": audit_run(tmp_path, "prod1", 0)}
    index = fleet.write_fleet_index(tmp_path, runs)
    assert index == tmp_path / "index.html"
    rows = index_rows(tmp_path)
    assert list(rows) == ["prod1", "prod2"]                        # by host name
    prod1 = rows["prod1"]["cells"]
    assert (prod1["status"].strip(), prod1["pass"], prod1["fail"], prod1["error"], prod1["skip"],
            prod1["waived"], prod1["score"]) == ("FAIL", "2", "1", "1", "1", "1", "50.0 %")
    assert rows["prod2"]["cells"]["status"].strip() == "PASS"
    for host, row in rows.items():
        assert row["href"] == f"{host}/{runs[host].name}/report.html"
        assert (tmp_path / row["href"]).is_file()
        assert "stale" not in row["class"]


def test_fleet_history_gets_one_line_per_run_and_survives_pruned_run_folders(tmp_path):
    import shutil
    first = audit_run(tmp_path, HOST, 0)
    fleet.write_fleet_index(tmp_path, {HOST: first})
    fleet.write_fleet_index(tmp_path, {HOST: first})                # same run again: no new line
    second = audit_run(tmp_path, HOST, 1, [result()])
    fleet.write_fleet_index(tmp_path, {HOST: second})
    lines = history_lines(tmp_path, HOST)
    assert [line["run"] for line in lines] == [first.name, second.name]
    assert lines[0] == {"run": first.name, "started": "2026-11-28T17:15:00Z", "finished": "2026-11-28T17:16:23Z",
                        "summary": {"pass": 2, "fail": 1, "error": 1, "skip": 1, "waived": 1}, "score": 50.0}
    assert lines[1]["score"] == 100.0
    shutil.rmtree(first)
    third = audit_run(tmp_path, HOST, 2, [result(outcome=Outcome.FAIL)])
    fleet.write_fleet_index(tmp_path, {HOST: third})
    assert [line["score"] for line in history_lines(tmp_path, HOST)] == [50.0, 100.0, 0.0]
    trend = index_rows(tmp_path)[HOST]["cells"]["trend"]
    assert "fail+error: 2 → 0 → 1" in " ".join(trend.split())
    page = read(tmp_path, "index.html")
    assert "50.0 % → 100.0 % → 0.0 %" in page and "<polyline" in page


def test_fleet_trend_shows_the_last_runs_only(tmp_path):
    for day in range(fleet.TREND_RUNS + 3):
        fleet.write_fleet_index(tmp_path, {HOST: audit_run(tmp_path, HOST, day, [result()])})
    assert len(history_lines(tmp_path, HOST)) == fleet.TREND_RUNS + 3
    trend = " ".join(index_rows(tmp_path)[HOST]["cells"]["trend"].split())
    assert trend.count("→") == fleet.TREND_RUNS - 1


def test_fleet_hosts_not_in_this_run_keep_their_row_marked_with_their_last_run(tmp_path):
    fleet.write_fleet_index(tmp_path, {"prod1": audit_run(tmp_path, "prod1", 0),
                                       "prod2": audit_run(tmp_path, "prod2", 0, [result()])})
    fleet.write_fleet_index(tmp_path, {"prod1": audit_run(tmp_path, "prod1", 3)})
    rows = index_rows(tmp_path)
    assert list(rows) == ["prod1", "prod2"]
    assert "stale" not in rows["prod1"]["class"] and "stale" in rows["prod2"]["class"]
    assert "2026-12-01T17:15:00Z" in rows["prod1"]["cells"]["last run"]
    assert "2026-11-28T17:15:00Z" in rows["prod2"]["cells"]["last run"]
    assert "not in this run" in rows["prod2"]["cells"]["last run"]
    assert rows["prod2"]["href"] == "prod2/20261128T171500Z/report.html"


def test_fleet_index_fills_in_hosts_and_runs_it_was_not_told_about(tmp_path):
    # runs written before the index existed (or by a run that did not call it)
    audit_run(tmp_path, "old", 0, [result(outcome=Outcome.FAIL)])
    audit_run(tmp_path, "old", 1, [result()])
    (tmp_path / "screenshots").mkdir()                               # not a host: no latest, no history
    fleet.write_fleet_index(tmp_path, {"new": audit_run(tmp_path, "new", 2, [result()])})
    assert list(index_rows(tmp_path)) == ["new", "old"]
    assert [line["score"] for line in history_lines(tmp_path, "old")] == [0.0, 100.0]


def test_fleet_index_is_the_same_whatever_the_order_results_and_hosts_came_in(tmp_path):
    results = sample_results()
    a, b = tmp_path / "a", tmp_path / "b"
    runs_a = {h: audit_run(a, h, 0, results) for h in ("prod1", "prod2", "prod3")}
    runs_b = {h: audit_run(b, h, 0, list(reversed(results))) for h in ("prod3", "prod1", "prod2")}
    fleet.write_fleet_index(a, runs_a)
    fleet.write_fleet_index(b, runs_b)
    assert read(a, "index.html") == read(b, "index.html")
    for host in runs_a:
        assert read(a / host, "history.jsonl") == read(b / host, "history.jsonl")


def test_fleet_writes_leave_no_temp_file_and_tolerate_a_torn_history_line(tmp_path):
    fleet.write_fleet_index(tmp_path, {HOST: audit_run(tmp_path, HOST, 0)})
    with open(tmp_path / HOST / "history.jsonl", "a", encoding="utf-8") as stream:
        stream.write('{"run": "2026112')                             # a writer killed mid-line
    fleet.write_fleet_index(tmp_path, {HOST: audit_run(tmp_path, HOST, 1)})
    assert len(history_lines(tmp_path, HOST)) == 2
    assert [p.name for p in tmp_path.rglob(".*")] == []


def test_fleet_index_escapes_host_names_and_quotes_their_links(tmp_path):
    host = "<script>x"
    run = audit_run(tmp_path, host, 0, [result(subject=XSS, outcome=Outcome.FAIL)])
    fleet.write_fleet_index(tmp_path, {host: run})
    page = read(tmp_path, "index.html")
    assert "<script" not in page and "&lt;script&gt;x" in page
    [row] = index_rows(tmp_path).values()
    assert row["href"] == f"%3Cscript%3Ex/{run.name}/report.html"


def test_fleet_row_says_when_its_report_was_removed(tmp_path):
    run = audit_run(tmp_path, HOST, 0)
    fleet.write_fleet_index(tmp_path, {HOST: run})
    (run / "report.html").unlink()
    fleet.write_fleet_index(tmp_path, {})
    row = index_rows(tmp_path)[HOST]
    assert row["href"] is None and "report removed" in row["cells"]["report"]


def test_fleet_index_of_an_empty_folder_says_so(tmp_path):
    fleet.write_fleet_index(tmp_path / "new", {})
    assert "No host audited yet." in read(tmp_path / "new", "index.html")


def test_fleet_index_is_self_contained(tmp_path):
    fleet.write_fleet_index(tmp_path, {HOST: audit_run(tmp_path, HOST, 0)})
    page = read(tmp_path, "index.html")
    assert not REMOTE.search(page) and "url(" not in page and "@import" not in page
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "<embed"):
        assert tag not in page.lower()
    assert 'name="viewport"' in page and "@media print" in page and "@media (max-width" in page


def test_fleet_writers_sharing_a_folder_lose_no_history_line(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    runs = [audit_run(tmp_path, HOST, day, [result()]) for day in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda run: fleet.write_fleet_index(tmp_path, {HOST: run}), runs))
    assert [line["run"] for line in history_lines(tmp_path, HOST)] == [run.name for run in runs]


def traffic_profile(**changes):
    profile = {"hourly_mean": [20.0] * 9 + [180.0] * 9 + [20.0] * 6, "hourly_peak": [25.0] * 9 + [210.0] * 9 + [25.0] * 6,
               "off_peak": "22:00-04:00", "off_peak_source": "auto: the 6 hours with the fewest outgoing messages",
               "threshold": 120, "peak": 205.0, "cleanup_at": ["03:30"], "gc_calls_at": ["02:57"],
               "source": "Prometheus http://p:9090", "queries": ["sum(rate(x[5m]))"]}
    return {**profile, **changes}


def test_the_traffic_picture_is_inline_svg_with_the_window_the_jobs_and_the_threshold():
    results = [*sample_results(), result("GC-004", subject="prod1", outcome=Outcome.PASS,
                                          evidence={"traffic_profile": traffic_profile()})]
    page = html_report.render(HostRun(HOST, "profiles/prod1.yaml", T0, T0, "1.0", results), history.Changes())
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count("<rect") == 24 + 2            # 24 hours, the window wrapping midnight in two
    assert "cleanup at 03:30" in svg and "GC call at 02:57" in svg and "120 rps" in svg
    assert "<script" not in page[page.index('<section id="traffic">'):] and "http://www.w3.org" not in page
    assert "22:00-04:00" in page


def test_no_traffic_profile_no_picture():
    page = html_report.render(HostRun(HOST, "p.yaml", T0, T0, "1.0", sample_results()), history.Changes())
    assert '<section id="traffic">' not in page


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=24, max_size=24),
       st.sampled_from(["00:00-06:00", "22:00-04:00", "18:00-24:00", "00:00-24:00"]))
def test_any_history_draws_inside_the_frame(means, window):
    from wa_compliance.reports.traffic_picture import traffic_picture
    picture = traffic_picture([result("GC-004", evidence={"traffic_profile": traffic_profile(
        hourly_mean=means, hourly_peak=means, off_peak=window)})])
    for bar in picture["bars"]:
        assert picture["top"] <= bar["y"] <= picture["bottom"] and bar["h"] >= 0
    assert sum(span["w"] for span in picture["window"]) <= picture["right"] - picture["left"] + 0.5


def test_the_upgrade_gate_shows_in_the_page_and_the_plan():
    from wa_compliance.outputs.plan import render_plan
    gate = {"target": "v2.53.1", "verdict": "NO-GO", "failing": ["GC-003 prod1"]}
    results = [*sample_results(), result("VER-002", subject="prod1", outcome=Outcome.PASS, section="version",
                                          evidence={"after_upgrade": ["Enable automatic GC."]})]
    run = HostRun(HOST, "profiles/prod1.yaml", T0, T0, "1.0", results, upgrade=gate)
    page = html_report.render(run, history.Changes())
    assert "Upgrade to v2.53.1" in page and "NO-GO" in page and "GC-003 prod1" in page
    plan = render_plan([run], tool_version="1.0")
    assert "### Upgrade to v2.53.1: NO-GO" in plan and "- Enable automatic GC." in plan
    no_gate = html_report.render(HostRun(HOST, "p.yaml", T0, T0, "1.0", results), history.Changes())
    assert "Upgrade to" not in no_gate


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                        | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=12)


@given(_JSONISH)
def test_a_results_copy_is_what_dataclasses_asdict_makes(evidence):
    """Result.to_dict copies its evidence as asdict would, without deep-copying each leaf."""
    @dataclasses.dataclass
    class Holder:
        evidence: object

    assert plain(evidence) == dataclasses.asdict(Holder(evidence))["evidence"]
