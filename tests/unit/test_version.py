"""Client versions and the upgrade gate (parsers/version.py, rules/version.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_compliance.facts.gc import GcFacts, Known, SizeClass
from wa_compliance.model import Outcome
from wa_compliance.parsers.version import ClientVersion, version_of_image
from wa_compliance.rules import version as rules

V = ClientVersion.parse


@pytest.mark.parametrize("low, high", [("2.9.0", "2.29.1"), ("2.29.1", "2.53.1"), ("v2.41.2", "2.41.10"),
                                       ("2.29", "2.29.1")])
def test_versions_compare_as_versions(low, high):
    assert V(low) < V(high)


@pytest.mark.parametrize("text", ["", "latest", "2", "2.x.1", "v", "2.53.1-beta", " 2..1"])
def test_a_malformed_version_is_refused_naming_it(text):
    with pytest.raises(ValueError, match="is not a client version"):
        V(text)


@given(st.text(max_size=40))
def test_any_image_reference_gives_a_version_or_none(reference):
    assert version_of_image(reference) is None or isinstance(version_of_image(reference), ClientVersion)


@pytest.mark.parametrize("image, version", [
    ("docker.whatsapp.biz/web:v2.53.1", "v2.53.1"), ("registry:5000/coreapp:v2.41.2", "v2.41.2"),
    ("docker.whatsapp.biz/web@sha256:" + "a" * 64, None), ("docker.whatsapp.biz/web:latest", None),
    ("registry:5000/coreapp", None)])
def test_the_version_comes_from_the_tag(image, version):
    found = version_of_image(image)
    assert (str(found) if found else None) == version


def test_mixed_versions_fail_naming_containers_and_versions():
    decision = rules.one_version({"biz_waweb_1": "docker.whatsapp.biz/web:v2.53.1",
                                  "biz_wacore_1": "docker.whatsapp.biz/coreapp:v2.51.1",
                                  "biz_master_1": "docker.whatsapp.biz/coreapp@sha256:" + "b" * 64})
    assert decision.verdict is Outcome.FAIL
    assert decision.message.startswith("2 client versions run side by side: v2.51.1: biz_wacore_1; "
                                       "v2.53.1: biz_waweb_1; version not told by the image of biz_master_1")


def test_one_version_passes():
    decision = rules.one_version({"a": "x/web:v2.53.1", "b": "x/coreapp:v2.53.1"})
    assert decision.verdict is Outcome.PASS and decision.message == "all 2 containers run v2.53.1"


def gc(size=SizeClass.NORMAL, pass_through=False, auto_gc=True, rps=20.0):
    return GcFacts(size=size, rows=Known(3_000_000 if size is not SizeClass.NORMAL else 1000, "stats"),
                   pass_through=Known(pass_through, "api"), auto_gc=Known(auto_gc, "api"),
                   rps=Known(rps, "declared"), jobs=())


@pytest.mark.parametrize("running, target, outcome, said", [
    ("2.53.1", "2.53.1", Outcome.PASS, "already at v2.53.1"),
    ("2.53.1", "2.51.0", Outcome.FAIL, "newer than the target"),
    ("2.51.0", "2.53.1", Outcome.PASS, "v2.51.0 → v2.53.1"),
])
def test_the_target_against_the_running_version(running, target, outcome, said):
    decision = rules.upgrade(V(running), V(target), gc())
    assert decision.verdict is outcome and said in decision.message


def test_across_2_29_1_it_says_what_changes_and_what_to_do_after():
    decision = rules.upgrade(V("2.25.0"), V("2.53.1"), gc(pass_through=True))
    assert decision.verdict is Outcome.PASS
    assert "pass_through defaults to false" in decision.message
    assert "enable automatic GC after the upgrade" in decision.message
    assert rules.after_upgrade(V("2.25.0"), V("2.53.1"), gc(pass_through=True))


def test_a_large_table_whose_gc_rule_fails_today_is_no_upgrade():
    decision = rules.upgrade(V("2.25.0"), V("2.53.1"), gc(size=SizeClass.LARGE, auto_gc=False))
    assert decision.verdict is Outcome.FAIL and decision.severity == "high"
    assert "GC-003 fails today" in decision.message
    busy = rules.upgrade(V("2.51.0"), V("2.53.1"), gc(size=SizeClass.VERY_LARGE, rps=300.0))
    assert busy.verdict is Outcome.FAIL and "GC-004 fails today" in busy.message
    small = rules.upgrade(V("2.25.0"), V("2.53.1"), gc(auto_gc=False))
    assert small.verdict is Outcome.PASS


def test_without_a_target_skip():
    assert rules.upgrade(None, None, None).verdict is Outcome.SKIP
