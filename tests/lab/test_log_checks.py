"""Every LOG check against the lab: passing on the compliant deployments, and failing with its
message, naming the container, the file and the directive, when a deviation is switched on."""

from __future__ import annotations

import pytest

from tests.audit_runner import assert_outcomes

pytestmark = pytest.mark.lab
LOG_IDS = [f"LOG-{n:03d}" for n in range(1, 6)]
CONFIG = "/etc/logrotate.d/whatsapp"

LABS = {  # fixture -> (host, the Webapp, the Coreapp deviations act on)
    "lab_biz": ("lab", "biz_waweb_1", "biz_wacore_1"),
    "lab_pg": ("lab-pg", "bizpg_waweb_1", "bizpg_wacore_1"),
    "lab_mc": ("lab-mc", "bizmc_waweb_1", "bizmc_wacore1_1"),
}


def expected_failures(deviation: str, webapp: str, coreapp: str) -> dict:
    return {
        "log.rotate_7": {"LOG-002": ("fail", f"keeps 'rotate 7' at {CONFIG}:", webapp)},
        "log.size_200M": {"LOG-002": ("fail", f"rotates above 200 MiB ('size 200M' at {CONFIG}:", webapp)},
        "log.nocompress": {"LOG-002": ("fail", f"does not compress ('nocompress' at {CONFIG}:", webapp)},
        "log.no_olddir": {"LOG-002": ("fail", "archives to no 'olddir' (rotated files stay beside the log), "
                                              "expected 'olddir /var/log/whatsapp/archive'", webapp)},
        "log.other_olddir": {"LOG-002": ("fail", f"archives to 'olddir /var/log/whatsapp/old' at {CONFIG}:", webapp)},
        "log.no_config": {
            "LOG-001": ("fail", "no logrotate block covers web.log, access.log, error.log", webapp),
            "LOG-002": ("skip", "no logrotate block covers the web, access and error logs (see LOG-001)", webapp),
        },
        "log.partial_config": {"LOG-001": ("fail", "no logrotate block covers access.log, error.log", webapp)},
        "log.no_rotation_config": {
            "LOG-001": ("fail", "no logrotate configuration: neither /etc/logrotate.conf nor /etc/logrotate.d/ "
                                "exists", webapp),
            "LOG-002": ("skip", "no logrotate configuration: neither /etc/logrotate.conf nor /etc/logrotate.d/ "
                                "exists (see LOG-001)", webapp),
        },
        "log.live_oversize": {"LOG-004": ("fail", "web.log is 100 MiB, above 30 MiB (20 MiB × 1.5): "
                                                  "it is not being rotated", webapp)},
        "log.archive_45": {"LOG-005": ("fail", "archived files of wacore.log, more than 30", coreapp)},
        "log.archive_uncompressed": {"LOG-005": ("fail", "archived file(s) not compressed: wacore.log.1", coreapp)},
        "log.no_archive_dir": {
            "LOG-003": ("fail", "/var/log/whatsapp/archive does not exist", coreapp),
            "LOG-005": ("skip", "no /var/log/whatsapp/archive folder (see LOG-003)", coreapp),
        },
    }[deviation]


@pytest.mark.parametrize("lab_name", sorted(LABS))
def test_compliant_lab_passes_every_log_check(request, audit, lab_name):
    lab = request.getfixturevalue(lab_name)
    host = LABS[lab_name][0]
    run = audit(f"--host={host}", "-m", "logs")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, host, LOG_IDS, {})
    containers = {name for names in lab.container_names().values() for name in names}
    assert {r["subject"] for r in run.of(host, "LOG-003")} == containers
    assert {r["subject"] for r in run.of(host, "LOG-001")} == {LABS[lab_name][1]}


DEVIATIONS = ["log.rotate_7", "log.size_200M", "log.nocompress", "log.no_olddir", "log.other_olddir",
              "log.no_config", "log.no_rotation_config", "log.partial_config", "log.live_oversize", "log.archive_45",
              "log.archive_uncompressed", "log.no_archive_dir"]
CASES = [("lab_biz", d) for d in DEVIATIONS] + [("lab_mc", d) for d in
                                                ("log.rotate_7", "log.no_config", "log.archive_45", "log.no_archive_dir")]


@pytest.mark.parametrize("lab_name, deviation", CASES)
def test_each_log_deviation_fails_exactly_its_checks(request, audit, lab_name, deviation):
    lab = request.getfixturevalue(lab_name)
    host, webapp, coreapp = LABS[lab_name]
    with lab.deviation(deviation):
        run = audit(f"--host={host}", "-m", "logs")
    assert run.exit_code == 1, run.console
    assert_outcomes(run, host, LOG_IDS, expected_failures(deviation, webapp, coreapp))


@pytest.mark.parametrize("deviation, found_by", [
    ("log.no_main_config", "the files of /etc/logrotate.d/ read on their own (the image has no /etc/logrotate.conf)"),
    ("log.folder_not_included", "the files of /etc/logrotate.d/ read on their own (/etc/logrotate.conf does not "
                                "include them)"),
])
def test_a_policy_kept_in_logrotate_d_alone_passes_and_says_how_it_was_found(lab_biz, audit, deviation, found_by):
    """An existing configuration is never reported missing: the image's own rotation may hand
    /etc/logrotate.d/whatsapp to logrotate without /etc/logrotate.conf."""
    with lab_biz.deviation(deviation):
        run = audit("--host=lab", "-m", "logs")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, "lab", LOG_IDS, {})
    [log_001] = run.of("lab", "LOG-001")
    assert log_001["evidence"]["found_by"] == found_by
    assert CONFIG in log_001["evidence"]["files_read"]
    [log_002] = run.of("lab", "LOG-002")
    assert "Create" not in log_001["remediation"] + log_002["message"]
