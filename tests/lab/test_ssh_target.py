"""Auditing through `target: ssh://...`: a real OpenSSH server on 127.0.0.1 (lab/sshd.py) with a
key made here, the Docker engine reached through the same connection, one connection per host."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.lab.silent_port import silent_listener
from wa_compliance.timeouts import CONNECT_SECONDS

from lab.profiles import profile_for, write
from lab.sshd import SshServer


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


def ssh_profile(lab, sshd, folder, name="lab-ssh", **changes) -> str:
    profile = {**profile_for(lab, name), "target": sshd.target, **changes}
    return str(write(profile, folder / f"{name}.yaml"))


def comparable(run, host, target):
    """(check, subject, outcome) of every result: what must not depend on the transport (some
    subjects name the host or its target)."""
    def subject(text):
        return "HOST" if text == host else text.replace(target, "TARGET")
    return sorted((r["id"], subject(r["subject"]), r["outcome"]) for r in run.results(host))


@pytest.mark.parametrize("lab_name", ["lab_biz", "lab_mc"])
def test_an_ssh_audit_finds_what_a_local_one_finds_over_one_connection(request, audit, sshd, tmp_path, lab_name):
    lab = request.getfixturevalue(lab_name)
    local = audit(f"--host={ssh_profile(lab, sshd, tmp_path, 'lab-local', target='local')}",
                  reports_dir=tmp_path / "local-reports")
    connections = sshd.accepted_connections()
    remote = audit(f"--host={ssh_profile(lab, sshd, tmp_path)}", f"--ssh-config={sshd.client_config}",
                   reports_dir=tmp_path / "ssh-reports")
    assert remote.exit_code == local.exit_code, remote.console
    assert comparable(remote, "lab-ssh", sshd.target) == comparable(local, "lab-local", "local")
    assert not [r for r in remote.results("lab-ssh") if r["outcome"] == "error" and r["id"] != "GC-001"]
    # one SSH connection for the whole audit: commands and the engine's socket are its channels
    assert sshd.accepted_connections() - connections == 1
    assert "target /var/run/docker.sock" in sshd.log.read_text()   # the engine, through SSH
    # and the connection ended with the audit: no master left behind
    assert not _ssh_masters(), _ssh_masters()


def test_an_unknown_host_key_is_refused_not_accepted(audit, lab_biz, sshd, tmp_path):
    """BatchMode: ssh never asks, and never trusts a host key nobody vouched for."""
    config = tmp_path / "ssh_config"
    config.write_text(sshd.client_config.read_text().replace(str(sshd.folder / "known_hosts"),
                                                             str(tmp_path / "empty_known_hosts")))
    run = audit(f"--host={ssh_profile(lab_biz, sshd, tmp_path)}", f"--ssh-config={config}")
    assert run.exit_code == 1
    env_001 = run.of("lab-ssh", "ENV-001")
    assert env_001[0]["outcome"] == "error"
    assert f"cannot reach {sshd.target}: " in env_001[0]["message"]
    assert "Host key verification failed" in env_001[0]["message"]
    assert "Traceback" not in run.console


def test_a_host_that_accepts_but_never_answers_costs_one_connect_timeout(audit, lab_biz, sshd, tmp_path):
    with silent_listener() as port:
        target = f"ssh://root@127.0.0.1:{port}"
        started = time.monotonic()
        run = audit(f"--host={ssh_profile(lab_biz, sshd, tmp_path, target=target)}",
                    f"--ssh-config={sshd.client_config}")
        elapsed = time.monotonic() - started
    results = run.results("lab-ssh")
    assert {r["outcome"] for r in results} <= {"error", "skip"}, results
    assert all(f"cannot reach {target}: " in r["message"] for r in results if r["outcome"] == "error")
    assert elapsed < CONNECT_SECONDS + 6, elapsed        # one timeout, plus pytest's own start
    assert "Traceback" not in run.console


def _ssh_masters() -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.startswith("ssh ") and "wa-ssh-" in line]
