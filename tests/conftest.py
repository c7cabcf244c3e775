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


def _up(project, topology, engine):
    from lab import Lab
    lab = Lab(project=project, topology=topology, engine=engine)
    lab.up()
    lab.restore()        # a run interrupted earlier may have left a deviation on
    return lab


@pytest.fixture
def audit(tmp_path):
    """audit("--host=lab", "-m", "env") -> AuditRun, reports in a fresh folder."""
    def run(*args, reports_dir=None):
        return run_audit(*args, reports_dir=reports_dir or tmp_path / "reports")
    return run
