"""A fleet split with `--shard=I/N` over several runs (CI jobs, cron hosts), merged back with
`wa-compliance merge`: the same deployments, verdicts and fleet index as one run, plus what only
the whole fleet shows (two deployments in different shards on one database server and prefix)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.audit_runner import REPO

pytestmark = pytest.mark.lab


def latest_verdicts(reports_dir, host):
    document = json.loads((reports_dir / host / "latest" / "results.json").read_text())
    return sorted((r["id"], r["subject"], r["outcome"]) for r in document["results"])


def test_shards_merged_give_the_fleet_of_one_run(lab_biz, lab_pg, lab_bind, audit, tmp_path):
    # a twin of the lab's profile: another deployment name on the same server and prefix
    twin = lab_biz.write_profile(tmp_path / "lab-twin.yaml", name="lab-twin")
    hosts = ["--host=lab", "--host=lab-pg", "--host=lab-bind", f"--host={twin}"]
    env = {**lab_biz.api_env(), **lab_pg.api_env(), **lab_bind.api_env()}
    whole = audit(*hosts, "-m", "env", reports_dir=tmp_path / "whole", env=env)
    shards = [audit(*hosts, "-m", "env", f"--shard={i}/2", reports_dir=tmp_path / f"shard{i}", env=env)
              for i in (1, 2)]
    audited = [sorted(p.name for p in (tmp_path / f"shard{i}").iterdir() if p.is_dir()) for i in (1, 2)]
    assert sorted(audited[0] + audited[1]) == ["lab", "lab-bind", "lab-pg", "lab-twin"]
    assert not set(audited[0]) & set(audited[1]) and all(audited)
    assert all(run.exit_code in (0, 1) for run in (whole, *shards))

    merged = subprocess.run([sys.executable, "-m", "wa_compliance", "merge", str(tmp_path / "shard1"),
                             str(tmp_path / "shard2"), "--into", str(tmp_path / "merged")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    # lab and lab-twin share the server and prefix; only the merge sees both when they are apart
    if ("lab" in audited[0]) != ("lab-twin" in audited[0]):
        assert merged.returncode == 1
        assert "across shards: lab, lab-twin use the database server mysql://127.0.0.1:3306" in merged.stdout
    assert (tmp_path / "merged" / "index.html").exists()
    for host in ("lab-pg", "lab-bind"):
        assert latest_verdicts(tmp_path / "merged", host) == latest_verdicts(tmp_path / "whole", host)
    index = (tmp_path / "merged" / "index.html").read_text()
    assert all(f">{host}<" in index for host in ("lab", "lab-pg", "lab-bind", "lab-twin"))


def test_a_bad_shard_is_a_usage_error(audit):
    run = audit("--host=lab", "--shard=3/2")
    assert run.exit_code == 4 and "--shard=3/2: I must be between 1 and N" in run.console
