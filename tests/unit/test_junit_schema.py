"""junit.xml against a published JUnit schema (README: reports: "valid for Jenkins and GitLab").

The schema is the JUnit XSD pytest validates its own junitxml against (testing/example_scripts/
junit-10.xsd, from the Jenkins xUnit plugin), taken from the sdist of the installed pytest on PyPI
the first time and cached: published, and not copied into this repository. Every outcome and
hostile text must give a document it accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.model import Outcome, Severity
from wa_compliance.reports import junit_report, write_reports
from wa_compliance.reports.common import Scrubber

from .test_reports import WAIVER, XSS, host_run, result

SCHEMA_MEMBER = "testing/example_scripts/junit-10.xsd"
CACHE = Path.home() / ".cache" / "wa-compliance"


def published_schema() -> Path:
    """pytest's junit-10.xsd, from the sdist of the installed pytest (PyPI), cached."""
    cached = CACHE / f"pytest-{pytest.__version__}-junit-10.xsd"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            f"pytest=={pytest.__version__}", "-d", folder], check=True, timeout=300)
            [sdist] = Path(folder).glob("pytest-*.tar.gz")
            with tarfile.open(sdist) as archive:
                member = archive.extractfile(f"pytest-{pytest.__version__}/{SCHEMA_MEMBER}")
                cached.write_bytes(member.read())
    return cached

# what command output and operators' files may hold: markup, quotes, CDATA end, controls,
# an undecodable byte (lone surrogate), noncharacters, NUL, astral characters, newlines
HOSTILE = (f'{XSS} & "quotes" \'single\' ]]> <![CDATA[x]]> \x00\x01\x1b[31m\x7f\x85 '
           "caf\udce9 \ufffe\uffff \U0001f600 tab\there\nline two\r\nend")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(published_schema())


def every_outcome():
    return [
        result("ENV-001", outcome=Outcome.PASS),
        result("ENV-002", outcome=Outcome.FAIL, severity=Severity.CRITICAL, message="WA_DB_PASSWORD is empty"),
        result("VOL-002", subject="wacore_1", outcome=Outcome.ERROR, message="docker inspect failed: timeout"),
        result("GC-004", subject="host", outcome=Outcome.SKIP, message="traffic unknown: no metrics"),
        result("LOG-005", subject="waweb_1", outcome=Outcome.WAIVED, severity=Severity.LOW, waiver=WAIVER),
        result("CRON-003", subject=HOSTILE, outcome=Outcome.FAIL, message=HOSTILE, remediation=HOSTILE,
               evidence={HOSTILE: [HOSTILE, 1.5, None, True]}),
        result("CRON-004", subject=HOSTILE, outcome=Outcome.ERROR, message=HOSTILE),
        result("CRON-005", subject=HOSTILE, outcome=Outcome.SKIP, message=HOSTILE),
        result("LOG-004", subject=HOSTILE, outcome=Outcome.WAIVED, waiver={**WAIVER, "reason": HOSTILE}),
        result("ENV-004", outcome=Outcome.FAIL, message="", remediation=""),
    ]


def cases(xml_text: str) -> list[ET.Element]:
    return ET.fromstring(xml_text.encode("utf-8")).findall("./testsuite/testcase")


def test_the_schema_is_the_published_one_and_it_does_reject(schema):
    assert "testsuite" in published_schema().read_text(encoding="utf-8")
    assert not schema.is_valid('<testsuites><testsuite tests="1"><testcase classname="x"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite tests="1"><testcase name="a"><bogus/></testcase>'
                               '</testsuite></testsuites>')


def test_every_outcome_and_hostile_text_give_a_valid_junit_xml(schema, tmp_path):
    folder = write_reports(host_run(every_outcome()), tmp_path, secrets=["EAAG-secret-token"])
    text = (folder / "junit.xml").read_text(encoding="utf-8")
    schema.validate(text)
    suite = ET.fromstring(text.encode("utf-8")).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("10", "3", "2", "4")
    by_id = {c.get("name").split(" ", 2)[1]: c for c in cases(text)}
    assert [child.tag for child in by_id["ENV-001"]] == ["system-out"]
    assert by_id["ENV-002"].find("failure").get("message") == "WA_DB_PASSWORD is empty"
    assert by_id["VOL-002"].find("error") is not None
    assert by_id["GC-004"].find("skipped").get("message") == "traffic unknown: no metrics"
    assert by_id["LOG-005"].find("skipped").get("message").startswith("waived: ")
    assert by_id["ENV-004"].find("failure") is not None             # no message, still a failure
    hostile = by_id["CRON-003"]
    message = hostile.find("failure").get("message")
    assert message.startswith(XSS) and "line two\r\nend" in message and "\x00" not in message
    assert json.loads(hostile.find("system-out").text)["severity"] == "high"


def test_testcases_are_named_by_host_check_and_subject_and_classed_by_section(tmp_path):
    folder = write_reports(host_run(every_outcome()[:5]), tmp_path)
    found = [(c.get("name"), c.get("classname")) for c in cases((folder / "junit.xml").read_text(encoding="utf-8"))]
    assert found == [("prod1 ENV-001 /opt/whatsapp/db.env", "env"), ("prod1 ENV-002 /opt/whatsapp/db.env", "env"),
                     ("prod1 VOL-002 wacore_1", "volumes"), ("prod1 GC-004 host", "gc"),
                     ("prod1 LOG-005 waweb_1", "logs")]


def test_the_same_check_failing_on_two_hosts_gives_two_distinct_testcase_names(schema, tmp_path):
    # one run over two hosts: each host's own junit.xml, and both suites in one document
    # (as a CI job merging them does); GitLab keeps only the first of equal names
    failing = [result("VOL-002", subject="wacore_1", outcome=Outcome.FAIL, message="media mounted read-only")]
    runs = [host_run(failing, host=host) for host in ("prod1", "prod2")]
    names = []
    for run in runs:
        text = (write_reports(run, tmp_path) / "junit.xml").read_text(encoding="utf-8")
        schema.validate(text)
        names += [c.get("name") for c in cases(text)]
    assert names == ["prod1 VOL-002 wacore_1", "prod2 VOL-002 wacore_1"]
    merged = junit_report.render_suites(junit_report.suite(run) for run in runs)
    schema.validate(merged)
    merged_names = [c.get("name") for c in ET.fromstring(merged.encode("utf-8")).iter("testcase")]
    assert len(merged_names) == len(set(merged_names)) == 2


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])
ANY_TEXT = st.text(st.characters(exclude_categories=()))


@PROPS
@given(outcome=st.sampled_from(list(Outcome)), subject=ANY_TEXT.filter(bool), message=ANY_TEXT,
       remediation=ANY_TEXT, evidence=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))
def test_any_text_and_outcome_give_a_valid_junit_xml(schema, outcome, subject, message, remediation, evidence):
    waiver = {**WAIVER, "reason": message} if outcome == Outcome.WAIVED else None
    run = Scrubber().run(host_run([result(outcome=outcome, subject=subject, message=message,
                                          remediation=remediation, evidence=evidence, waiver=waiver)]))
    schema.validate(junit_report.render(run))
