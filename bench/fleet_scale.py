"""A fleet on one machine (issue 18): 200 deployments audited in one run, against 40, in one run.

Profiles are written over the lab's five deployments (`profiles/lab*.yaml`, the same number of
each: single and multiconnect, MariaDB and PostgreSQL, volume and bind media), named d000...,
and audited with `pytest checks --host=@all --profiles-dir=...` as an operator would run a
fleet. Printed: wall time, the auditor's own CPU (pytest and the programs it starts on the
host) and the rest of the machine's (the lab's engine running the execs, its databases, the API
stand-in: on a real fleet that work is done on the audited hosts), peak memory of the audit, and
the verdicts (every one is expected to be `pass` or `skip` but ENV-006: profiles of the same
deployment share its database prefix, which is what ENV-006 is there to find).

Goals: the large fleet in <= 60 s and <= 1 GiB; cost per deployment growing no more than
linearly (large/small per deployment <= 1.1).

    python bench/fleet_scale.py [--deployments 200] [--small 40] [--concurrency N]

Needs the lab (`python -m lab up --all`).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from anywhere

import yaml  # noqa: E402

from tests.audit_runner import run_audit  # noqa: E402

LAB_PROFILES = ["lab", "lab-pg", "lab-mc", "lab-mc-pg", "lab-bind"]
GOALS = {"seconds": 60, "peak MiB": 1024, "per deployment, large/small": 1.1}


def write_profiles(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True)
    bases = {name: yaml.safe_load((REPO / "profiles" / f"{name}.yaml").read_text()) for name in LAB_PROFILES}
    names = []
    for index in range(count):
        base = LAB_PROFILES[index % len(LAB_PROFILES)]
        name = f"d{index:03d}-{base}"
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({**bases[base], "name": name}))
        names.append(name)
    return names


def busy_seconds() -> float:
    """CPU time the whole machine spent, all cores, from /proc/stat (user, nice, system, irq, softirq)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / 100


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def exec_cost(container: str = "biz_waweb_1", count: int = 30) -> float:
    """CPU (whole machine) of one `docker exec CONTAINER true`, in ms: the engine's floor per exec,
    which moves on this machine over a day (48 to 69 ms seen)."""
    import docker
    target = docker.from_env().containers.get(container)
    busy = busy_seconds()
    for _ in range(count):
        target.exec_run(["true"])
    return (busy_seconds() - busy) / count * 1000


def audit_fleet(work: Path, count: int, concurrency: str | None) -> dict:
    folder = work / f"fleet-{count}"
    names = write_profiles(folder / "profiles", count)
    extra = [f"--concurrency={concurrency}"] if concurrency else []
    busy, own, started = busy_seconds(), children_cpu(), time.monotonic()
    run = run_audit("--host=@all", f"--profiles-dir={folder / 'profiles'}", *extra,
                    reports_dir=folder / "reports", timeout=1200)
    wall = time.monotonic() - started
    own, busy = children_cpu() - own, busy_seconds() - busy
    if run.exit_code not in (0, 1):
        raise SystemExit(f"the audit of {count} deployments did not run: {run.console[-2000:]}")
    verdicts: collections.Counter = collections.Counter()
    problems: collections.Counter = collections.Counter()
    for name in names:
        for result in run.results(name):
            outcome = result["outcome"]
            verdicts["ENV-006 " + outcome if result["id"] == "ENV-006" else outcome] += 1
            if outcome in ("fail", "error") and result["id"] != "ENV-006":
                problems[f"{result['id']} {outcome}: {result['message'][:160]}"] += 1
    return {"deployments": count, "wall": wall, "auditor cpu": own, "rest cpu": busy - own,
            "verdicts": dict(verdicts), "problems": dict(problems)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--small", type=int, default=40, help="the smaller fleet, for the per-deployment ratio")
    parser.add_argument("--concurrency", default=None, help="passed to the audit (default: its own)")
    options = parser.parse_args()
    floor = exec_cost()
    with tempfile.TemporaryDirectory() as scratch:
        small = audit_fleet(Path(scratch), options.small, options.concurrency)
        large = audit_fleet(Path(scratch), options.deployments, options.concurrency)
    # the largest child so far: the large audit (the small one came first and is smaller)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"wa-compliance fleet on one machine, {dt.datetime.now():%Y-%m-%d %H:%M}, lab on this machine\n")
    print(f"{'deployments':>12} {'wall s':>8} {'per dep. s':>10} {'auditor cpu s':>14} {'engine & lab cpu s':>19}  verdicts")
    for fleet in (small, large):
        verdicts = ", ".join(f"{count} {name}" for name, count in sorted(fleet["verdicts"].items()))
        print(f"{fleet['deployments']:>12} {fleet['wall']:>8.1f} {fleet['wall'] / fleet['deployments']:>10.3f} "
              f"{fleet['auditor cpu']:>14.1f} {fleet['rest cpu']:>19.1f}  {verdicts}")
    ratio = (large["wall"] / large["deployments"]) / (small["wall"] / small["deployments"])
    print(f"\none `docker exec true` costs this machine {floor:.0f} ms of CPU now")
    print(f"peak memory of the audit: {peak:.0f} MiB (goal <= {GOALS['peak MiB']})")
    print(f"{options.deployments} deployments: {large['wall']:.1f} s (goal <= {GOALS['seconds']})")
    print(f"per deployment, {options.deployments}/{options.small}: {ratio:.2f} (goal <= {GOALS['per deployment, large/small']})")
    errors = sum(count for name, count in large["verdicts"].items() if name in ("error", "fail"))
    print(f"errors and failures besides ENV-006: {errors}")
    for fleet in (small, large):
        for problem, count in sorted(fleet["problems"].items()):
            print(f"  {fleet['deployments']} deployments, {count}x {problem}")
    print(json.dumps({"small": small, "large": large, "peak_mib": round(peak)}), file=sys.stderr)
    met = (large["wall"] <= GOALS["seconds"] and peak <= GOALS["peak MiB"]
           and ratio <= GOALS["per deployment, large/small"] and not errors)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
