"""--concurrency: at most N deployments are read at once, each closed after its last check.

Proven with the database server itself: six profiles of the PostgreSQL lab (one role, which the
server is told to let in at most four sessions at a time; an audit holds two) pass ENV-009 with
--concurrency=2, while all six at once run out of the role's sessions."""

from __future__ import annotations

import pytest
import yaml

from tests.audit_runner import REPO

pytestmark = pytest.mark.lab
DEPLOYMENTS = 6
ROLE_SESSIONS = 4          # two deployments' worth: an audit of the lab opens two (postgres, then the client's)


@pytest.fixture
def six_profiles(tmp_path, lab_pg):
    base = yaml.safe_load((REPO / "profiles" / "lab-pg.yaml").read_text())
    folder = tmp_path / "profiles"
    folder.mkdir()
    names = [f"pg{index}" for index in range(1, DEPLOYMENTS + 1)]
    for name in names:
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({**base, "name": name}))
    return folder, names


@pytest.fixture
def role_limited(lab_pg):
    from lab.database import PostgreSQL
    server = PostgreSQL()
    server._psql(f'ALTER ROLE "{lab_pg.db_user}" CONNECTION LIMIT {ROLE_SESSIONS};\n')
    try:
        yield
    finally:
        server._psql(f'ALTER ROLE "{lab_pg.db_user}" CONNECTION LIMIT -1;\n')


def _logins(run, names):
    return {name: {r["outcome"] for r in run.results(name) if r["id"] == "ENV-009"} for name in names}


def test_deployments_are_read_at_most_n_at_once(audit, six_profiles, role_limited):
    folder, names = six_profiles
    bounded = audit("--host=@all", f"--profiles-dir={folder}", "-m", "env or gc", "--concurrency=2",
                    "--log-cli-level=DEBUG")
    assert _logins(bounded, names) == {name: {"pass"} for name in names}, bounded.console
    open_counts = [int(line.rsplit("(", 1)[1].split()[0]) for line in bounded.console.splitlines()
                   if "wa_compliance.audit" in line and "open)" in line]
    assert len(open_counts) == 2 * DEPLOYMENTS and max(open_counts) <= 2, bounded.console

    at_once = audit("--host=@all", f"--profiles-dir={folder}", "-m", "env or gc", f"--concurrency={DEPLOYMENTS}")
    refused = [r for name in names for r in at_once.results(name) if r["outcome"] == "error"]
    assert any("too many connections for role" in r["message"] for r in refused), at_once.console


def test_concurrency_must_be_a_positive_number(audit, lab_pg):
    run = audit("--host=lab-pg", "--concurrency=0")
    assert run.exit_code == 4 and "--concurrency=0: expected a number of deployments, 1 or more" in run.console
