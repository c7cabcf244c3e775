"""Fixtures of our own suite: the lab deployments, and a way to run the audit as an operator does."""

from __future__ import annotations

import pytest

from tests.audit_runner import run_audit


@pytest.fixture(scope="session")
def lab_biz():
    """Single instance on MariaDB: profiles/lab.yaml."""
    return _up("biz", "single", "mysql")


@pytest.fixture(scope="session")
def lab_pg():
    """Single instance on PostgreSQL: profiles/lab-pg.yaml."""
    return _up("bizpg", "single", "pgsql")


@pytest.fixture(scope="session")
def lab_mc():
    """Multiconnect on MariaDB: profiles/lab-mc.yaml."""
    return _up("bizmc", "multiconnect", "mysql")


@pytest.fixture(scope="session")
def lab_mc_pg():
    """Multiconnect on PostgreSQL: profiles/lab-mc-pg.yaml."""
    return _up("bizmcpg", "multiconnect", "pgsql")


@pytest.fixture(scope="session")
def lab_bind():
    """Single instance whose media is a bind mount of one host folder: profiles/lab-bind.yaml."""
    return _up("bizbind", "single", "mysql", media="bind")


def _up(project, topology, engine, media="volume"):
    from lab import Lab
    lab = Lab(project=project, topology=topology, engine=engine, media=media)
    lab.up()
    lab.restore()        # a run interrupted earlier may have left a deviation on
    return lab


@pytest.fixture
def audit(tmp_path):
    """audit("--host=lab", "-m", "env") -> AuditRun, reports in a fresh folder."""
    def run(*args, reports_dir=None, env=None, prefix=()):
        return run_audit(*args, reports_dir=reports_dir or tmp_path / "reports", env=env, prefix=prefix)
    return run
