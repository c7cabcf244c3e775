"""lab.seed against the real MariaDB and PostgreSQL: messages tables of 0.5 M and 2.5 M rows.

Each engine gets a deployment of its own under a temporary root (its cron file there too), so
the shared deployments the gc checks audit keep their tables. 12 M rows take about a minute
per engine: only bench/gc_count.py seeds that many.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from lab import Lab, LabError
from lab.seed import (STATS_TOLERANCE, _plan, _split, client_database, drop_messages,
                      estimated_rows, exact_rows, second_candidate, seed_messages,
                      seed_second_candidate)

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["mysql", "pgsql"])
def lab(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("wa-lab-seed")
    deployment = Lab(project=f"seed{request.param[:2]}{os.getpid()}", engine=request.param,
                     root=root, cron_dir=root / "cron.d")
    deployment.up()
    yield deployment
    deployment.down()


def as_account(lab: Lab, database: str | None = None):
    """A connection as the deployment's own account, as the client and the checker log in."""
    return closing(lab.server.connect(lab.db_user, lab.db_password, database or lab.db_name))


def counted(lab: Lab, database: str | None = None) -> tuple[int, int | None]:
    """(COUNT(*), the statistics' estimate) of the messages table, read as the account."""
    database = database or lab.db_name
    with as_account(lab, database) as connection:
        return (exact_rows(connection, lab.engine),
                estimated_rows(connection, lab.engine, database))


def close_enough(estimate: int, rows: int) -> bool:
    return abs(estimate - rows) <= STATS_TOLERANCE * rows


# --- sizes and statistics --------------------------------------------------------------------
@pytest.mark.parametrize("rows", [500_000, 2_500_000])
def test_seeds_exactly_the_rows_asked_with_current_statistics(lab, rows):
    drop_messages(lab)                       # from no table, whatever ran before (up made one)
    report = seed_messages(lab, rows)
    assert report.action == "created"
    assert (report.rows, report.database, report.table) == (rows, lab.db_name, "messages")
    exact, estimate = counted(lab)
    assert exact == rows
    assert close_enough(estimate, rows), (estimate, rows)
    assert report.estimated_rows == estimate


def test_a_larger_size_appends_only_the_missing_rows(lab):
    seed_messages(lab, 500_000)
    report = seed_messages(lab, 2_500_000)
    assert report.action == "appended"
    assert counted(lab)[0] == 2_500_000


def test_asking_again_for_the_same_size_changes_nothing_and_is_fast(lab):
    seed_messages(lab, 2_500_000)            # already so after the test above; order-proof
    started = time.monotonic()
    report = seed_messages(lab, 2_500_000)
    assert report.action == "unchanged"
    assert time.monotonic() - started < 2
    assert counted(lab)[0] == 2_500_000


def test_the_account_owns_and_reads_the_table(lab):
    seed_messages(lab, 2_500_000)
    with as_account(lab) as connection, closing(connection.cursor()) as cursor:
        if lab.engine == "pgsql":
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'messages'")
            assert cursor.fetchone() == (lab.db_user,)
        cursor.execute("SELECT chat_jid, message_id, status, payload FROM messages WHERE id = 7")
        assert cursor.fetchone() == ("15550000007@s.whatsapp.net", "gBEG0000000000000007", 2,
                                     "Hello from the wa-compliance lab, message 7")


def test_the_command_line_reports_what_it_did(lab):
    seed_messages(lab, 2_500_000)
    result = subprocess.run(
        [sys.executable, "-m", "lab.seed", "--project", lab.project, "--root", str(lab.root),
         "--rows", "2500000"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert f"{lab.db_name}.messages: unchanged, 2,500,000 rows" in result.stdout


# --- a second candidate, an unprefixed database ---------------------------------------------
def test_a_second_candidate_table_makes_the_default_search_ambiguous(lab):
    archive = second_candidate(lab)
    assert archive == f"{lab.db_name_prefix}waent_archive"
    try:
        report = seed_second_candidate(lab, rows=1000)
        assert (report.database, report.rows) == (archive, 1000)
        assert counted(lab, archive) == (1000, 1000)
        # What the checker's default search sees: a messages table in two prefixed databases.
        assert candidates(lab) == [lab.db_name, archive]
    finally:
        assert drop_messages(lab, archive) is True
    assert drop_messages(lab, archive) is False
    assert candidates(lab) == [lab.db_name]


def candidates(lab: Lab) -> list[str]:
    """Databases named with the prefix that hold a `messages` table, read as the account."""
    found = []
    for database in lab.server.databases(lab.db_name_prefix):
        with as_account(lab, database) as connection:
            if estimated_rows(connection, lab.engine, database) is not None:
                found.append(database)
    return found


def test_a_database_without_the_prefix_is_made_for_the_account(lab):
    # Server-wide name: the pid keeps parallel runs apart; it still starts `waent`.
    database = client_database("", f"seedtest{os.getpid()}")
    assert database.startswith("waent_") and not database.startswith(lab.db_name_prefix)
    try:
        seed_messages(lab, 1000, database=database)
        assert counted(lab, database) == (1000, 1000)
    finally:
        lab.server.drop_database(database)
    assert database not in lab.server.databases(database)


# --- refilling -------------------------------------------------------------------------------
def test_shrinking_refills_and_zero_leaves_an_empty_table(lab):
    archive = second_candidate(lab, "shrink")
    try:
        assert seed_messages(lab, 2000, database=archive).action == "created"
        assert seed_messages(lab, 1500, database=archive).action == "recreated"
        assert counted(lab, archive) == (1500, 1500)
        assert seed_messages(lab, 1500, database=archive, force=True).action == "recreated"
        report = seed_messages(lab, 0, database=archive)
        assert (report.action, report.estimated_rows) == ("recreated", 0)
        assert counted(lab, archive) == (0, 0)
        assert seed_messages(lab, 0, database=archive).action == "unchanged"
    finally:
        lab.server.drop_database(archive)


def test_a_table_it_did_not_make_is_left_alone(lab):
    archive = second_candidate(lab, "foreign")
    try:
        seed_messages(lab, 10, database=archive)
        with as_account(lab, archive) as connection, closing(connection.cursor()) as cursor:
            cursor.execute("DROP TABLE messages")
            cursor.execute("CREATE TABLE messages (id BIGINT PRIMARY KEY)")
            cursor.execute("INSERT INTO messages VALUES (42)")
            connection.commit()
        with pytest.raises(LabError, match="did not make it"):
            seed_messages(lab, 10, database=archive)
        assert counted(lab, archive)[0] == 1
        assert drop_messages(lab, archive) is True
        assert seed_messages(lab, 10, database=archive).action == "created"
    finally:
        lab.server.drop_database(archive)


@pytest.mark.parametrize("database, table", [("x;drop", "messages"), (None, "messages`"),
                                             ("Biz_waent", "messages"), (None, "1messages")])
def test_unsafe_names_never_reach_sql(lab, database, table):
    with pytest.raises(LabError, match="unsafe"):
        seed_messages(lab, 10, database=database, table=table)


# --- the plan, without a server ---------------------------------------------------------------
@pytest.mark.parametrize("exists, seeded, max_id, rows, force, action", [
    (False, None, None, 10, False, "created"),
    (True, 10, 10, 10, False, "unchanged"),
    (True, 10, 10, 10, True, "recreated"),
    (True, 10, 10, 20, False, "appended"),
    (True, 10, 9, 20, False, "recreated"),       # rows went missing at the end
    (True, 20, 20, 10, False, "recreated"),      # shrinking
    (True, None, 5, 10, False, "recreated"),     # an interrupted fill
    (True, 0, 0, 10, False, "recreated"),
])
def test_plan(exists, seeded, max_id, rows, force, action):
    assert _plan(exists, seeded, max_id, rows, force) == action


def test_split():
    assert _split(1, 12_000_000, 2) == [(1, 6_000_000), (6_000_001, 12_000_000)]
    assert _split(1, 3, 2) == [(1, 2), (3, 3)]
    assert _split(5, 4, 2) == []
