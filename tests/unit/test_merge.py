"""`wa-compliance merge`: shard runs' report folders as one fleet (wa_compliance/merge.py)."""

from __future__ import annotations

import datetime as dt

from wa_compliance.merge import merge
from wa_compliance.model import Outcome, Result, Severity
from wa_compliance.reports import HostRun, write_reports

T0 = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.timezone.utc)


def run(host, server="mysql://db.internal:3306", prefix="wa_", started=T0):
    result = Result(id="ENV-006", title="t", section="env", severity=Severity.MEDIUM, subject="/opt/whatsapp/db.env",
                    outcome=Outcome.PASS, message="m", remediation="r", host=host,
                    evidence={"prefix": prefix, "database_server": server})
    return HostRun(host, f"profiles/{host}.yaml", started, started, "1.0", [result])


def test_shards_become_one_fleet_and_a_shared_prefix_across_them_is_said(tmp_path):
    write_reports(run("prod1"), tmp_path / "s1")
    write_reports(run("prod2", prefix="other_"), tmp_path / "s1")
    write_reports(run("prod3"), tmp_path / "s2")
    index, findings = merge([tmp_path / "s1", tmp_path / "s2"], tmp_path / "all")
    assert index.exists() and all(f">prod{n}<" in index.read_text() for n in (1, 2, 3))
    assert sorted(p.name for p in (tmp_path / "all").iterdir() if p.is_dir()) == ["prod1", "prod2", "prod3"]
    assert all((tmp_path / "all" / h / "latest" / "results.json").exists() for h in ("prod1", "prod2", "prod3"))
    assert findings == ["across shards: prod1, prod3 use the database server mysql://db.internal:3306 with "
                        "'wa_': their databases collide (WA_DB_NAME_PREFIX must differ)"]


def test_merging_twice_changes_nothing(tmp_path):
    write_reports(run("prod1"), tmp_path / "s1")
    merge([tmp_path / "s1"], tmp_path / "all")
    first = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "all").rglob("*"))
    merge([tmp_path / "s1"], tmp_path / "all")
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "all").rglob("*")) == first


def test_shards_deal_every_deployment_once():
    import pytest
    from wa_compliance.audit import in_shard
    from wa_compliance.errors import UsageError
    names = [f"prod{n:02d}" for n in range(11)]
    shares = [in_shard(names, f"{i}/4") for i in range(1, 5)]
    assert sorted(sum(shares, [])) == names and max(map(len, shares)) - min(map(len, shares)) <= 1
    for bad in ("0/4", "5/4", "x", "1/0"):
        with pytest.raises(UsageError):
            in_shard(names, bad)
