"""Every ENV check against the lab: passing on the compliant deployment, failing with its
message when the deviation it looks for is switched on (lab/README.md)."""

from __future__ import annotations

import docker
import pytest

from tests.audit_runner import assert_outcomes as check_outcomes

ENV_IDS = [f"ENV-{n:03d}" for n in range(1, 12)]
DB_ENV_BROKEN = {i: ("error", "db.env") for i in ENV_IDS[1:]}

# deviation -> {check: (outcome, text the message holds)}; every other ENV check must pass.
MYSQL_DEVIATIONS = {
    "env.missing_file": {"ENV-001": ("fail", "db.env not found at /srv/wa-lab/biz/db.env"), **DB_ENV_BROKEN},
    "env.unparsable": {"ENV-001": ("fail", "db.env:4: cannot parse the WA_DB_PORT line"), **DB_ENV_BROKEN},
    "env.duplicate_key": {"ENV-001": ("fail", "duplicate key WA_DB_PORT (first set on line"), **DB_ENV_BROKEN},
    "env.missing_var": {
        "ENV-002": ("fail", "WA_DB_USERNAME is missing or empty"),
        "ENV-008": ("fail", "WA_DB_USERNAME is in the container but not in db.env"),
        "ENV-009": ("error", "lacks a usable"),
        "ENV-011": ("skip", "WA_DB_USERNAME is not set"),
    },
    "env.empty_var": {
        "ENV-002": ("fail", "WA_DB_HOSTNAME is missing or empty"),
        "ENV-008": ("fail", "WA_DB_HOSTNAME is 'db' in the container, '' in db.env"),
    },
    "env.engine_unknown": {
        "ENV-003": ("fail", "WA_DB_ENGINE is 'MARIADB'; accepted values: MYSQL, PGSQL"),
        "ENV-005": ("fail", "it only has an effect with MySQL"),
        "ENV-008": ("fail", "WA_DB_ENGINE is 'MYSQL' in the container, 'MARIADB' in db.env"),
        "ENV-009": ("error", "is not one of MYSQL, PGSQL"),
    },
    "env.port_invalid": {
        "ENV-004": ("fail", "WA_DB_PORT is '70000', expected an integer 1-65535"),
        "ENV-008": ("fail", "WA_DB_PORT is '3306' in the container, '70000' in db.env"),
    },
    "env.idle_timeout_seconds": {
        "ENV-005": ("fail", "180 ms, under one second: probably meant as seconds"),
        "ENV-008": ("fail", "WA_DB_CONNECTION_IDLE_TIMEOUT is '180000' in the container, '180' in db.env"),
    },
    "env.prefix_invalid": {
        "ENV-006": ("fail", "contains '-': only letters, digits and _ are allowed"),
        "ENV-008": ("fail", "WA_DB_NAME_PREFIX is 'biz_' in the container"),
    },
    "env.prefix_too_long": {
        "ENV-006": ("fail", "exceeds the 64-character identifier limit"),
        "ENV-008": ("fail", "WA_DB_NAME_PREFIX is 'biz_' in the container"),
    },
    "env.unknown_var": {
        "ENV-007": ("fail", "is not a known variable; did you mean WA_DB_HOSTNAME?"),
        "ENV-008": ("fail", "WA_DB_HOST is in db.env but not in the container"),
    },
    "env.drift": {"ENV-008": ("fail", "WA_DB_HOSTNAME is 'db' in the container")},
    "env.wrong_password": {"ENV-009": ("fail", "the server refused the login")},
    "env.world_readable": {"ENV-010": ("fail", "db.env is mode 0644, readable by others")},
    "env.sample_password": {"ENV-010": ("fail", "WA_DB_PASSWORD is the sample value from Meta's published db.env")},
    "env.short_password": {"ENV-010": ("fail", "WA_DB_PASSWORD has 8 characters, fewer than 12")},
    "env.root_user": {
        "ENV-011": ("fail", "WA_DB_USERNAME is 'root', a superuser account"),
        "ENV-008": ("fail", "WA_DB_USERNAME is 'biz_wa' in the container, 'root' in db.env"),
        "ENV-009": ("fail", "the server refused the login"),
    },
}


def assert_outcomes(run, host, expected):
    check_outcomes(run, host, ENV_IDS, expected)


@pytest.mark.lab
def test_compliant_mysql_lab_passes_every_env_check(lab_biz, audit):
    run = audit("--host=lab", "-m", "env")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, "lab", {})
    assert "lab: 12 pass, 0 fail, 0 error, 1 skip, 0 waived" in run.console
    assert "reports" in run.console and "report.html" in run.console


@pytest.mark.lab
def test_compliant_pgsql_lab_passes_every_env_check(lab_pg, audit):
    run = audit("--host=lab-pg", "-m", "env")
    assert run.exit_code == 0, run.console
    assert_outcomes(run, "lab-pg", {})
    [login] = run.of("lab-pg", "ENV-009")
    assert login["subject"].startswith("postgresql://bizpg_wa@127.0.0.1:5432")
    assert "server version 15" in login["message"]


@pytest.mark.lab
def test_compliant_multiconnect_lab_checks_every_container(lab_mc, audit):
    run = audit("--host=lab-mc", "-m", "env")
    assert run.exit_code == 0, run.console
    subjects = {r["subject"] for r in run.of("lab-mc", "ENV-008")}
    assert subjects == {"bizmc_waweb_1", "bizmc_master1_1", "bizmc_master2_1",
                        "bizmc_wacore1_1", "bizmc_wacore2_1", "bizmc_wacore3_1"}


@pytest.mark.lab
@pytest.mark.parametrize("deviation", sorted(MYSQL_DEVIATIONS))
def test_each_mysql_deviation_fails_exactly_its_checks(lab_biz, audit, deviation):
    with lab_biz.deviation(deviation):
        run = audit("--host=lab", "-m", "env")
    assert run.exit_code == 1, run.console
    assert_outcomes(run, "lab", MYSQL_DEVIATIONS[deviation])
    assert lab_biz.db_password not in run.console


@pytest.mark.lab
def test_idle_timeout_on_postgresql_fails_env_005(lab_pg, audit):
    with lab_pg.deviation("env.idle_timeout_pgsql"):
        run = audit("--host=lab-pg", "-m", "env")
    assert_outcomes(run, "lab-pg", {
        "ENV-005": ("fail", "WA_DB_ENGINE is 'PGSQL': it only has an effect with MySQL"),
        "ENV-008": ("fail", "WA_DB_CONNECTION_IDLE_TIMEOUT is in db.env but not in the container"),
    })


@pytest.mark.lab
def test_wrong_password_on_postgresql_fails_env_009(lab_pg, audit):
    with lab_pg.deviation("env.wrong_password"):
        run = audit("--host=lab-pg", "-m", "env")
    assert_outcomes(run, "lab-pg", {"ENV-009": ("fail", "password authentication failed for user \"bizpg_wa\"")})


@pytest.mark.lab
def test_unreachable_database_is_an_error_not_a_hang(lab_biz, audit, tmp_path):
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    profile = lab_biz.write_profile(tmp_path / "closed.yaml", name="closed", database={"port": 9})
    run = audit(f"--host={profile}", "-m", "env")
    assert run.exit_code == 1
    [login] = run.of("closed", "ENV-009")
    assert login["outcome"] == "error" and "Can't connect" in login["message"], login


@pytest.mark.lab
def test_unreachable_docker_engine_errors_only_container_checks(lab_biz, audit, tmp_path):
    profile = lab_biz.write_profile(tmp_path / "nodocker.yaml", name="nodocker",
                                    docker_host="unix:///run/no-such-docker.sock")
    run = audit(f"--host={profile}", "-m", "env")
    assert_outcomes(run, "nodocker", {"ENV-008": ("error", "cannot reach the Docker engine at unix:///run/no-such-docker.sock")})


@pytest.mark.lab
def test_stopped_container_is_an_error_naming_its_state(lab_biz, audit):
    container = docker.from_env().containers.get("biz_wacore_1")
    container.stop(timeout=2)
    try:
        run = audit("--host=lab", "-m", "env")
    finally:
        container.start()
    results = {r["subject"]: r for r in run.of("lab", "ENV-008")}
    assert results["biz_wacore_1"]["outcome"] == "error"
    assert results["biz_wacore_1"]["message"].startswith("biz_wacore_1 is not running (exited")
    assert results["biz_waweb_1"]["outcome"] == "pass"


@pytest.mark.lab
def test_shared_server_with_the_same_prefix_fails_env_006_on_both_hosts(lab_biz, audit, tmp_path):
    twin = lab_biz.write_profile(tmp_path / "twin.yaml", name="twin")
    run = audit("--host=lab", f"--host={twin}", "-m", "env")
    for host, other in (("lab", "twin"), ("twin", "lab")):
        [result] = run.of(host, "ENV-006")
        assert result["outcome"] == "fail"
        assert f"{other} uses the same database server with 'biz_'" in result["message"]


@pytest.mark.lab
def test_fail_on_threshold_decides_the_exit_code(lab_biz, audit):
    with lab_biz.deviation("env.world_readable"):          # ENV-010 is high
        assert audit("--host=lab", "-m", "env").exit_code == 1
        assert audit("--host=lab", "-m", "env", "--fail-on=high").exit_code == 1
        assert audit("--host=lab", "-m", "env", "--fail-on=critical").exit_code == 0


@pytest.mark.lab
def test_waivers_apply_until_their_expiry_date(lab_biz, audit, tmp_path):
    active = lab_biz.write_profile(tmp_path / "active.yaml", name="active", waivers=[
        {"check": "ENV-010", "reason": "rotating the password this week", "expires": "2999-12-31"}])
    expired = lab_biz.write_profile(tmp_path / "expired.yaml", name="expired", waivers=[
        {"check": "ENV-010", "reason": "rotating the password this week", "expires": "2020-01-31"}])
    with lab_biz.deviation("env.world_readable"):
        waived = audit(f"--host={active}", "-m", "env")
        lapsed = audit(f"--host={expired}", "-m", "env")
    assert waived.exit_code == 0, waived.console
    [result] = waived.of("active", "ENV-010")
    assert result["outcome"] == "waived" and result["waiver"]["reason"] == "rotating the password this week"
    assert waived.document("active")["summary"]["waived"] == 1
    assert lapsed.exit_code == 1
    [result] = lapsed.of("expired", "ENV-010")
    assert result["outcome"] == "fail" and "(waiver expired on 2020-01-31)" in result["message"]


@pytest.mark.lab
def test_upgrade_marker_selects_the_upgrade_gate_checks(lab_biz, audit):
    run = audit("--host=lab", "-m", "upgrade", "--fail-on=high")
    assert run.exit_code == 0, run.console
    # the checks marked † in docs/checks.md
    assert {r["id"] for r in run.results("lab")} == {"ENV-009", "GC-001", "GC-002", "GC-003", "GC-004", "GC-006",
                                                       "VER-001", "VER-002"}
