"""R-CRON decisions without a lab: coverage by name, ID and loop; stale targets and the
container they most likely meant; the suggested remediation line."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import given, strategies as st

from wa_compliance.facts.cleanup_coverage import cleanup_jobs, coverage
from wa_compliance.facts.cron_commands import CronCommands, follow
from wa_compliance.parsers.cleanup_command import ContainerView
from wa_compliance.parsers.crontab import parse_crontab
from wa_compliance.rules import cron as rules

PROJECT = {"com.docker.compose.project": "biz"}


def view(name: str, service: str, number: str = "1", project: str = "biz") -> ContainerView:
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.container-number": number}
    return ContainerView(name, hashlib.sha256(name.encode()).hexdigest(), "docker.whatsapp.biz/web:v2.53.1", labels, "running")


WEB, CORE = view("biz_waweb_1", "waweb"), view("biz_wacore_1", "wacore")
OTHER = view("acme_waweb_1", "waweb", project="acme")
ENGINE = [WEB, CORE, OTHER]


def jobs(text: str, ignored: str | None = None, files=None):
    crontab = parse_crontab(text, "/etc/cron.d/wa", system=True)
    return cleanup_jobs([CronCommands(entry, ignored or crontab.ignored, follow(entry.command, files or {}))
                               for entry in crontab.entries])


def cover(text: str, destroyed=None, ignored=None):
    return coverage(jobs(text, ignored), [WEB, CORE], ENGINE, destroyed or {})


LINE = "30 3 * * * root docker exec {} /opt/whatsapp/bin/cleanup.sh\n"


def test_names_ids_and_short_ids_all_cover():
    found = cover(LINE.format("biz_waweb_1") + LINE.format(CORE.id[:12]))
    assert sorted(found.jobs) == ["biz_wacore_1", "biz_waweb_1"]
    assert found.stale == []
    assert [j.where for j in found.relevant_jobs()] == ["/etc/cron.d/wa:1", "/etc/cron.d/wa:2"]


def test_a_loop_over_docker_ps_covers_what_its_filter_selects():
    loop = "0 4 * * * root for c in $(docker ps -q --filter label=com.docker.compose.project=biz); " \
           "do docker exec $c /opt/whatsapp/bin/cleanup.sh; done\n"
    assert sorted(cover(loop).jobs) == ["biz_wacore_1", "biz_waweb_1"]


def test_entries_in_a_file_cron_ignores_clean_nothing_but_are_reported():
    found = cover(LINE.format("biz_waweb_1"), ignored="cron skips 'wa.cron'")
    assert found.jobs == {} and list(found.ignored) == ["biz_waweb_1"]
    assert found.relevant_jobs() == []


def test_a_stale_id_is_tied_to_the_recreated_container_by_the_engines_events():
    old = "0f" * 32
    destroyed = {old: {"name": "0fb9d277782f_biz_waweb_1", **WEB.labels}}
    found = cover(LINE.format(old[:12]) + LINE.format("biz_wacore_1"), destroyed)
    [stale] = found.stale
    assert stale.likely == ("biz_waweb_1",)
    assert stale.describe() == ("/etc/cron.d/wa:1 names container ID 0f0f0f0f0f0f, which no longer exists (stale); "
                                "it most likely meant biz_waweb_1 (the engine removed biz_waweb_1 and recreated it "
                                "as biz_waweb_1)")


def test_without_events_the_uncovered_containers_are_the_likely_ones():
    found = cover(LINE.format("deadbeefdead") + LINE.format("biz_wacore_1"))
    assert [s.likely for s in found.stale] == [("biz_waweb_1",)]
    typo = cover(LINE.format("biz_waweb_2") + LINE.format("biz_wacore_1"))
    assert "closest name" in typo.stale[0].evidence


def test_another_deployments_stale_entry_is_not_blamed_here():
    old = "ab" * 32
    destroyed = {old: {"name": "acme_waweb_1", **OTHER.labels, "com.docker.compose.project": "acme"}}
    found = cover(LINE.format("biz_waweb_1") + LINE.format("biz_wacore_1") + LINE.format(old), destroyed)
    assert found.stale == []


def test_the_suggested_line_is_one_cron_d_line_that_covers_every_container():
    line = rules.suggested_line(["biz_waweb_1", "biz_wacore_1"], dt.time(3, 0))
    assert line == ("0 3 * * * root docker exec biz_waweb_1 /opt/whatsapp/bin/cleanup.sh; "
                    "docker exec biz_wacore_1 /opt/whatsapp/bin/cleanup.sh")
    assert sorted(cover(line + "\n").jobs) == ["biz_wacore_1", "biz_waweb_1"]


@given(st.times(), st.times())
def test_the_suggested_time_lies_inside_the_window(start, end):
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    middle = rules.window_middle(start, end)
    if start < end:
        assert start <= middle < end
    elif start > end:
        assert middle >= start or middle < end
