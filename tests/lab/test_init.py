"""`wa-compliance init` against the lab's running deployments: the profile it prints audits with
the same verdicts as the lab's hand-written profile, on every check that needs neither the
database nor the API (their address and credentials are not something a deployment reveals:
init leaves them as commented placeholders)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.audit_runner import REPO

pytestmark = pytest.mark.lab
# what needs no database and no API
SELECTION = ("-m", "env or volumes or logs or cron or version", "-k", "not env_009 and not env_006")


def init(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wa_compliance", "init", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def verdicts(run, host):
    """(check, subject, outcome); a subject naming the profile itself reads HOST."""
    return sorted((r["id"], "HOST" if r["subject"] == host else r["subject"], r["outcome"]) for r in run.results(host))


@pytest.mark.parametrize("lab_name, hand_written", [("lab_biz", "lab"), ("lab_mc", "lab-mc"),
                                                     ("lab_bind", "lab-bind")])
def test_the_written_profile_audits_like_the_hand_written_one(request, audit, tmp_path, lab_name, hand_written):
    lab = request.getfixturevalue(lab_name)
    written = init("--target=local", f"--compose-project={lab.project}")
    assert written.returncode == 0, written.stderr
    profile = yaml.safe_load(written.stdout)
    assert profile["deployment"]["db_env"] == str(lab.db_env_path)
    assert profile["deployment"]["compose_file"] == str(lab.compose_file)
    assert profile["deployment"]["topology"] == lab.topology
    assert lab.db_password not in written.stdout and lab.api_password not in written.stdout
    path = tmp_path / "from-init.yaml"
    path.write_text(written.stdout)
    from_init = audit(f"--host={path}", *SELECTION, reports_dir=tmp_path / "init", env=lab.api_env())
    by_hand = audit(f"--host={hand_written}", *SELECTION, reports_dir=tmp_path / "hand", env=lab.api_env())
    assert verdicts(from_init, "from-init") == verdicts(by_hand, hand_written)


def test_several_deployments_on_one_engine_ask_for_one(lab_biz, lab_mc):
    asked = init("--target=local")
    assert asked.returncode == 4
    assert "several deployments on unix:///var/run/docker.sock: name one with --compose-project" in asked.stderr
    assert "biz" in asked.stderr and "bizmc" in asked.stderr and "Traceback" not in asked.stderr


def test_a_bad_target_is_one_line():
    asked = init("--target=ftp://x")
    assert asked.returncode == 4 and asked.stderr.startswith("wa-compliance: error: --target=ftp://x must be")
