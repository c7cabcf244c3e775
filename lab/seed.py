"""A `messages` table of any size in a lab deployment's database, for the gc checks (R-GC, lab/README.md).

GC-001 classifies the WhatsApp client's messages table as normal, large (> 2 M rows) or very
large (> 10 M) from the engine's statistics. Testing that honestly needs real tables of those
sizes on the real servers, made fast enough for a test run:

- the server generates the rows itself (MariaDB's Sequence engine `seq_1_to_N`, PostgreSQL's
  `generate_series`), a few million per INSERT ... SELECT, never row by row from here;
- the table is an ordinary one (InnoDB; a logged PostgreSQL table), created and filled by the
  deployment's own account as the client would, so that account owns and reads it;
- afterwards the statistics are made current (ANALYZE TABLE; VACUUM (ANALYZE)), as a server's
  own background statistics would soon be, so the checks read what a real deployment shows;
- the table comment records what was seeded (`wa-lab seed v1: N rows`), so asking again for
  the same size costs a few cheap queries, and a larger size only appends the missing rows.

Measured on the lab machine (2 cores, shared with other test runs): 12 M rows in ~55 s on
MariaDB and ~45 s on PostgreSQL (primary key and VACUUM included) with two sessions loading
halves of the id range; one session took ~1.5x longer. Bigger InnoDB buffer pool or redo log
changed nothing (CPU-bound). On MariaDB, `SET unique_checks=0, foreign_key_checks=0` on an
empty table switches InnoDB to its bulk-load path, 2.5-3.5x slower here: sessions keep the
defaults. `seq_1_to_N` costs nothing per id; a recursive CTE spends ~0.7 s per million ids
building them in a temporary table (1 M rows: 3.5 s against 2.7 s), and needs
max_recursive_iterations raised.

Rows deleted by something else (a GC stand-in) are not noticed by the cheap check: pass
force=True to refill. Command line: `python -m lab.seed --project biz --rows 2500000`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from lab.database import checked_name
from lab.errors import LabError
from lab.locking import deployment_lock

VERSION = 1                         # of the schema and the generated values; bump to reseed
CHUNK_ROWS = 3_000_000              # rows per INSERT ... SELECT (one transaction each)
WORKERS = 2                         # sessions inserting at once (this machine's 2 cores)
PARALLEL_FROM = 1_000_000           # fewer rows than this: one session, no extra connection
STATEMENT_TIMEOUT = 900             # seconds any one statement may take
STATS_TOLERANCE = 0.05              # statistics further off than this are refreshed
LOCK_DIR = Path(tempfile.gettempdir()) / "wa-lab-seed"
FIRST_MS = 1_700_000_000_000        # first message's time (2023-11-14), then one every 250 ms
BASELINE_ROWS = 10_000              # the table `up` makes: a small, "normal" deployment
CHATS = 50_000                      # distinct chat JIDs
_OURS = "wa-lab seed v"             # every marker starts so; then "1: 12000000 rows"
_MARKER = re.compile(r"^wa-lab seed v(\d+): (\d+) rows$")
_FILLING = f"{_OURS}{VERSION}: filling"

# The client's table as far as the checks care: an integer key, chat and message ids,
# direction, status, times (ms since the epoch) and a text payload (~45 bytes).
COLUMNS = ("id", "chat_jid", "message_id", "from_me", "status", "sent_timestamp",
           "received_timestamp", "payload")
_COLUMN_TYPES = ("BIGINT NOT NULL", "VARCHAR(64) NOT NULL", "VARCHAR(64) NOT NULL",
                 "SMALLINT NOT NULL", "SMALLINT NOT NULL", "BIGINT NOT NULL", "BIGINT NOT NULL",
                 "VARCHAR(255) NOT NULL")
_COLUMN_LIST = ", ".join(COLUMNS)
_COLUMN_DEFS = ",\n  ".join(f"{name} {kind}" for name, kind in zip(COLUMNS, _COLUMN_TYPES))

# Every value is a function of the id, identical on both engines (n: the id).
_MYSQL_VALUES = (
    "seq, CONCAT('1555', LPAD(seq MOD {chats}, 7, '0'), '@s.whatsapp.net'), "
    "CONCAT('gBEG', LPAD(LOWER(HEX(seq)), 16, '0')), seq MOD 2, seq MOD 5, "
    "{first} + seq * 250, {first} + seq * 250 + 800, "
    "CONCAT('Hello from the wa-compliance lab, message ', seq)"
).format(chats=CHATS, first=FIRST_MS)
_PG_VALUES = (                      # mod(), not %: psycopg reads % as a placeholder
    "n, '1555' || lpad(mod(n, {chats})::text, 7, '0') || '@s.whatsapp.net', "
    "'gBEG' || lpad(to_hex(n), 16, '0'), mod(n, 2), mod(n, 5), "
    "{first} + n * 250, {first} + n * 250 + 800, "
    "'Hello from the wa-compliance lab, message ' || n"
).format(chats=CHATS, first=FIRST_MS)


@dataclass(frozen=True)
class SeedReport:
    engine: str
    database: str
    table: str
    rows: int                  # rows the table now holds
    action: str                # created, appended, recreated, unchanged
    seconds: float             # the whole call
    fill_seconds: float        # generating rows (and building PostgreSQL's primary key)
    stats_seconds: float       # ANALYZE TABLE / VACUUM (ANALYZE)
    estimated_rows: int        # what the engine's statistics say now

    def line(self) -> str:
        return (f"{self.engine} {self.database}.{self.table}: {self.action}, {self.rows:,} rows "
                f"in {self.seconds:.1f} s (fill {self.fill_seconds:.1f} s, statistics "
                f"{self.stats_seconds:.1f} s); statistics say {self.estimated_rows:,}")


# --- names ---------------------------------------------------------------------------------
def client_database(prefix: str, suffix: str = "") -> str:
    """The name the client gives a database: `<prefix>waent`, or `<prefix>waent_<suffix>`
    for another one (`prefix` may be empty: an unprefixed deployment)."""
    name = f"{prefix}waent" + (f"_{suffix}" if suffix else "")
    return checked_name(name)


def second_candidate(lab, suffix: str = "archive") -> str:
    """Another database with the deployment's prefix (`<prefix>waent_archive`): a messages
    table there makes the checker's default search find several candidates."""
    return client_database(lab.db_name_prefix, suffix)


# --- the public API --------------------------------------------------------------------------
def seed_messages(lab, rows: int, database: str | None = None, table: str = "messages",
                  force: bool = False) -> SeedReport:
    """Make `database.table` (default: the deployment's database) a messages table of exactly
    `rows` rows with current statistics; `rows=0` leaves it empty. Creates the database (for
    the deployment's account) if needed. Fast when it already holds `rows` seeded rows,
    unless `force`."""
    if not isinstance(rows, int) or rows < 0:
        raise LabError(f"rows must be a whole number >= 0, not {rows!r}")
    database, table = checked_name(database or lab.db_name), checked_name(table)
    with _lock(lab):
        ensure_database(lab, database)
        with _seeder(lab, database, table) as seeder:
            return seeder.seed(rows, force)


def ensure_messages(lab, rows: int = BASELINE_ROWS) -> SeedReport | None:
    """The deployment's messages table exists: seeded with `rows` when it does not, left as
    it is when it does (whatever size a test seeded it to). None: it was there."""
    database = checked_name(lab.db_name)
    with _lock(lab):
        ensure_database(lab, database)
        with _seeder(lab, database, "messages") as seeder:
            return None if seeder.exists() else seeder.seed(rows, force=False)


def seed_second_candidate(lab, rows: int = 1000, suffix: str = "archive",
                          table: str = "messages") -> SeedReport:
    """A small messages table in `<prefix>waent_<suffix>`: the ambiguity of several candidates."""
    return seed_messages(lab, rows, database=second_candidate(lab, suffix), table=table)


def drop_messages(lab, database: str | None = None, table: str = "messages") -> bool:
    """Drop `database.table` if it exists; True if it did. The database stays."""
    database, table = checked_name(database or lab.db_name), checked_name(table)
    if database not in lab.server.databases(database):
        return False
    with _lock(lab), _seeder(lab, database, table) as seeder:
        return seeder.drop()


def ensure_database(lab, database: str) -> None:
    """`database` exists and the deployment's account may use it: ensure_account already
    covers the deployment's own database; any other gets created/granted by the admin."""
    if database == lab.db_name and database in lab.server.databases(database):
        return
    lab.server.ensure_database(database, lab.db_user)


def estimated_rows(connection, engine: str, database: str, table: str = "messages") -> int | None:
    """The row count the engine's statistics give, as the checker reads it; None: no table.
    `connection` is to `database` (PostgreSQL keeps pg_class per database)."""
    if engine == "mysql":
        query = ("SELECT TABLE_ROWS FROM information_schema.TABLES "
                 "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s")
        params: tuple = (database, table)
    else:
        query = ("SELECT c.reltuples::bigint FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = 'public' AND c.relname = %s AND c.relkind IN ('r', 'p')")
        params = (table,)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0] or 0)


def exact_rows(connection, engine: str, table: str = "messages") -> int:
    """COUNT(*) of `table` in the connection's database: a full scan."""
    table = checked_name(table)
    query = f"SELECT COUNT(*) FROM `{table}`" if engine == "mysql" else \
        sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table))
    with connection.cursor() as cursor:
        cursor.execute(query)
        return int(cursor.fetchone()[0])


# --- per engine -------------------------------------------------------------------------------
def _seeder(lab, database: str, table: str) -> _Seeder:
    def connect():
        return lab.server.connect(lab.db_user, lab.db_password, database, STATEMENT_TIMEOUT)
    cls = _MariaDBSeeder if lab.engine == "mysql" else _PostgresSeeder
    return cls(connect, lab.engine, database, table)


def _lock(lab):
    """One seeding per database server at a time, across processes (xdist workers, the
    bench): no table is ever filled twice at once, and two fills would only share 2 cores."""
    return deployment_lock(LOCK_DIR, f"seed.{lab.engine}")


class _Seeder:
    """Seeds one table over one connection (autocommit: each statement its own transaction),
    plus one per extra worker while loading."""

    def __init__(self, connect: Callable, engine: str, database: str, table: str):
        self.connect, self.engine, self.database, self.table = connect, engine, database, table
        self.connection = connect()
        try:
            self._session()
        except BaseException:
            self.connection.close()
            raise

    def __enter__(self) -> _Seeder:
        return self

    def __exit__(self, *exc) -> None:
        self.connection.close()

    def seed(self, rows: int, force: bool) -> SeedReport:
        start = time.monotonic()
        exists, seeded = self._marker()
        action = _plan(exists, seeded, self._max_id() if seeded is not None else None,
                       rows, force)
        fill = stats = 0.0
        if action != "unchanged":
            fill = self._fill(action, seeded or 0, rows)
            stats = self._refresh_stats()
            self._set_marker(f"wa-lab seed v{VERSION}: {rows} rows")
        estimate = self.estimated()
        if action == "unchanged" and not _close(estimate, rows):
            stats = self._refresh_stats()
            estimate = self.estimated()
        return SeedReport(self.engine, self.database, self.table, rows, action,
                          time.monotonic() - start, fill, stats, estimate)

    def _fill(self, action: str, seeded: int, rows: int) -> float:
        """Rows seeded+1..rows (appending), or a new table with 1..rows; the seconds it took."""
        start = time.monotonic()
        if action == "appended":
            self._set_marker(_FILLING)       # an interruption now means: recreate next time
            first = seeded + 1
        else:
            self._create()
            first = 1
        self._load(first, rows)
        if action != "appended":
            self._after_load()
        return time.monotonic() - start

    def _load(self, first: int, last: int) -> None:
        """Ids first..last, split between WORKERS sessions when there are many."""
        parts = _split(first, last, WORKERS if last - first + 1 >= PARALLEL_FROM else 1)
        if len(parts) <= 1:
            for low, high in parts:
                self._insert_range(low, high)
            return
        with ThreadPoolExecutor(len(parts)) as pool:
            list(pool.map(lambda part: self._insert_elsewhere(*part), parts))

    def _insert_elsewhere(self, low: int, high: int) -> None:
        """Ids low..high over a connection of their own (a worker thread)."""
        with type(self)(self.connect, self.engine, self.database, self.table) as worker:
            worker._insert_range(low, high)

    def _insert_range(self, low: int, high: int) -> None:
        for start in range(low, high + 1, CHUNK_ROWS):
            self._insert(start, min(high, start + CHUNK_ROWS - 1))

    def _create(self) -> None:
        self.drop()
        self._execute(self._create_sql())
        self._set_marker(_FILLING)

    def estimated(self) -> int:
        return estimated_rows(self.connection, self.engine, self.database, self.table) or 0

    def exists(self) -> bool:
        return self._one(*self._comment_query()) is not None

    def _marker(self) -> tuple[bool, int | None]:
        """(table exists, rows it was seeded with: None if not a complete seed of ours)."""
        row = self._one(*self._comment_query())
        if row is None:
            return False, None
        comment = row[0] or ""
        if not comment.startswith(_OURS):
            raise LabError(f"{self.database}.{self.table} exists and lab.seed did not make it; "
                           "drop it first (lab.seed.drop_messages, or --drop)")
        match = _MARKER.match(comment)       # no match: interrupted, or another VERSION
        if match and int(match.group(1)) == VERSION:
            return True, int(match.group(2))
        return True, None

    def _max_id(self) -> int:
        row = self._one(self._max_id_sql())
        return int(row[0] or 0)

    def _refresh_stats(self) -> float:
        start = time.monotonic()
        self._analyze()
        return time.monotonic() - start

    def _one(self, query, params: tuple = ()):
        with self.connection.cursor() as cursor:
            cursor.execute(query, params or None)
            return cursor.fetchone()

    def _execute(self, query, params: tuple = ()) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(query, params or None)


class _MariaDBSeeder(_Seeder):
    def _session(self) -> None:
        self.connection.autocommit(True)

    def _create_sql(self) -> str:
        return (f"CREATE TABLE `{self.table}` (\n  {_COLUMN_DEFS},\n  PRIMARY KEY (id)\n) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")

    def _insert(self, low: int, high: int) -> None:
        # The Sequence engine's virtual table names its range: ints only, never text.
        self._execute(f"INSERT INTO `{self.table}` ({_COLUMN_LIST}) "
                      f"SELECT {_MYSQL_VALUES} FROM seq_{int(low)}_to_{int(high)}")

    def _after_load(self) -> None:
        pass                     # InnoDB's primary key is the table itself: built while loading

    def _analyze(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"ANALYZE TABLE `{self.table}`")
            for _table, _op, kind, text in cursor.fetchall():
                if kind.lower() == "error":
                    raise LabError(f"ANALYZE TABLE {self.database}.{self.table}: {text}")

    def _comment_query(self) -> tuple:
        return ("SELECT TABLE_COMMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (self.database, self.table))

    def _set_marker(self, text: str) -> None:
        # A comment change only rewrites metadata: no table copy.
        self._execute(f"ALTER TABLE `{self.table}` COMMENT = %s, ALGORITHM=INSTANT", (text,))

    def _max_id_sql(self) -> str:
        return f"SELECT MAX(id) FROM `{self.table}`"

    def drop(self) -> bool:
        existed = self._one(*self._comment_query()) is not None
        self._execute(f"DROP TABLE IF EXISTS `{self.table}`")
        return existed


class _PostgresSeeder(_Seeder):
    def _session(self) -> None:
        self.connection.autocommit = True          # VACUUM refuses to run in a transaction
        self._execute("SET synchronous_commit = off")    # only this session's commits
        self._execute("SET maintenance_work_mem = '256MB'")  # the primary key's sort

    @property
    def _name(self) -> sql.Identifier:
        return sql.Identifier(self.table)

    def _create_sql(self):
        # The primary key comes after loading: one sorted build beats 12 M index inserts.
        return sql.SQL("CREATE TABLE {} (\n  " + _COLUMN_DEFS + "\n)").format(self._name)

    def _insert(self, low: int, high: int) -> None:
        self._execute(sql.SQL("INSERT INTO {} (" + _COLUMN_LIST + ") SELECT " + _PG_VALUES +
                              " FROM generate_series(%s::bigint, %s::bigint) AS n")
                      .format(self._name), (low, high))

    def _after_load(self) -> None:
        self._execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(self._name))

    def _analyze(self) -> None:
        # VACUUM too: autovacuum would otherwise soon scan the new rows, during measurements.
        self._execute(sql.SQL("VACUUM (ANALYZE) {}").format(self._name))

    def _comment_query(self) -> tuple:
        return ("SELECT coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = %s AND c.relkind = 'r'",
                (self.table,))

    def _set_marker(self, text: str) -> None:
        # COMMENT takes no bind parameters: the text goes in as a quoted literal.
        self._execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(self._name, sql.Literal(text)))

    def _max_id_sql(self):
        return sql.SQL("SELECT MAX(id) FROM {}").format(self._name)

    def drop(self) -> bool:
        existed = self._one(*self._comment_query()) is not None
        self._execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._name))
        return existed


def _plan(exists: bool, seeded: int | None, max_id: int | None, rows: int, force: bool) -> str:
    """What to do: created (no table), unchanged, appended (growing a complete seed whose
    last id is where its marker says), or recreated (anything else, or `force`)."""
    if not exists:
        return "created"
    intact = seeded is not None and max_id == seeded
    if intact and not force and seeded == rows:
        return "unchanged"
    if intact and not force and 0 < seeded < rows:
        return "appended"
    return "recreated"


def _split(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    """first..last as up to `parts` contiguous ranges of (nearly) equal size."""
    total = last - first + 1
    if total <= 0:
        return []
    size = -(-total // parts)
    return [(low, min(last, low + size - 1)) for low in range(first, last + 1, size)]


def _close(estimate: int, rows: int) -> bool:
    return abs(estimate - rows) <= max(STATS_TOLERANCE * rows, 100)


# --- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    from lab.deployment import DEFAULT_ROOT, Lab   # lab.deployment imports much: only here

    parser = argparse.ArgumentParser(prog="python -m lab.seed", description=(
        "Fill a lab deployment's messages table to exactly ROWS rows (server-side), then "
        "refresh the engine's statistics."))
    parser.add_argument("--project", default="biz")
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--rows", type=int, help="rows wanted (0: an empty table)")
    parser.add_argument("--database", help="default: the deployment's own <prefix>waent")
    parser.add_argument("--table", default="messages")
    parser.add_argument("--force", action="store_true", help="refill even if already seeded")
    parser.add_argument("--drop", action="store_true", help="drop the table instead")
    args = parser.parse_args(argv)
    if args.drop == (args.rows is not None):
        parser.error("give either --rows N or --drop")
    try:
        lab = Lab.open(args.project, root=args.root)
        if args.drop:
            start = time.monotonic()
            dropped = drop_messages(lab, args.database, args.table)
            print(f"{lab.engine} {args.database or lab.db_name}.{args.table}: "
                  f"{'dropped' if dropped else 'absent'} ({time.monotonic() - start:.1f} s)")
        else:
            print(seed_messages(lab, args.rows, args.database, args.table, args.force).line())
    except LabError as error:
        print(f"lab.seed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
