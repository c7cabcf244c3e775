"""Every CRON check against the lab: passing on the compliant deployments (the lab writes its
cleanup entry to /etc/cron.d as an operator would), and failing with its message when a
deviation is switched on. The cron daemon and /etc/cron.d are the host's real ones."""

from __future__ import annotations

import pytest

from tests.audit_runner import assert_outcomes

pytestmark = pytest.mark.lab
CRON_IDS = [f"CRON-{n:03d}" for n in range(1, 6)]
CLEANUP = "/opt/whatsapp/bin/cleanup.sh"

LABS = {  # fixture -> (host, the Webapp, the Coreapp deviations act on)
    "lab_biz": ("lab", "biz_waweb_1", "biz_wacore_1"),
    "lab_pg": ("lab-pg", "bizpg_waweb_1", "bizpg_wacore_1"),
    "lab_mc": ("lab-mc", "bizmc_waweb_1", "bizmc_wacore1_1"),
}


# no entry runs cleanup.sh: there is no schedule to judge
NOTHING_TO_JUDGE = {check: ("skip", "no cron entry runs cleanup.sh for this deployment (see CRON-002)")
                    for check in ("CRON-003", "CRON-004")}


def expected_failures(deviation: str, webapp: str, coreapp: str, cron_file: str) -> dict:
    return {
        "cron.missing_container": {"CRON-002": ("fail", f"no cron entry runs {CLEANUP} in {coreapp}", coreapp)},
        "cron.stale_full_id": {"CRON-002": ("fail", f"it most likely meant {webapp}")},
        "cron.stale_short_id": {"CRON-002": ("fail", f"it most likely meant {webapp}")},
        "cron.at_14h": {"CRON-004": ("fail", "runs at 14:00, outside the off-peak window 00:00-06:00", cron_file)},
        "cron.weekly": {"CRON-003": ("fail", "expected at least once every 24 h", cron_file)},
        "cron.ps_loop": {},
        # the loop's filter selects the Webapp only: every other container is left out
        "cron.ps_loop_partial": {"CRON-002": ("fail", f"no cron entry runs {CLEANUP} in")},
        "cron.no_cleanup_script": {"CRON-005": ("fail", f"{CLEANUP} does not exist in {coreapp}", coreapp)},
        "cron.cleanup_not_executable": {"CRON-005": ("fail", f"{CLEANUP} is not executable in {coreapp} (mode 644",
                                                     coreapp)},
        "cron.daemon_stopped": {"CRON-001": ("fail", "no cron daemon process")},
        # the script loops over the deployment's containers: followed, it covers them all
        "cron.via_script": {},
        # every container: the one line runs a script cron cannot run
        "cron.via_script_missing": {"CRON-002": ("fail", "/wa-cleanup.sh, which does not exist"), **NOTHING_TO_JUDGE},
        "cron.via_script_not_executable": {"CRON-002": ("fail", "/wa-cleanup.sh, which is not executable (mode 0644): "
                                                                "cron cannot run it"), **NOTHING_TO_JUDGE},
    }[deviation]


@pytest.mark.parametrize("lab_name", sorted(LABS))
def test_compliant_lab_passes_every_cron_check(request, audit, lab_name):
    lab = request.getfixturevalue(lab_name)
    host = LABS[lab_name][0]
    run = audit(f"--host={host}", "-m", "cron")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, host, CRON_IDS, {})
    containers = {name for names in lab.container_names().values() for name in names}
    assert {r["subject"] for r in run.of(host, "CRON-002")} == containers
    assert {r["subject"].rsplit(":", 1)[0] for r in run.of(host, "CRON-003")} == {str(lab.cron_file)}


DEVIATIONS = ["cron.missing_container", "cron.stale_full_id", "cron.stale_short_id", "cron.at_14h", "cron.weekly",
              "cron.ps_loop", "cron.ps_loop_partial", "cron.no_cleanup_script", "cron.cleanup_not_executable",
              "cron.daemon_stopped", "cron.via_script", "cron.via_script_missing", "cron.via_script_not_executable"]
CASES = [("lab_biz", d) for d in DEVIATIONS] + [("lab_mc", d) for d in
                                                ("cron.missing_container", "cron.stale_short_id", "cron.ps_loop",
                                                 "cron.ps_loop_partial", "cron.no_cleanup_script", "cron.via_script")]


@pytest.mark.parametrize("lab_name, deviation", CASES)
def test_each_cron_deviation_fails_exactly_its_checks(request, audit, lab_name, deviation):
    lab = request.getfixturevalue(lab_name)
    host, webapp, coreapp = LABS[lab_name]
    with lab.deviation(deviation):
        run = audit(f"--host={host}", "-m", "cron")
    expected = expected_failures(deviation, webapp, coreapp, str(lab.cron_file))
    assert run.exit_code == (1 if expected else 0), run.console
    assert_outcomes(run, host, CRON_IDS, expected)


def test_a_cleanup_script_is_followed_and_the_chain_named(lab_biz, audit):
    """The entry runs a script on the host: each container is cleaned by "cron file:line →
    script:line", and CRON-003/004 judge the entry (its schedule), once."""
    with lab_biz.deviation("cron.via_script"):
        run = audit("--host=lab", "-m", "cron")
    script = lab_biz.scripts_dir / "wa-cleanup.sh"
    chain = f"{lab_biz.cron_file}:7 → {script}:4"
    for result in run.of("lab", "CRON-002"):
        assert result["outcome"] == "pass" and chain in result["message"], result
    assert [r["subject"] for r in run.of("lab", "CRON-003")] == [f"{lab_biz.cron_file}:7"]


@pytest.mark.parametrize("deviation", ["cron.stale_full_id", "cron.stale_short_id"])
def test_a_stale_id_is_named_with_the_container_it_meant(lab_biz, audit, deviation):
    with lab_biz.deviation(deviation):
        run = audit("--host=lab", "-m", "cron")
    stale = [r for r in run.of("lab", "CRON-002") if r["subject"].startswith(str(lab_biz.cron_file))]
    assert len(stale) == 1, run.of("lab", "CRON-002")
    assert "which no longer exists (stale); it most likely meant biz_waweb_1" in stale[0]["message"]
    assert "docker exec biz_waweb_1 /opt/whatsapp/bin/cleanup.sh; docker exec biz_wacore_1" in stale[0]["remediation"]


def test_the_suggested_line_covers_every_container(lab_mc, audit, tmp_path):
    """The remediation's cron line, installed as printed, makes CRON-002 pass."""
    with lab_mc.deviation("cron.missing_container"):
        run = audit("--host=lab-mc", "-m", "cron")
        failed = [r for r in run.of("lab-mc", "CRON-002") if r["outcome"] == "fail"]
        line = failed[0]["remediation"].splitlines()[-1]
        extra = tmp_path / "suggested"
        extra.write_text(line + "\n")
        profile = lab_mc.write_profile(tmp_path / "mc-extra.yaml", name="lab-mc", cron={"files": [str(extra)]})
        again = audit(f"--host={profile}", "-m", "cron")
    assert {r["outcome"] for r in again.of("lab-mc", "CRON-002")} == {"pass"}, again.of("lab-mc", "CRON-002")
