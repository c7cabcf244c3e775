"""The command line as an operator meets it: usage errors, reports, secrets (README: command line, reports)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest


def test_unknown_host_exits_4_listing_the_profiles(audit):
    run = audit("--host=nope")
    assert run.exit_code == 4
    assert "unknown host 'nope': no profiles/nope.yaml (available: lab, lab-bind, lab-hosts, lab-mc, lab-mc-pg, lab-pg)" in run.console
    assert "Traceback" not in run.console


@pytest.mark.parametrize("option, said", [
    ("--nagios", "testinfra's --nagios is not used by wa-compliance: use --metrics-file"),
    ("--ssh-extra-args=-J bastion", "testinfra's --ssh-extra-args is not used by wa-compliance: put SSH settings"),
    ("--hosts=wa1", "testinfra's --hosts is not used by wa-compliance: name profiles with --host"),
])
def test_testinfra_options_the_audit_does_not_use_are_refused(audit, option, said):
    run = audit("--host=lab", option)
    assert run.exit_code == 4 and said in run.console, run.console


def test_misspelt_profile_key_exits_4_naming_file_line_and_key(audit, tmp_path):
    profile = tmp_path / "prod1.yaml"
    profile.write_text("name: prod1\ntarget: local\ndatabse:\n  host: 127.0.0.1\n")
    run = audit(f"--host={profile}")
    assert run.exit_code == 4
    assert f"{profile}:3: unknown key 'databse' (did you mean 'database'?)" in run.console
    assert "Traceback" not in run.console


def test_checks_without_host_is_a_usage_error(audit):
    run = audit()
    assert run.exit_code == 4
    assert "no --host given" in run.console and "lab, lab-bind, lab-hosts, lab-mc, lab-mc-pg, lab-pg" in run.console


def test_bad_fail_on_is_a_usage_error(audit):
    run = audit("--host=lab", "--fail-on=urgent")
    assert run.exit_code == 4
    assert "--fail-on: unknown severity 'urgent'" in run.console


@pytest.mark.lab
def test_a_run_writes_the_three_reports_and_points_latest_at_them(lab_biz, audit, tmp_path):
    run = audit("--host=lab", "-m", "env")
    latest = tmp_path / "reports" / "lab" / "latest"
    assert latest.is_symlink() and not os.path.isabs(os.readlink(latest))
    document = json.loads((latest / "results.json").read_text())
    assert document["schema"] == 1 and document["host"] == "lab"
    assert document["summary"] == {"pass": 12, "fail": 0, "error": 0, "skip": 1, "waived": 0}   # ENV-012: one host
    cases = ET.parse(latest / "junit.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases)[0] == "lab ENV-001 /srv/wa-lab/biz/db.env"
    html = (latest / "report.html").read_text()
    assert "ENV-009" in html and "<script" not in html
    assert f"lab: 12 pass, 0 fail, 0 error, 1 skip, 0 waived — {latest.parent}" in run.console


@pytest.mark.lab
@pytest.mark.parametrize("deviation", [None, "env.unparsable", "env.drift", "env.world_readable", "env.wrong_password"])
def test_the_database_password_appears_in_no_report_and_no_console_line(lab_biz, audit, tmp_path, deviation):
    password = lab_biz.db_password
    if deviation:
        with lab_biz.deviation(deviation):
            run = audit("--host=lab", "-v", "-rA")
    else:
        run = audit("--host=lab", "-v", "-rA")
    assert password not in run.console
    written = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    # the run's three reports, the fleet index and the host's history
    assert {p.name for p in written} == {"results.json", "junit.xml", "report.html", "index.html", "history.jsonl"}
    for path in written:
        assert password not in path.read_text(), path


def test_debug_logging_shows_the_round_trips_and_no_secret(lab_biz, audit):
    run = audit("--host=lab", "--log-cli-level=DEBUG", env=lab_biz.api_env())
    for line in ("docker exec biz_waweb_1 (sh) on unix:///var/run/docker.sock:",
                 "list and inspect the WhatsApp containers on unix:///var/run/docker.sock:",
                 f"POST {lab_biz.api_url}/v1/users/login:", f"GET {lab_biz.api_url}/v1/settings/application:",
                 f"local: read {lab_biz.db_env_path}, {lab_biz.compose_file}, /proc/self/mounts:"):
        assert line in run.console, line
    assert "connection to mysql://biz_wa@127.0.0.1:3306" in run.console
    assert lab_biz.db_password not in run.console and lab_biz.api_password not in run.console
