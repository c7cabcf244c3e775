"""`--inventory` read as Ansible reads it (`ansible-inventory --list`, ansible-core from PyPI):
group_vars/ and host_vars/ beside the inventory, and a bastion in `ansible_ssh_common_args`,
through two real sshd servers (lab/sshd.py): the audit reaches the host only through the bastion."""

from __future__ import annotations

import shutil

import pytest

from lab.profiles import write
from lab.sshd import SshServer

pytestmark = pytest.mark.lab


@pytest.fixture
def servers(tmp_path):
    key = tmp_path / "client" / "id_ed25519"
    bastion, target = SshServer(tmp_path / "bastion", client_key=key), SshServer(tmp_path / "target", client_key=key)
    bastion.start()
    target.start()
    yield bastion, target
    bastion.stop()
    target.stop()


def test_group_vars_host_vars_and_a_bastion_as_ansible_reads_them(lab_biz, audit, servers, tmp_path):
    assert shutil.which("ansible-inventory"), "ansible-core is a test dependency (pyproject's test extras)"
    bastion, target = servers
    known = tmp_path / "known_hosts"
    known.write_text((bastion.folder / "known_hosts").read_text() + (target.folder / "known_hosts").read_text())
    config = tmp_path / "ssh_config"
    config.write_text(f"Host bastion\n    HostName 127.0.0.1\n    Port {bastion.port}\n    User root\n"
                      f"Host *\n    IdentityFile {target.client_key}\n    IdentitiesOnly yes\n"
                      f"    UserKnownHostsFile {known}\n    StrictHostKeyChecking yes\n")
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "host_vars").mkdir()
    (inventory / "hosts.ini").write_text("[whatsapp]\nwa1 ansible_host=127.0.0.1\n")
    (inventory / "group_vars" / "whatsapp.yml").write_text(
        f"ansible_user: root\nansible_port: {target.port}\nansible_ssh_common_args: '-J bastion'\n")
    profile = write(lab_biz.profile("wa1"), tmp_path / "wa1.yaml")
    (inventory / "host_vars" / "wa1.yml").write_text(f"wa_compliance_profile: {profile}\n")

    through = bastion.accepted_connections()
    run = audit(f"--inventory={inventory / 'hosts.ini'}", f"--ssh-config={config}", "-m", "env",
                env=lab_biz.api_env())
    assert run.exit_code == 0, run.console
    assert {r["outcome"] for r in run.results("wa1")} <= {"pass", "skip"}
    assert bastion.accepted_connections() > through            # the only way to the host
    assert "Accepted publickey" in target.log.read_text()

