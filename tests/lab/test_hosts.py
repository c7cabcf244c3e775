"""A deployment spread over three simulated hosts (lab/cluster.py: own Docker engine, cron
daemon, sshd and file system view each, Meta's prod-multiconnect-compose.yml unmodified on
each), audited as one deployment with `hosts:` over SSH.

The cluster is up for this module only: its hosts' cron daemons are processes this machine's
own /proc shows, which the other modules' local audits must not see.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from lab.cluster import Cluster
from tests.audit_runner import REPO, run_audit

PROBE_PREFIX = ".wa-compliance-probe-"
HOSTS = ("wa-a", "wa-b", "wa-c")
CROSS_HOST = ("ENV-012", "VOL-003", "VOL-004")


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster()
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()          # also after a failed `up`: no host's cron daemon outlives the module


@pytest.fixture
def audit_hosts(cluster, tmp_path):
    def audit(*args: str):
        return run_audit("--host=lab-hosts", f"--ssh-config={cluster.ssh_config}", *args,
                         reports_dir=tmp_path / "reports", env=cluster.lab.api_env(), timeout=300)
    return audit


def by_subject(run, check_id) -> dict[str, dict]:
    return {r["subject"]: r for r in run.of("lab-hosts", check_id)}


def test_the_compliant_three_host_deployment_passes_as_one(audit_hosts):
    run = audit_hosts("-m", "env or volumes or cron")
    assert run.exit_code == 0, run.console
    document = run.document("lab-hosts")
    assert document["summary"]["fail"] == document["summary"]["error"] == 0, run.console
    # one report for the deployment, every host's containers in it, named with their host
    containers = set(by_subject(run, "VOL-001"))
    assert containers == {f"{host}/whatsapp_{service}_1" for host in HOSTS
                          for service in ("waweb", "wacore", "master")}
    assert set(by_subject(run, "ENV-001")) == {f"{host}:/opt/whatsapp/db.env" for host in HOSTS}
    # the shared storage is the storage host's export, whichever host mounts it
    storage = {r["evidence"]["storage"] for r in run.of("lab-hosts", "VOL-003")}
    assert storage == {"fuse.sshfs 127.0.0.10:/srv/wamedia"}
    assert "wa-a, wa-b, wa-c have the same WA_DB_* values" in run.of("lab-hosts", "ENV-012")[0]["message"]
    # each host's own cron daemon, and each host's cron covers its own containers
    assert {r["subject"] for r in run.of("lab-hosts", "CRON-001")} == {
        f"cron daemon on ssh://root@{host}" for host in HOSTS}
    assert "wa-c:/etc/cron.d/wa-lab-bizhosts" in by_subject(run, "CRON-002")["wa-c/whatsapp_wacore_1"]["message"]


def test_each_host_on_its_own_local_volume_fails_volume_sharing_naming_the_hosts(cluster, audit_hosts):
    with cluster.deviation("hosts.local_media"):
        run = audit_hosts("-m", "volumes")
    vol3 = by_subject(run, "VOL-003")
    assert {r["outcome"] for r in vol3.values()} == {"fail"}
    message = vol3["wa-b/whatsapp_wacore_1"]["message"]
    assert "volume whatsapp_whatsappMedia on wa-b" in message and "on wa-a" in message
    assert "storage of wa-b only" in message
    assert "storage of wa-a only, the containers on wa-b, wa-c cannot see it" in vol3["wa-a/whatsapp_waweb_1"]["message"]
    vol4 = by_subject(run, "VOL-004")
    assert {r["outcome"] for r in vol4.values()} == {"fail"}
    assert "does not share /usr/local/wamedia" in vol4["wa-c/whatsapp_waweb_1"]["message"]
    assert "its probe is not visible on wa-b, wa-c" in vol4["wa-a/whatsapp_waweb_1"]["message"]
    assert run.exit_code == 1


def test_db_env_drift_on_one_host_fails_env_012_without_showing_the_password(cluster, audit_hosts):
    with cluster.deviation("hosts.db_env_drift"):
        run = audit_hosts("-m", "env")
        drifted = cluster.lab.db_password + "-old"
    (result,) = run.of("lab-hosts", "ENV-012")
    assert result["outcome"] == "fail"
    assert "WA_DB_HOSTNAME: 'db' on wa-a, wa-c, 'db-old' on wa-b" in result["message"]
    assert "WA_DB_PASSWORD differs: wa-a, wa-c's is not wa-b's" in result["message"]
    everything = "".join(path.read_text() for path in run.reports_dir.rglob("*") if path.is_file())
    assert drifted not in everything and drifted not in run.console
    # every host's own containers agree with its own file
    assert {r["outcome"] for r in run.of("lab-hosts", "ENV-008")} == {"pass"}


def test_one_host_cron_missing_its_coreapp_fails_cron_002_on_that_host_only(cluster, audit_hosts):
    with cluster.deviation("hosts.cron_missing"):
        run = audit_hosts("-m", "cron")
    failed = {s: r for s, r in by_subject(run, "CRON-002").items() if r["outcome"] != "pass"}
    assert list(failed) == ["wa-c/whatsapp_wacore_1"]
    assert "no cron entry runs /opt/whatsapp/bin/cleanup.sh in whatsapp_wacore_1 on wa-c" in failed[
        "wa-c/whatsapp_wacore_1"]["message"]


def test_an_unreachable_host_is_error_and_named_and_the_others_are_audited(cluster, audit_hosts):
    with cluster.deviation("hosts.unreachable"):
        run = audit_hosts("-m", "env or volumes or cron")
    results = run.results("lab-hosts")
    on_c = [r for r in results if r["subject"].startswith("wa-c")]
    assert on_c and {r["outcome"] for r in on_c} == {"error"}
    assert all("wa-c" in r["message"] for r in on_c)
    for check_id in CROSS_HOST:
        outcomes = {r["outcome"] for r in run.of("lab-hosts", check_id)}
        assert "pass" not in outcomes, (check_id, run.of("lab-hosts", check_id))
        assert all("wa-c" in r["message"] for r in run.of("lab-hosts", check_id))
    # the reachable hosts are read in full
    vol1 = by_subject(run, "VOL-001")
    assert {vol1[f"{h}/whatsapp_waweb_1"]["outcome"] for h in ("wa-a", "wa-b")} == {"pass"}
    assert run.exit_code == 1


def test_interrupting_the_cross_host_probe_leaves_nothing_on_any_host(cluster, tmp_path):
    export = cluster.export_folder()
    assert not any(p.name.startswith(PROBE_PREFIX) for p in export.iterdir())
    command = [sys.executable, "-m", "pytest", "checks", "--host=lab-hosts", f"--ssh-config={cluster.ssh_config}",
               "-m", "volumes", "-k", "vol_004", f"--reports-dir={tmp_path}", "-p", "no:cacheprovider"]
    interrupted = False
    for _attempt in range(10):
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if any(p.name.startswith(PROBE_PREFIX) for p in export.iterdir()):
                process.send_signal(2)
                interrupted = True
                break
            time.sleep(0.001)
        output, _ = process.communicate(timeout=120)
        assert not [p.name for p in export.iterdir() if p.name.startswith(PROBE_PREFIX)], output
        if interrupted:
            assert process.returncode == 2, output
            assert "Traceback" not in output
            break
    assert interrupted, "the probe never showed up in the shared storage"


def test_an_inventory_makes_one_deployment_of_its_hosts_each_reached_its_own_way(cluster, tmp_path):
    """`wa_compliance_deployment` gathers the hosts; each keeps its own SSH options: wa-b becomes
    an account that may read neither db.env nor the engine, wa-c's SSH arguments cannot connect."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[whatsapp]\n"
        "wa-a wa_compliance_deployment=lab-hosts wa_compliance_profile=lab-hosts\n"
        "wa-b wa_compliance_deployment=lab-hosts wa_compliance_profile=lab-hosts "
        "ansible_become=true ansible_become_user=nobody\n"
        "wa-c wa_compliance_deployment=lab-hosts wa_compliance_profile=lab-hosts "
        "ansible_ssh_common_args='-o ProxyCommand=false'\n")
    run = run_audit(f"--inventory={inventory}", f"--ssh-config={cluster.ssh_config}", "-m", "env or volumes",
                    reports_dir=tmp_path / "reports", env=cluster.lab.api_env(), timeout=300)
    env_001 = by_subject(run, "ENV-001")
    assert env_001["wa-a:/opt/whatsapp/db.env"]["outcome"] == "pass", env_001
    assert "not readable by the auditing account" in env_001["wa-b:/opt/whatsapp/db.env"]["message"], env_001
    assert env_001["wa-c"]["outcome"] == "error" and "cannot reach ssh://wa-c" in env_001["wa-c"]["message"], env_001
    mounted = by_subject(run, "VOL-001")
    assert {s for s, r in mounted.items() if r["outcome"] == "pass"} == {
        f"wa-a/whatsapp_{service}_1" for service in ("waweb", "wacore", "master")}, mounted
    said = " ".join(r["message"] for s, r in mounted.items() if s.startswith("wa-b"))
    assert "permission denied" in said.lower(), mounted        # the docker CLI, run as nobody
    assert "Traceback" not in run.console
