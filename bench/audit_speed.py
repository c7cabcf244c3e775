"""What a full audit costs next to the least any audit must do, and how a fleet scales.

An audit's cost is round trips (docker exec, database, API, SSH), not CPU. This script
measures, in one run, against the lab (issue 7):

(a) the wall time of a full audit (`pytest checks --host=...`, as an operator runs it) of the
    single and the multiconnect lab;
(b) the *floor* for the same deployment, measured in the same run: list its containers once,
    one `docker exec true` per container, one database query, one API GET, each on a fresh
    connection, sequentially, from a fresh Python process;
(c) the ratio audit/floor, both as processes (what one waits for) and inside the process
    (pytest's own session time against the floor's calls alone: start-up costs left out);
(d) a fleet of 10 lab deployments audited serially and with `-n 2`, and that ratio;
(e) the single lab audited through SSH (lab/sshd.py on 127.0.0.1) against the local audit.

Each audit runs --runs times (default 3); the median is printed. Goals: audit/floor <= 2.0 on
the single lab, `-n 2` fleet <= 0.65x serial, cost growing linearly with containers.

The audit measures the API's request rate between two readings at least 1 s apart
(facts/api.py) unless the profile declares `traffic.peak_rps`; both are shown.

    python bench/audit_speed.py [--runs 3] [--keep]

Needs the lab (`python -m lab up --all`). The five extra fleet deployments (fleet1..fleet5)
are brought up here and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # run from anywhere

from lab import LAB_PROFILES, Lab  # noqa: E402
from lab.profiles import merge, profile_for, write  # noqa: E402
from lab.prometheus import BUSY_BY_DAY, LabPrometheus  # noqa: E402
from lab.sshd import SshServer  # noqa: E402

FLEET_EXTRA = [("fleet1", "single", "mysql"), ("fleet2", "single", "pgsql"), ("fleet3", "multiconnect", "mysql"),
               ("fleet4", "single", "mysql"), ("fleet5", "single", "pgsql")]
GOALS = {"audit/floor": 2.0, "fleet -n 2/serial": 0.65, "audit/floor, traffic from Prometheus": 1.5}

# The floor: what any audit of this deployment must at least do, each on a fresh connection.
FLOOR = r"""
import json, os, ssl, sys, time, urllib.request, urllib.error
started = time.monotonic()
import docker
# on stdin, not argv: a password on a command line is readable by every local user
project, engine, db_host, db_port, db_user, db_password, api_url = json.load(sys.stdin)
imported = time.monotonic()
client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=20)
containers = client.containers.list(all=True, sparse=True,
                                    filters={"label": f"com.docker.compose.project={project}"})
for container in containers:
    exec_id = client.api.exec_create(container.id, ["true"])["Id"]
    client.api.exec_start(exec_id)
    client.api.exec_inspect(exec_id)
if engine == "MYSQL":
    import pymysql
    connection = pymysql.connect(host=db_host, port=int(db_port), user=db_user, password=db_password)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
else:
    import psycopg
    connection = psycopg.connect(host=db_host, port=int(db_port), user=db_user, password=db_password,
                                 dbname="postgres")
    connection.execute("SELECT 1")
connection.close()
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
try:
    urllib.request.urlopen(api_url + "/v1/settings/application", timeout=20, context=context).read()
except urllib.error.HTTPError:
    pass                     # refused without a login: the round trip is what is measured
print(json.dumps({"calls": time.monotonic() - imported, "containers": len(containers)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave fleet1..fleet5 up")
    parser.add_argument("--single-only", action="store_true", help="only the single deployments, no fleet, no SSH")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wa-bench-"))
    env = _audit_env()

    print(f"wa-compliance audit speed, {args.runs} runs each (median); lab on this machine\n")
    print(f"{'deployment':<28} {'containers':>10} {'audit s':>8} {'session s':>9} {'floor s':>8} "
          f"{'floor calls s':>13} {'ratio':>6} {'in-process':>10}")
    rows = {}
    prometheus = LabPrometheus(Lab.open("biz").prometheus_dir)
    prometheus.load(BUSY_BY_DAY)          # 14 days of history, for the "from Prometheus" row
    for name in ("lab", "lab-mc"):
        lab = Lab.open(LAB_PROFILES[name]["project"])
        for traffic in ("counter", "declared", "prometheus"):
            profile = REPO / "profiles" / f"{name}.yaml"
            label = name
            if traffic == "declared":     # no rate window to wait for
                profile = write(merge(profile_for(lab, f"{name}-declared"), {"traffic": {"peak_rps": 50}}),
                                work / f"{name}-declared.yaml")
                label = f"{name} (traffic declared)"
            elif traffic == "prometheus":  # the peak from 14 days of history: three queries
                profile = write(merge(profile_for(lab, f"{name}-prometheus"),
                                      {"traffic": {"prometheus": {"url": prometheus.url}}}),
                                work / f"{name}-prometheus.yaml")
                label = f"{name} (from Prometheus)"
            audit = _median_audit([f"--host={profile}"], args.runs, work, env)
            floor = _median_floor(lab, args.runs)
            rows[label] = (audit, floor)
            print(f"{label:<28} {floor['containers']:>10} {audit['wall']:>8.2f} {audit['session']:>9.2f} "
                  f"{floor['wall']:>8.2f} {floor['calls']:>13.3f} {audit['wall'] / floor['wall']:>6.1f} "
                  f"{audit['session'] / floor['calls']:>10.1f}")

    prometheus.remove()
    goal = GOALS["audit/floor, traffic from Prometheus"]
    audit, floor = rows["lab (from Prometheus)"]
    print(f"\nlab with traffic from Prometheus: audit/floor {audit['wall'] / floor['wall']:.2f} (goal <= {goal})")
    if args.single_only:
        return 0

    print("\nfleet of 10 deployments (5 of profiles/lab*.yaml, fleet1..fleet5)")
    fleet = _fleet_profiles(work, env)
    hosts = [f"--host={path}" for path in fleet]
    serial = _median_audit(hosts, args.runs, work, env)
    parallel = _median_audit(hosts + ["-n", "2"], args.runs, work, env)
    print(f"  serial   {serial['wall']:6.2f} s   (session {serial['session']:.2f} s)")
    print(f"  -n 2     {parallel['wall']:6.2f} s   (session {parallel['session']:.2f} s)   "
          f"ratio {parallel['wall'] / serial['wall']:.2f} (goal <= {GOALS['fleet -n 2/serial']})")
    single = rows["lab"][0]["wall"]
    print(f"  per host serial {serial['wall'] / 10:.2f} s against {single:.2f} s for one host alone")

    print("\nthrough SSH (OpenSSH on 127.0.0.1, engine socket forwarded) against local, single lab")
    server = SshServer(work / "sshd")
    server.start()
    try:
        lab = Lab.open("biz")
        ssh_profile = write({**profile_for(lab, "lab-ssh"), "target": server.target}, work / "lab-ssh.yaml")
        before = server.accepted_connections()
        over_ssh = _median_audit([f"--host={ssh_profile}", f"--ssh-config={server.client_config}"],
                                 args.runs, work, env)
        connections = (server.accepted_connections() - before) / (args.runs + 1)   # warm-up run too
    finally:
        server.stop()
    local = rows["lab"][0]
    print(f"  local {local['wall']:.2f} s, ssh {over_ssh['wall']:.2f} s "
          f"(ratio {over_ssh['wall'] / local['wall']:.2f}), {connections:g} SSH connection(s) per audit")

    if not args.keep:
        for project, *_ in FLEET_EXTRA:
            Lab.open(project).down()
    return 0


def _audit_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    for entry in LAB_PROFILES.values():
        env.update(Lab.open(entry["project"]).api_env())
    return env


def _median_audit(host_args: list[str], runs: int, work: Path, env: dict) -> dict:
    walls, sessions = [], []
    for run in range(runs + 1):       # the first run warms the caches (bytecode, page cache)
        command = [sys.executable, "-m", "pytest", "checks", *host_args, "-q", "-p", "no:cacheprovider",
                   # plugins a test environment has and an operator's has not
                   "-p", "no:hypothesispytest", "-p", "no:benchmark",
                   f"--reports-dir={work / 'reports'}"]
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        found = re.search(r" in ([0-9.]+)s", done.stdout.splitlines()[-1] if done.stdout else "")
        if not found or done.returncode not in (0, 1):
            raise SystemExit(f"audit failed ({done.returncode}): {' '.join(command)}\n{done.stdout[-2000:]}")
        if run:
            walls.append(wall)
            sessions.append(float(found.group(1)))
    return {"wall": statistics.median(walls), "session": statistics.median(sessions)}


def _median_floor(lab: Lab, runs: int) -> dict:
    variables = lab.db_env_variables()
    given = json.dumps([lab.project, variables["WA_DB_ENGINE"], lab.db_host, lab.db_port,
                        variables["WA_DB_USERNAME"], variables["WA_DB_PASSWORD"], lab.api_url])
    walls, calls, containers = [], [], 0
    for run in range(runs + 1):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", FLOOR], input=given, capture_output=True, text=True,
                              check=True)
        if run:
            walls.append(time.monotonic() - started)
            measured = json.loads(done.stdout)
            calls.append(measured["calls"])
            containers = measured["containers"]
    return {"wall": statistics.median(walls), "calls": statistics.median(calls), "containers": containers}


def _fleet_profiles(work: Path, env: dict) -> list[Path]:
    paths = [REPO / "profiles" / f"{name}.yaml" for name in LAB_PROFILES]
    for project, topology, engine in FLEET_EXTRA:
        lab = Lab(project=project, topology=topology, engine=engine)
        lab.up()
        env.update(lab.api_env())
        paths.append(write(profile_for(lab, project), work / f"{project}.yaml"))
    return paths


if __name__ == "__main__":
    sys.exit(main())
