"""How much cheaper the engine's statistics are than COUNT(*) on a very large messages table.

GC-001 sizes the messages table from the statistics (information_schema.TABLES.TABLE_ROWS,
pg_class.reltuples) and scans only with --exact-counts. This script backs that choice with
numbers: it seeds 12 M rows in the shared lab deployments `biz` (MariaDB) and `bizpg`
(PostgreSQL), as `<project>_waent.messages_very_large` (the table tests/lab/test_gc_checks.py
audits through database.messages_table), then times, with the checker's own code
(DeploymentFacts, DatabaseSession) as the deployment's account over TCP:

- seeding (near zero when the table already holds 12 M seeded rows; --reseed refills it);
- the statistics query, median of 20 runs on the open session, and of 20 whole GC-001 fact
  gatherings, each logging in (what an audit pays);
- the connections one audit opens for ENV-009 and GC-001 together;
- SELECT COUNT(*), median of 3.

Goal: statistics under 100 ms, and COUNT(*) at least 50x slower. The tables stay in place
afterwards (the gc checks and their tests reuse them). Needs `python -m lab up --all`.

    python bench/gc_count.py [--rows 12000000] [--reseed] [--project biz --project bizpg]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from anywhere

from lab import Lab, LabError  # noqa: E402
from lab.deployment import DEFAULT_ROOT  # noqa: E402
from lab.seed import seed_messages  # noqa: E402
from wa_compliance.facts.deployment import DeploymentFacts  # noqa: E402
from wa_compliance.profile import load_profile, resolve_host  # noqa: E402
from wa_compliance.transport.database import DatabaseSession  # noqa: E402

ROWS = 12_000_000
TABLE = "messages_very_large"      # beside the deployment's own `messages`, which the demo keeps small
PROJECTS = {"biz": "lab", "bizpg": "lab-pg"}   # deployment -> its profile
STATS_RUNS = 20
COUNT_RUNS = 3
GOAL_STATS_MS = 100
GOAL_RATIO = 50


@dataclass
class Result:
    project: str
    engine: str
    table: str
    seed_action: str
    seed_s: float
    estimate: int
    exact: int
    stats_ms: float             # median: the checker's query on its open session
    stats_connect_ms: float     # median: what GC-001 costs in an audit (login + query)
    count_ms: float             # median
    connections: int            # opened by one audit's database facts (ENV-009 + GC-001)

    @property
    def ratio(self) -> float:
        return self.count_ms / self.stats_ms

    @property
    def ratio_connect(self) -> float:
        return self.count_ms / self.stats_connect_ms

    @property
    def meets_goal(self) -> bool:
        return self.stats_connect_ms < GOAL_STATS_MS and self.ratio_connect >= GOAL_RATIO


def facts_for(lab: Lab, profile: str) -> DeploymentFacts:
    """The checker's own facts for the lab profile, pointed at the very large table."""
    loaded = load_profile(resolve_host(profile, str(REPO / "profiles")))
    database = dataclasses.replace(loaded.database, messages_table=f"{lab.db_name}.{TABLE}")
    return DeploymentFacts(dataclasses.replace(loaded, database=database))


def median_ms(action, runs: int) -> float:
    """Median wall time of `action()` over `runs` runs, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def gc_001_once(login, table) -> int:
    """GC-001's database cost in an audit: log in, read the statistics, log out (db.env is read
    once per audit for every check, so it is not counted here)."""
    session = DatabaseSession(login)
    try:
        return session.table(table.database, table.table).rows
    finally:
        session.close()


def measure(project: str, root: str, rows: int, reseed: bool) -> Result:
    lab = Lab.open(project, root=root)
    report = seed_messages(lab, rows, table=TABLE, force=reseed)
    print(f"  seeded: {report.line()}", flush=True)
    profile = PROJECTS.get(project, project)
    facts = facts_for(lab, profile)
    try:
        facts.database_server                       # ENV-009's read, on the same session
        table = facts.messages_table
        login = facts.db_login
        session = facts.db_session
        stats_ms = median_ms(lambda: session.table(table.database, table.table), STATS_RUNS)
        connections = session.opened
        exact = session.exact_count(table.database, table.table)
        count_ms = median_ms(lambda: session.exact_count(table.database, table.table), COUNT_RUNS)
    finally:
        facts.close()
    stats_connect_ms = median_ms(lambda: gc_001_once(login, table), STATS_RUNS)
    return Result(project, lab.engine, table.name, report.action, report.seconds, table.rows, exact,
                  stats_ms, stats_connect_ms, count_ms, connections)


def print_table(results: list[Result]) -> None:
    header = (f"{'engine':7} {'table':22} {'seed':>18} {'stats rows':>11} {'COUNT(*)':>11} "
              f"{'stats ms':>9} {'+connect':>9} {'COUNT ms':>9} {'COUNT/stats':>12} "
              f"{'(+connect)':>11} {'conns':>5} goal")
    print(header)
    print("-" * len(header))
    for r in results:
        seed = f"{r.seed_action} {r.seed_s:.1f}s"
        print(f"{r.engine:7} {r.table:22} {seed:>18} {r.estimate:>11,} {r.exact:>11,} "
              f"{r.stats_ms:>9.2f} {r.stats_connect_ms:>9.2f} {r.count_ms:>9.0f} "
              f"{r.ratio:>11.0f}x {r.ratio_connect:>10.0f}x {r.connections:>5} "
              f"{'met' if r.meets_goal else 'MISSED'}")
    print(f"\nstats: the checker's query, median of {STATS_RUNS} (on its open session / a whole GC-001 "
          "with login); conns: connections one audit opens for ENV-009 + GC-001; "
          f"COUNT(*): median of {COUNT_RUNS}; goal: stats < {GOAL_STATS_MS} ms and "
          f"COUNT(*) >= {GOAL_RATIO}x slower (with connect)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--root", default=DEFAULT_ROOT, help="where the deployments are")
    parser.add_argument("--reseed", action="store_true", help="refill even if already seeded")
    parser.add_argument("--project", action="append",
                        help="lab deployment (repeatable; default: biz and bizpg)")
    args = parser.parse_args(argv)
    results = []
    try:
        for project in args.project or PROJECTS:
            print(f"{project}:", flush=True)
            results.append(measure(project, args.root, args.rows, args.reseed))
    except LabError as error:
        print(f"gc_count: {error}", file=sys.stderr)
        return 1
    print()
    print_table(results)
    return 0 if all(r.meets_goal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
