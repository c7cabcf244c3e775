"""A fleet of 10 deployments from an Ansible inventory, one of them unreachable: that host costs
one connect timeout and ends as `error`; every other host's results are what they are alone."""

from __future__ import annotations

import os
import time

import pytest
import yaml

from lab import Lab
from lab.profiles import profile_for, write
from tests.audit_runner import REPO, run_audit
from tests.lab.silent_port import silent_listener
from wa_compliance.timeouts import CONNECT_SECONDS

STANDARD = {"lab": "lab_biz", "lab-pg": "lab_pg", "lab-mc": "lab_mc", "lab-mc-pg": "lab_mc_pg", "lab-bind": "lab_bind"}
EXTRA_ENGINES = ("mysql", "pgsql", "mysql", "pgsql")


@pytest.fixture(scope="module")
def fleet(request, tmp_path_factory):
    """(inventory path, API logins) of 9 reachable deployments and one host that never answers."""
    for fixture in STANDARD.values():
        request.getfixturevalue(fixture)
    folder = tmp_path_factory.mktemp("fleet")
    root = tmp_path_factory.mktemp("wa-lab")
    extra = [Lab(project=f"fleet{index}x{os.getpid()}", engine=engine, root=root)
             for index, engine in enumerate(EXTRA_ENGINES, 1)]
    hosts = {name: {"ansible_connection": "local", "wa_compliance_profile": str(REPO / "profiles" / f"{name}.yaml")}
             for name in STANDARD}
    env = {}
    try:
        for index, lab in enumerate(extra, 1):
            lab.up()
            env.update(lab.api_env())
            profile = write(profile_for(lab), folder / f"fleet{index}.yaml")
            hosts[f"fleet{index}"] = {"ansible_connection": "local", "wa_compliance_profile": str(profile)}
        with silent_listener() as port:
            # Where the unreachable host says it is: a port that accepts and never answers.
            hosts["unreachable"] = {"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "root",
                                    "wa_compliance_profile": str(REPO / "profiles" / "lab.yaml")}
            inventory = folder / "fleet.yml"
            inventory.write_text(yaml.safe_dump({"all": {"children": {"whatsapp": {"hosts": hosts}}}}))
            yield inventory, env, f"ssh://root@127.0.0.1:{port}"
    finally:
        for lab in extra:
            lab.down()


def outcomes(run, host):
    return sorted((r["id"], r["subject"], r["outcome"]) for r in run.results(host))


@pytest.fixture(scope="module")
def runs(fleet, tmp_path_factory):
    """The fleet audited without the unreachable host, then with it serially and with -n 2,
    with the wall time of each."""
    inventory, env, _ = fleet
    folder = tmp_path_factory.mktemp("fleet-reports")
    done = {}
    for name, options in (("alone", ["--limit=!unreachable"]), ("serial", []), ("parallel", ["-n", "2"])):
        started = time.monotonic()
        run = run_audit(f"--inventory={inventory}", *options, env=env, reports_dir=folder / name)
        done[name] = (run, time.monotonic() - started)
    return done


def test_an_unreachable_host_costs_one_timeout_and_disturbs_no_other(fleet, runs):
    inventory, _, unreachable = fleet
    (alone, without), (run, with_it) = runs["alone"], runs["serial"]
    assert run.exit_code == 1, run.console
    assert "Traceback" not in run.console
    results = run.results("unreachable")
    assert {r["outcome"] for r in results} <= {"error", "skip"}
    errors = [r for r in results if r["outcome"] == "error"]
    assert errors and all(r["message"].startswith(f"cannot reach {unreachable}: ") for r in errors), errors
    for host in _hosts(inventory):
        if host != "unreachable":
            assert outcomes(run, host) == outcomes(alone, host), host
    # the unreachable host's connect timeout overlaps the others' work; at worst it adds itself
    assert with_it - without < CONNECT_SECONDS + 3, (with_it, without)


def test_a_parallel_fleet_run_reports_what_a_serial_one_does(fleet, runs):
    inventory = fleet[0]
    (serial, _), (parallel, _) = runs["serial"], runs["parallel"]
    assert parallel.exit_code == serial.exit_code == 1
    for host in _hosts(inventory):
        assert outcomes(parallel, host) == outcomes(serial, host), host
    index = (parallel.reports_dir / "index.html").read_text()
    assert all(f'id="host-{host}"' in index for host in _hosts(inventory))


def _hosts(inventory) -> list[str]:
    return list(yaml.safe_load(inventory.read_text())["all"]["children"]["whatsapp"]["hosts"])
