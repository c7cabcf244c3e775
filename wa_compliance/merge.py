"""`wa-compliance merge DIR... --into OUT`: one fleet from the report folders of several shard
runs (`--shard=I/N` on several machines or CI jobs).

Each deployment's run folders are copied into OUT (never over one already there), its `latest`
points at its newest run, and OUT/index.html is written over the whole fleet, as one run over
every deployment would. What only the whole fleet shows is said too: ENV-006's rule that
deployments sharing a database server use distinct prefixes, across shards (each shard could
only compare its own deployments).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .reports import history
from .reports.fleet import latest_run, run_folders, write_fleet_index
from .reports.json_report import FILENAME as RESULTS_FILENAME


def merge(sources: list[Path], into: Path) -> tuple[Path, list[str]]:
    """Copy the runs, point `latest`, write the index; return its path and the cross-shard
    findings (one line each)."""
    newest: dict[str, Path] = {}
    for source in sources:
        for host_dir in sorted(p for p in Path(source).iterdir() if p.is_dir()):
            runs, latest = run_folders(host_dir), latest_run(host_dir)
            if latest is None:
                continue
            target = into / host_dir.name
            for run_dir in runs:
                if not (target / run_dir.name).exists():
                    shutil.copytree(run_dir, target / run_dir.name, symlinks=False)
            candidate = target / latest.name
            if host_dir.name not in newest or candidate.name > newest[host_dir.name].name:
                newest[host_dir.name] = candidate
    for host, run_dir in newest.items():
        history.point_latest(into / host, run_dir)
    index = write_fleet_index(into, newest) if newest else into / "index.html"
    return index, shared_prefixes(newest)


def shared_prefixes(runs: dict[str, Path]) -> list[str]:
    """Deployments whose prefix check's evidence names the same database server and prefix."""
    seen: dict[tuple[str, str], list[str]] = {}
    for host, run_dir in sorted(runs.items()):
        try:
            document = json.loads((run_dir / RESULTS_FILENAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for result in document.get("results", []):
            evidence = result.get("evidence") or {}
            if isinstance(evidence, dict) and evidence.get("database_server"):
                key = (evidence["database_server"], evidence.get("prefix") or "")
                if host not in seen.setdefault(key, []):
                    seen[key].append(host)
    return [f"across shards: {', '.join(hosts)} use the database server {server} with "
            f"{repr(prefix) if prefix else 'no prefix'}: their databases collide (WA_DB_NAME_PREFIX must differ)"
            for (server, prefix), hosts in seen.items() if len(hosts) > 1]
