"""What auditing a deployment spread over three hosts costs (issue 15), in one run:

(a) the three-host lab deployment (lab/cluster.py, profile `hosts:` of wa-a, wa-b, wa-c) audited
    as one deployment, over SSH;
(b) a one-host deployment of the same layout (Meta's prod-multiconnect-compose.yml: Webapp,
    Coreapp, Master) — the same profile with `hosts:` holding wa-a alone;
(c) the same three hosts audited as three single-host profiles in one run (`--host` three times).

Each audit runs --runs times (default 3); medians are printed with the ratios a/b (goal: at most
1.3: hosts are read side by side, not one after the other) and a/c; and the `docker exec` count
per container of one audit (goal: at most 3), from each host engine's events.

    python bench/hosts_speed.py [--runs 3] [--keep]

Brings the cluster up (`python -m lab hosts up`) and down at the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from anywhere

import yaml  # noqa: E402

from lab.cluster import Cluster  # noqa: E402
from tests.audit_runner import run_audit  # noqa: E402

GOALS = {"3 hosts / 1 host": 1.3, "docker exec per container": 3}


def profiles(cluster: Cluster, folder: Path) -> dict[str, list[str]]:
    """--host arguments of each variant, their profiles written to `folder`."""
    base = yaml.safe_load((REPO / "profiles" / "lab-hosts.yaml").read_text())
    one = {**base, "name": "hosts-one", "hosts": base["hosts"][:1]}
    (folder / "hosts-one.yaml").write_text(yaml.safe_dump(one))
    singles = []
    for entry in base["hosts"]:
        name = entry["target"].rsplit("@", 1)[1]
        single = {key: value for key, value in base.items() if key != "hosts"}
        single.update(name=f"single-{name}", target=entry["target"])
        (folder / f"single-{name}.yaml").write_text(yaml.safe_dump(single))
        singles.append(str(folder / f"single-{name}.yaml"))
    return {"3 hosts": ["--host=lab-hosts"], "1 host": [f"--host={folder / 'hosts-one.yaml'}"],
            "3 single-host profiles": [f"--host={path}" for path in singles]}


def timed(cluster: Cluster, arguments: list[str], folder: Path) -> float:
    started = time.monotonic()
    run = run_audit(*arguments, f"--ssh-config={cluster.ssh_config}", reports_dir=folder,
                    env=cluster.lab.api_env(), timeout=600)
    elapsed = time.monotonic() - started
    if run.exit_code not in (0, 1):          # 1: findings, as on any real deployment
        raise SystemExit(f"audit {' '.join(arguments)} did not run: {run.console[-2000:]}")
    return elapsed


def exec_counts(cluster: Cluster, since: float, until: float) -> dict[str, int]:
    """`docker exec` starts per container on every host, from each engine's event log."""
    counts: dict[str, int] = {}
    for name, host in cluster.hosts.items():
        output = host.docker("events", "--since", str(since), "--until", str(until), "--format",
                             "{{json .}}", "--filter", "event=exec_create").stdout
        for line in output.splitlines():
            container = json.loads(line)["Actor"]["Attributes"]["name"]
            counts[f"{name}/{container}"] = counts.get(f"{name}/{container}", 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the cluster up")
    options = parser.parse_args()
    cluster = Cluster()
    cluster.up()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            variants = profiles(cluster, folder)
            times: dict[str, list[float]] = {name: [] for name in variants}
            for run in range(options.runs):
                for name, arguments in variants.items():     # interleaved: same conditions
                    times[name].append(timed(cluster, arguments, folder / f"{run}-{len(times[name])}"))
            time.sleep(1.5)          # the events of earlier audits stay out of the window
            since = time.time()
            timed(cluster, variants["3 hosts"], folder / "execs")
            execs = exec_counts(cluster, since, time.time() + 1)
    finally:
        if not options.keep:
            cluster.down()
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, value in median.items():
        print(f"{name:>24}: {value:6.2f} s  (runs: {', '.join(f'{v:.2f}' for v in times[name])})")
    ratio = median["3 hosts"] / median["1 host"]
    print(f"{'3 hosts / 1 host':>24}: {ratio:.2f}  (goal <= {GOALS['3 hosts / 1 host']})")
    print(f"{'3 hosts / 3 profiles':>24}: {median['3 hosts'] / median['3 single-host profiles']:.2f}")
    most = max(execs.values()) if execs else 0
    print(f"{'docker exec per container':>24}: at most {most} over {len(execs)} containers "
          f"(goal <= {GOALS['docker exec per container']}) at {dt.datetime.now():%H:%M}")
    return 0 if ratio <= GOALS["3 hosts / 1 host"] and most <= GOALS["docker exec per container"] else 1


if __name__ == "__main__":
    sys.exit(main())
