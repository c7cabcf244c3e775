"""Auditing as an account that is not root, as operators do with Ansible (`ansible_become`) or
testinfra (`--sudo`): a real sshd, a real system account (lab/accounts.py) that can neither read
db.env nor open Docker's socket, and Debian's sudo. Through sudo, host commands and the engine
(`docker system dial-stdio`) see what root sees."""

from __future__ import annotations

import shutil

import pytest

from lab import accounts
from lab.profiles import write
from lab.sshd import SshServer
from tests.lab.test_ssh_target import comparable, ssh_profile
from wa_compliance.errors import FactUnavailable
from wa_compliance.transport.host import HostTransport

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def account():
    name = accounts.create()
    accounts.allow_sudo()
    yield name
    accounts.remove()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory, account):
    server = SshServer(tmp_path_factory.mktemp("sshd-become"), user=account)
    server.start()
    yield server
    server.stop()


def inventory(folder, lab, sshd, variables: str) -> str:
    profile = write(lab.profile("wa1"), folder / "wa1.yaml")
    path = folder / "hosts.ini"
    path.write_text(f"[whatsapp]\nwa1 ansible_host={sshd.address} ansible_port={sshd.port} "
                    f"ansible_user={sshd.user} wa_compliance_profile={profile} {variables}\n")
    return str(path)


def messages(run, host: str, check: str) -> list[str]:
    return [f"{r['outcome']}: {r['message']}" for r in run.of(host, check)]


@pytest.mark.parametrize("lab_name", ["lab_biz", "lab_mc"])
def test_ansible_become_audits_as_root_does(request, audit, sshd, tmp_path, lab_name):
    """Multiconnect too: six containers' execs, each Docker connection a run of sudo in an SSH
    channel of the one connection (sshd's MaxSessions of 4 was enough when tried by hand)."""
    lab = request.getfixturevalue(lab_name)
    assert shutil.which("ansible-inventory"), "ansible-core is a test dependency (pyproject's test extras)"
    local = audit(f"--host={ssh_profile(lab, sshd, tmp_path, 'wa1', target='local')}",
                  reports_dir=tmp_path / "local-reports")
    became = audit(f"--inventory={inventory(tmp_path, lab, sshd, 'ansible_become=true')}",
                   f"--ssh-config={sshd.client_config}", reports_dir=tmp_path / "became-reports")
    assert became.exit_code == local.exit_code, became.console
    assert comparable(became, "wa1", sshd.target) == comparable(local, "wa1", "local")
    assert "Traceback" not in became.console


def test_without_become_the_account_reads_neither_db_env_nor_the_engine(lab_biz, audit, sshd, tmp_path):
    run = audit(f"--inventory={inventory(tmp_path, lab_biz, sshd, 'ansible_become=no')}",
                f"--ssh-config={sshd.client_config}", "-m", "env or volumes")
    assert run.exit_code == 1, run.console
    assert messages(run, "wa1", "ENV-001") == [f"fail: db.env at {lab_biz.db_env_path} on {sshd.target} is not "
                                               "readable by the auditing account (owner root, mode 0600)"]
    volume = messages(run, "wa1", "VOL-001")
    assert volume == [f"error: cannot reach the Docker engine at {sshd.target} (through SSH): sshd on the host would "
                      f"not open /var/run/docker.sock for {sshd.user} (not in the docker group? or audit with "
                      "ansible_become / --sudo)"]


def test_a_sudo_that_asks_for_a_password_is_one_line_per_check(lab_biz, audit, sshd, tmp_path):
    accounts.forbid_sudo()
    try:
        run = audit(f"--host={ssh_profile(lab_biz, sshd, tmp_path)}", f"--ssh-config={sshd.client_config}",
                    "--sudo", "-m", "env or volumes")
    finally:
        accounts.allow_sudo()
    assert run.exit_code == 1, run.console
    refused = f"sudo -n -u root on {sshd.target} refused: sudo: a password is required"
    assert messages(run, "lab-ssh", "ENV-001") == [f"error: {refused}"]
    volume = messages(run, "lab-ssh", "VOL-001")
    assert len(volume) == 1 and volume[0].startswith("error: ") and volume[0].endswith(
        "sudo: a password is required"), volume
    assert "Traceback" not in run.console


def test_testinfra_sudo_user_is_the_account_commands_run_as(lab_biz, audit, sshd, tmp_path):
    """--sudo-user=root (implies --sudo): the same verdicts as root's own audit, for what the
    account alone cannot read."""
    run = audit(f"--host={ssh_profile(lab_biz, sshd, tmp_path)}", f"--ssh-config={sshd.client_config}",
                "--sudo-user=root", "-m", "env or volumes")
    local = audit(f"--host={ssh_profile(lab_biz, sshd, tmp_path, 'lab-local', target='local')}",
                  "-m", "env or volumes", reports_dir=tmp_path / "local-reports")
    assert comparable(run, "lab-ssh", sshd.target) == comparable(local, "lab-local", "local")


def test_local_commands_run_as_the_account_and_a_refusal_is_sudos_own_line():
    """--sudo on the audited host itself (`target: local`): each host command through `sudo -n`."""
    assert HostTransport("local", become="nobody").run("id -un; echo \"$1\"", "a b").stdout == "nobody\na b\n"
    with pytest.raises(FactUnavailable) as caught:
        HostTransport("local", become="wa-no-such-account").run("true")
    assert str(caught.value) == ("sudo -n -u wa-no-such-account on local refused: "
                                 "sudo: unknown user wa-no-such-account")
