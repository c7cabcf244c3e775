"""R-GC as a decision table: every combination of table size × pass_through × automatic GC ×
traffic × API GC job gets exactly the verdicts the source document implies."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from wa_compliance.facts.gc import ApiJob, GcFacts, Known, SizeClass, size_class
from wa_compliance.model import Outcome
from wa_compliance.parsers.gc_job import GcCommandError, gc_calls
from wa_compliance.rules import gc as rules

SIZES = {SizeClass.NORMAL: 500_000, SizeClass.LARGE: 2_500_000,
         SizeClass.VERY_LARGE: 12_000_000, SizeClass.UNKNOWN: None}
JOBS = {"none": (), "daily off-peak": (ApiJob("/etc/cron.d/gc:1", True, True, "at 03:00 every day"),),
        "weekly": (ApiJob("/etc/cron.d/gc:1", False, True, "at 03:00 on Sunday"),),
        "at 14:00": (ApiJob("/etc/cron.d/gc:1", True, False, "at 14:00 every day"),)}
FLAGS = (True, False, None)
TRAFFIC = (50.0, 200.0, None)


def facts(size, pass_through, auto_gc, rps, job) -> GcFacts:
    rows = SIZES[size]
    known = lambda value, source: None if value is None else Known(value, source)  # noqa: E731
    return GcFacts(size=size, rows=known(rows, "stats"), pass_through=known(pass_through, "api"),
                         auto_gc=known(auto_gc, "api"), rps=known(rps, "declared"), jobs=JOBS[job])


def expected(size, pass_through, auto_gc, rps, job) -> dict[str, tuple]:
    """The rule, written out independently of rules/gc.py."""
    busy = None if rps is None else rps > 120
    settings = pass_through is not None and auto_gc is not None
    large = size in (SizeClass.LARGE, SizeClass.VERY_LARGE)
    # at <= 120 rps automatic GC must be on; off is graded by risk (pass_through on: low)
    gc3 = ("skip",) if busy or auto_gc is None else ("pass",) if auto_gc else \
        ("fail", "low" if pass_through else "high" if large else "medium")
    gc4 = ("skip",) if not busy else ("pass",) if job == "daily off-peak" else ("fail",)
    gc5 = ("skip",) if busy is None or busy else ("fail",) if job != "none" else ("pass",)
    gc6 = ("pass",) if size is SizeClass.VERY_LARGE else ("skip",)
    return {"GC-002": ("pass",) if settings else ("fail",), "GC-003": gc3, "GC-004": gc4, "GC-005": gc5, "GC-006": gc6}


def decide(facts, very_large):
    """Every GC decision at once, as the checks of checks/test_gc.py take them."""
    return {"GC-002": rules.settings_known(facts), "GC-003": rules.automatic_gc_enabled(facts),
            "GC-004": rules.api_gc_scheduled(facts), "GC-005": rules.api_gc_discouraged(facts),
            "GC-006": rules.very_large_note(facts, very_large)}


COMBINATIONS = list(itertools.product(SIZES, FLAGS, FLAGS, TRAFFIC, JOBS))


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: "-".join(str(x) for x in c))
def test_every_combination(combination):
    decisions = decide(facts(*combination), very_large=10_000_000)
    for check_id, (outcome, *severity) in expected(*combination).items():
        decision = decisions[check_id]
        assert decision.verdict.value == outcome, (check_id, decision)
        if severity:
            assert decision.severity == severity[0], (check_id, decision)


def test_the_document_cases_read_well():
    case = facts(SizeClass.LARGE, True, False, None, "none")
    assert rules.automatic_gc_enabled(case).message == (
        "pass_through is true (api), automatic GC is false (api); traffic unknown, assumed ≤ 120 rps: automatic GC "
        "must be enabled at ≤ 120 rps; pass_through is on, so the client already discards delivered messages")
    upgraded = facts(SizeClass.LARGE, False, True, 50.0, "none")     # after v2.29.1, as recommended
    assert rules.automatic_gc_enabled(upgraded).verdict is Outcome.PASS
    neglected = facts(SizeClass.LARGE, False, False, 50.0, "none")
    decision = rules.automatic_gc_enabled(neglected)
    assert (decision.verdict, decision.severity) == (Outcome.FAIL, "high")
    assert decision.message.endswith("pass_through is off and the messages table is large (2,500,000 rows, "
                                     "stats): messages accumulate and nothing collects them")
    assert "disable" not in decision.message
    busy = facts(SizeClass.VERY_LARGE, False, False, 200.0, "none")
    assert rules.api_gc_scheduled(busy).message == (
        "200 rps (declared) is above 120 rps and no host cron job calls PUT /v1/services/message/gc")
    assert "the API GC job must repeat" in rules.very_large_note(busy, 10_000_000).message


def test_gc_002_names_each_unknown_setting_and_why():
    case = GcFacts(size=SizeClass.NORMAL, rows=None, pass_through=Known(True, "api"), auto_gc=None,
                         rps=None, jobs=(), unknown_settings={"automatic GC": "the API answered without it"})
    assert rules.settings_known(case).message == (
        "automatic GC unknown: the API answered without it, and the profile does not declare "
        "settings.db_garbagecollector_enable; pass_through is true (api)")
    both = GcFacts(size=SizeClass.NORMAL, rows=None, pass_through=None, auto_gc=None, rps=None, jobs=(),
                         unknown_settings={"pass_through": "down", "automatic GC": "down"})
    assert rules.settings_known(both).message == ("pass_through and automatic GC unknown: down, and the profile "
                                                  "declares no settings")


@pytest.mark.parametrize("rows, size", [(None, "unknown"), (2_000_000, "normal"), (2_000_001, "large"),
                                        (10_000_000, "large"), (10_000_001, "very large")])
def test_size_classes_follow_the_documents_thresholds(rows, size):
    assert size_class(rows, 2_000_000, 10_000_000).value == size


URL = "https://wa.example:9090/v1/services/message/gc"


@pytest.mark.parametrize("command", [
    f"curl -X PUT {URL}", f"curl -sk -XPUT -H 'Authorization: Bearer x' {URL}", f"/usr/bin/curl --request=PUT '{URL}'",
    f"curl -skX PUT {URL} >/dev/null 2>&1", f"wget -q --method=PUT -O- {URL}", f"http PUT {URL} 'Authorization:Bearer x'",
    f"cd /tmp && curl --request PUT {URL}?x=1", f"curl -T /dev/null {URL}",
    f"TOKEN=$(cat /etc/wa/token); curl -X PUT -H \"Authorization: Bearer $TOKEN\" {URL}",
    # wrappers and nested shells: the same reader as the cleanup job's
    f"sh -c 'curl -s -X PUT {URL}'", f"bash -lc \"curl -X PUT {URL} >/dev/null\"", f"su -c 'curl -XPUT {URL}' wa",
    f"flock -n /run/wa-gc.lock curl -X PUT {URL}", f"timeout 600 curl -X PUT {URL}", f"sudo -u wa curl -X PUT {URL}",
    f"flock /run/gc.lock -c 'curl -X PUT {URL}'", f"nice -n 10 ionice -c3 wget --method=PUT {URL}",
    f"out=$(curl -s -X PUT {URL}) && logger \"$out\"", "curl -X PUT \"https://${WA_HOST}:9090/v1/services/message/gc\"",
    "curl -X PUT \"${API}/v1/services/message/gc\"",
])
def test_gc_calls_are_recognised(command):
    assert gc_calls(command)


@pytest.mark.parametrize("command", [
    f"curl {URL}", f"curl -X GET {URL}", f"curl -X POST {URL}", f"logger \"gc skipped, see {URL}\"",
    "docker exec a /opt/whatsapp/bin/cleanup.sh", f"wget {URL}",
    # words that do not run: arguments of echo/printf, comments, strings, a heredoc-less cat
    f"echo curl -X PUT {URL} >> todo.log", f"printf '%s\\n' 'curl -X PUT {URL}'", f"true # curl -X PUT {URL}",
    f"logger 'curl -X PUT {URL}'", f"sh -c 'echo curl -X PUT {URL}'", f"grep 'curl -X PUT {URL}' /etc/crontab",
])
def test_other_calls_are_not(command):
    assert gc_calls(command) == ()


@given(st.text(max_size=200))
def test_gc_calls_never_raise_anything_but_their_own_error(text):
    for command in (text, f"curl -X PUT {text} {URL}", f"{text} /v1/services/message/gc"):
        try:
            gc_calls(command)
        except GcCommandError:
            pass
