"""Every VOL check against the lab: passing on the compliant deployments (single, multiconnect,
MySQL, PostgreSQL, bind mount), and failing with its message when a deviation is switched on."""

from __future__ import annotations

import pytest

from tests.audit_runner import assert_outcomes

pytestmark = pytest.mark.lab
VOL_IDS = [f"VOL-{n:03d}" for n in range(1, 6)]

LABS = {  # fixture -> (host, the Coreapp container deviations act on, its Compose service)
    "lab_biz": ("lab", "biz_wacore_1", "wacore"),
    "lab_pg": ("lab-pg", "bizpg_wacore_1", "wacore"),
    "lab_mc": ("lab-mc", "bizmc_wacore1_1", "wacore1"),
    "lab_mc_pg": ("lab-mc-pg", "bizmcpg_wacore1_1", "wacore1"),
    "lab_bind": ("lab-bind", "bizbind_wacore_1", "wacore"),
}


def expected_failures(deviation: str, container: str, service: str, source: str) -> dict:
    return {
        "vol.mount_missing": {
            "VOL-001": ("fail", "no mount at /usr/local/wamedia", container),
            "VOL-002": ("skip", "no mount at /usr/local/wamedia (see VOL-001)", container),
            "VOL-003": ("skip", "no mount at /usr/local/wamedia (see VOL-001)", container),
            "VOL-004": ("fail", "does not share /usr/local/wamedia with", container),
        },
        "vol.read_only": {
            "VOL-002": ("fail", f"/usr/local/wamedia is mounted read-only ({source})", container),
            "VOL-004": ("fail", "cannot write to /usr/local/wamedia", container),
        },
        "vol.other_volume": {
            "VOL-003": ("fail", f"the others share {source}: media stored here is invisible to them", container),
            "VOL-004": ("fail", "does not share /usr/local/wamedia with", container),
        },
        "vol.bind_path_differs": {
            "VOL-003": ("fail", f"mounts bind /srv/wa-lab/bizbind/media-other at /usr/local/wamedia, the others share {source}", container),
            "VOL-004": ("fail", "does not share /usr/local/wamedia with", container),
        },
        "vol.compose_read_only": {
            "VOL-005": ("fail", "the media volume is declared read-only", f"service {service}"),
        },
        "vol.compose_missing": {
            "VOL-005": ("fail", "no volume at /usr/local/wamedia", f"service {service}"),
        },
    }[deviation]


def media_source_name(lab) -> str:
    return f"bind {lab.media_source()}" if lab.media == "bind" else f"volume {lab.project}_whatsappMedia"


@pytest.mark.parametrize("lab_name", sorted(LABS))
def test_compliant_lab_passes_every_volume_check(request, audit, lab_name):
    lab = request.getfixturevalue(lab_name)
    host = LABS[lab_name][0]
    run = audit(f"--host={host}", "-m", "volumes")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, host, VOL_IDS, {})
    containers = {name for names in lab.container_names().values() for name in names}
    assert {r["subject"] for r in run.of(host, "VOL-004")} == containers


CASES = [(lab, deviation) for lab in ("lab_biz", "lab_mc", "lab_pg", "lab_mc_pg")
         for deviation in ("vol.mount_missing", "vol.read_only", "vol.other_volume",
                           "vol.compose_read_only", "vol.compose_missing")]
CASES += [("lab_bind", d) for d in ("vol.read_only", "vol.bind_path_differs", "vol.mount_missing")]


@pytest.mark.parametrize("lab_name, deviation", CASES)
def test_each_volume_deviation_fails_exactly_its_checks(request, audit, lab_name, deviation):
    lab = request.getfixturevalue(lab_name)
    host, container, service = LABS[lab_name]
    with lab.deviation(deviation):
        run = audit(f"--host={host}", "-m", "volumes")
    assert run.exit_code == 1, run.console
    expected = expected_failures(deviation, container, service, media_source_name(lab))
    assert_outcomes(run, host, VOL_IDS, expected)
    for check_id, (outcome, text, subject) in expected.items():   # the console names what and where
        if outcome == "fail":
            assert any(line.startswith(check_id) and subject in line and text in line
                       for line in run.console.splitlines()), (check_id, run.console)
