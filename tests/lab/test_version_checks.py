"""The upgrade gate (section `version`): VER-001 against real containers of one and of two
client versions, VER-002 and GO / NO-GO against a deployment below v2.29.1 and the current one,
with the API stand-in's settings and small and large tables on the real database."""

from __future__ import annotations

import pytest

from lab import Lab
from lab.seed import seed_messages

pytestmark = pytest.mark.lab
OLD_VERSION = "2.25.0"
LARGE_TABLE = "messages_large"


@pytest.fixture(scope="module")
def old_lab(tmp_path_factory):
    """A deployment still on v2.25.0 (below v2.29.1), with a small and a large messages table."""
    lab = Lab(project="bizold", version=OLD_VERSION, root=tmp_path_factory.mktemp("old"))
    lab.up()
    seed_messages(lab, 1_000)
    seed_messages(lab, 2_500_000, table=LARGE_TABLE)
    yield lab
    lab.down()


def gate(audit, lab, tmp_path, *args, large=False, name="gate"):
    overrides = {"database": {"messages_table": f"{lab.db_name}.{LARGE_TABLE}"}} if large else {}
    runs = len(list(tmp_path.glob("*.yaml")))
    profile = lab.write_profile(tmp_path / f"{name}-{runs}.yaml", name=name, **overrides)
    return audit(f"--host={profile}", "-m", "upgrade", "--fail-on=high", *args,
                 reports_dir=tmp_path / f"reports-{runs}", env=lab.api_env())


def result(run, check_id, host="gate"):
    [found] = run.of(host, check_id)
    return found


def test_one_version_passes_and_without_a_target_ver_002_skips(lab_biz, audit):
    run = audit("--host=lab", "-m", "version", env=lab_biz.api_env())
    assert result(run, "VER-001", "lab")["message"] == "all 2 containers run v2.53.1"
    ver2 = result(run, "VER-002", "lab")
    assert ver2["outcome"] == "skip" and "no --upgrade-to given" in ver2["message"]


def test_a_half_done_upgrade_fails_ver_001_naming_versions_and_containers(lab_biz, audit):
    with lab_biz.deviation("ver.mixed"):
        run = audit("--host=lab", "-m", "version", "--upgrade-to=2.53.1", env=lab_biz.api_env())
    ver1 = result(run, "VER-001", "lab")
    assert ver1["outcome"] == "fail"
    assert "2 client versions run side by side: v2.51.1: biz_wacore_1; v2.53.1: biz_waweb_1" in ver1["message"]
    # the oldest is what the upgrade starts from
    assert "v2.51.1 → v2.53.1" in result(run, "VER-002", "lab")["message"]


@pytest.mark.parametrize("target, outcome, said", [
    ("2.53.1", "pass", "already at v2.53.1"),
    ("v2.51.0", "fail", "running v2.53.1 is newer than the target v2.51.0"),
    ("2.60.0", "pass", "v2.53.1 → v2.60.0"),
])
def test_the_target_against_the_running_version(lab_biz, audit, tmp_path, target, outcome, said):
    run = gate(audit, lab_biz, tmp_path, f"--upgrade-to={target}")
    ver2 = result(run, "VER-002")
    assert ver2["outcome"] == outcome and said in ver2["message"], ver2
    verdict = "NO-GO" if outcome == "fail" else "GO"
    assert f"gate: upgrade to v{target.lstrip('v')}: {verdict}" in run.console
    assert run.exit_code == (1 if outcome == "fail" else 0)


def test_a_malformed_target_is_a_usage_error(audit):
    run = audit("--host=lab", "-m", "version", "--upgrade-to=2.x")
    assert run.exit_code == 4 and "--upgrade-to: '2.x' is not a client version" in run.console


# pass_through x automatic GC before an upgrade across v2.29.1: (small table, large table)
ACROSS = {
    "pass_through off, GC on": (None, "pass", "pass"),
    "pass_through on, GC on": ("gc.pass_through_gc_on", "pass", "pass"),
    "pass_through on, GC off": ("gc.pass_through_gc_off", "pass", "fail"),
    "pass_through off, GC off": ("gc.automatic_gc_off", "pass", "fail"),
}


@pytest.mark.parametrize("case", ACROSS)
def test_an_upgrade_across_2_29_1_by_settings_and_table_size(old_lab, audit, tmp_path, case):
    deviation, on_small, on_large = ACROSS[case]
    if deviation:
        old_lab.deviate(deviation)
    try:
        small = gate(audit, old_lab, tmp_path, "--upgrade-to=2.53.1")
        large = gate(audit, old_lab, tmp_path, "--upgrade-to=2.53.1", large=True)
    finally:
        if deviation:
            old_lab.restore(deviation)
    for run, expected in ((small, on_small), (large, on_large)):
        ver2 = result(run, "VER-002")
        assert ver2["outcome"] == expected, (case, ver2)
        assert "v2.25.0 → v2.53.1" in ver2["message"] and "pass_through defaults to false" in ver2["message"]
        assert run.console.split("upgrade to v2.53.1: ")[-1].split()[0] == ("GO" if expected == "pass" else "NO-GO")
    if "pass_through on" in case:
        assert "enable automatic GC after the upgrade" in result(small, "VER-002")["message"]
    if on_large == "fail":
        ver2 = result(large, "VER-002")
        assert ver2["severity"] == "high" and "GC-003 fails today" in ver2["message"]
        assert large.exit_code == 1


def test_the_plan_says_what_to_do_after_the_upgrade(old_lab, audit, tmp_path):
    plan = tmp_path / "plan.md"
    with old_lab.deviation("gc.pass_through_gc_on"):
        run = gate(audit, old_lab, tmp_path, "--upgrade-to=2.53.1", f"--plan={plan}")
    assert run.exit_code == 0, run.console
    text = plan.read_text()
    assert "### Upgrade to v2.53.1: GO" in text and "Enable automatic GC (pass_through was on" in text
