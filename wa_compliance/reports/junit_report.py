"""junit.xml (README: reports): one testsuite per host, one testcase per result, for Jenkins and GitLab."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..model import Outcome, Result
from .common import HostRun, iso_utc

FILENAME = "junit.xml"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

# Characters XML 1.0 cannot hold, and those junit-xml silently deletes (C1 controls,
# noncharacters): shown as U+FFFD instead, so a message never loses a character unseen.
_NOT_XML = re.compile(
    "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    "|[\x7f-\x84\x86-\x9f\ufdd0-\ufddf]"
    "|[\U0001fffe-\U0001ffff\U0002fffe-\U0002ffff\U0003fffe-\U0003ffff\U0004fffe-\U0004ffff"
    "\U0005fffe-\U0005ffff\U0006fffe-\U0006ffff\U0007fffe-\U0007ffff\U0008fffe-\U0008ffff"
    "\U0009fffe-\U0009ffff\U000afffe-\U000affff\U000bfffe-\U000bffff\U000cfffe-\U000cffff"
    "\U000dfffe-\U000dffff\U000efffe-\U000effff\U000ffffe-\U000fffff\U0010fffe-\U0010ffff]")


def xml_safe(text: str) -> str:
    if text.isascii() and text.isprintable():       # most text: nothing to replace, no regex to run
        return text
    return _NOT_XML.sub("\ufffd", text)


def unique_names(run: HostRun) -> list[str]:
    """`<host> <ID> <subject>` per result; a repeated name gets ` #2`, ` #3`... (GitLab keeps
    only the first testcase of a given name, so no two may share one)."""
    taken: set[str] = set()
    names = []
    for result in run.results:
        base = f"{run.host} {result.id} {result.subject}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base} #{n}"
        taken.add(name)
        names.append(name)
    return names


def waived_message(result: Result) -> str:
    waiver = result.waiver or {}
    reason = waiver.get("reason") or "no reason given"
    expires = waiver.get("expires")
    return f"waived: {reason} (until {expires})" if expires else f"waived: {reason}"


def output_json(result: Result) -> str:
    """What the testcase's stdout carries: junit-xml 1.9 has properties only per suite."""
    data = {"severity": str(result.severity), "remediation": result.remediation,
            "evidence": result.evidence, "waiver": result.waiver}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    # what XML cannot carry can only sit inside JSON strings: write it as a \u escape
    return _NOT_XML.sub(lambda m: json.dumps(m.group())[1:-1], text)


def test_case(result: Result, name: str) -> TestCase:
    case = TestCase(xml_safe(name), classname=xml_safe(result.section),
                    stdout=xml_safe(output_json(result)))
    # junit-xml drops a failure or error that has neither message nor output
    message = xml_safe(result.message or f"{result.id} {result.outcome} on {result.subject}")
    remediation = xml_safe(result.remediation)
    if result.outcome == Outcome.FAIL:
        case.add_failure_info(message=message, output=remediation)
    elif result.outcome == Outcome.ERROR:
        case.add_error_info(message=message, output=remediation)
    elif result.outcome == Outcome.SKIP:
        case.add_skipped_info(message=message)
    elif result.outcome == Outcome.WAIVED:
        case.add_skipped_info(message=xml_safe(waived_message(result)))
    return case


def suite(run: HostRun) -> TestSuite:
    cases = [test_case(r, n) for r, n in zip(run.results, unique_names(run))]
    properties = {"profile": run.profile, "tool_version": run.tool_version,
                  "started": iso_utc(run.started), "finished": iso_utc(run.finished)}
    return TestSuite(xml_safe(f"wa-compliance.{run.host}"), cases, hostname=xml_safe(run.host),
                     timestamp=iso_utc(run.started),
                     properties={k: xml_safe(v) for k, v in properties.items()})


def render_suites(suites: Iterable[TestSuite]) -> str:
    # not pretty-printed: minidom's pretty printer turns newlines in attributes (failure messages)
    # into spaces
    text = to_xml_report_string(list(suites), prettyprint=False)
    # junit-xml writes `disabled` on <testsuites>/<testsuite>, an attribute the JUnit schema
    # Jenkins and pytest use (junit-10.xsd) does not define; it is always 0 here. Values never
    # hold a raw '<', so only real tags match.
    text = _DISABLED.sub(r"\1", text)
    return DECLARATION + text + "\n"


_DISABLED = re.compile(r'(<testsuites?\b[^>]*?) disabled="\d+"')


def render(run: HostRun) -> str:
    """The file's text. The run must already be scrubbed."""
    return render_suites([suite(run)])
