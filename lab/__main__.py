"""Command line of the lab: `python -m lab up|down|status|deviate|restore|list-deviations|
api-env|hosts|prometheus|purge`."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace

from lab import deviations
from lab.cluster import Cluster
from lab.deployment import DEFAULT_ROOT, DEFAULT_VERSION, Lab
from lab.errors import LabError
from lab.locking import deployment_lock
from lab.profiles import LAB_PROFILES
from lab.prometheus import PRESETS, LabPrometheus
from lab.state import DeploymentState
from lab.topology import ENGINES, MEDIA_KINDS, TOPOLOGIES


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except LabError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=(
        "Stand-in WhatsApp Business API deployments for testing wa-compliance."))
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help: str, *, all_option: bool = True, kind: bool = False):
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        sub.add_argument("--project", default="biz", help="Compose project (default: biz)")
        sub.add_argument("--root", default=DEFAULT_ROOT, help=f"default: {DEFAULT_ROOT}")
        if all_option:
            sub.add_argument("--all", action="store_true",
                             help="the deployments of profiles/lab*.yaml: "
                                  + ", ".join(p["project"] for p in LAB_PROFILES.values()))
        if kind:
            sub.add_argument("--topology", choices=TOPOLOGIES)
            sub.add_argument("--engine", choices=ENGINES)
            sub.add_argument("--media", choices=MEDIA_KINDS,
                             help="media storage: Meta's named volume (default) or a bind folder")
            sub.add_argument("--version", default=None, help=f"default: {DEFAULT_VERSION}")
        return sub

    command("up", _up, "create or repair deployments (idempotent; ends deviations)", kind=True)
    command("down", _down, "remove deployments: containers, volumes, DB account, API stand-in, "
            "directory")
    command("status", _status, "show deployments, their containers and API stand-in")
    sub = command("deviate", _deviate, "switch a misconfiguration on", all_option=False)
    sub.add_argument("name", help="see list-deviations")
    sub = command("restore", _restore, "switch deviations off (all, or NAME)", all_option=False)
    sub.add_argument("name", nargs="?", help="only this deviation")
    purging = commands.add_parser(
        "purge", help="remove every piece of lab state (deployments, containers, volumes, lab "
        "images, databases and accounts, cron files, servers, ports, locks): the next run "
        "starts as on a new machine; installed packages and services stay",)
    purging.set_defaults(run=_purge)
    listing = commands.add_parser("list-deviations", help="list deviation names")
    listing.set_defaults(run=_list_deviations)
    hosts = commands.add_parser(
        "hosts", help="the deployment spread over simulated hosts (lab/cluster.py, profile "
        "lab-hosts): up, down, status, deviate NAME, api-env",
        description="A deployment on three simulated hosts wa-a, wa-b, wa-c (own Docker engine, "
        "cron, sshd on 127.0.0.11-13) with media shared from a storage host (sshfs).")
    hosts.set_defaults(run=_hosts)
    hosts.add_argument("action", choices=("up", "down", "status", "deviate", "api-env"))
    hosts.add_argument("name", nargs="?", help="deviation (deviate): "
                       + ", ".join(Cluster.deviations))
    hosts.add_argument("--root", default=DEFAULT_ROOT, help=f"default: {DEFAULT_ROOT}")
    served = commands.add_parser(
        "prometheus", help="a Prometheus server holding weeks of the deployment's request "
        "history (lab/prometheus.py): up, down, status",
        description="up: (re)make the deployment's Prometheus (in .lab/prometheus) holding "
        "--history up to 2 minutes ago, print its URL; down: stop it and remove its data; "
        "status (exit 3 when stopped).")
    served.set_defaults(run=_prometheus)
    served.add_argument("action", choices=("up", "down", "status"))
    served.add_argument("--project", default="biz", help="Compose project (default: biz)")
    served.add_argument("--root", default=DEFAULT_ROOT, help=f"default: {DEFAULT_ROOT}")
    served.add_argument("--history", default="busy_by_day", choices=list(PRESETS),
                        help="the traffic to backfill (default: busy_by_day)")
    served.add_argument("--node", default=None,
                        help="the series' node label (default: the deployment API's, "
                             "<project>_waweb_1)")
    command("api-env", _api_env, "print the API login the lab profiles name, as export lines: "
            'eval "$(python -m lab api-env --all)"')
    return parser


def _known_kind(project: str, root: str) -> dict:
    """Topology/engine/version/media of `project`: as deployed, else as in LAB_PROFILES,
    else {}."""
    settings = DeploymentState(Lab(project=project, root=root).dir).settings()
    if settings:
        return settings
    for entry in LAB_PROFILES.values():
        if entry["project"] == project:
            return {key: value for key, value in entry.items() if key != "project"}
    return {}


def _labs(args) -> list[Lab]:
    projects = ([p["project"] for p in LAB_PROFILES.values()] if getattr(args, "all", False)
                else [args.project])
    labs = []
    for project in projects:
        kind = _known_kind(project, args.root)
        for option in ("topology", "engine", "version", "media"):
            if getattr(args, option, None):
                kind[option] = getattr(args, option)
        labs.append(Lab(project=project, root=args.root, **kind))
    return labs


def _up(args) -> None:
    for lab in _labs(args):
        started = time.monotonic()
        lab.up()
        print(f"{lab.project}: up ({lab.topology}, {lab.engine}, {lab.media} media, "
              f"v{lab.version}) in "
              f"{time.monotonic() - started:.1f}s: {lab.dir}, API {lab.api_url}")


def _down(args) -> None:
    for lab in _labs(args):
        lab.down()
        print(f"{lab.project}: down")


def _status(args) -> int:
    statuses = [lab.status() for lab in _labs(args)]
    for status in statuses:
        print("\n".join(status.lines()))
    return 0 if all(status.running for status in statuses) else 3


def _deviate(args) -> None:
    lab = Lab.open(args.project, args.root)
    lab.deviate(args.name)
    print(f"{lab.project}: {args.name} on ({deviations.get(args.name).description})")


def _restore(args) -> None:
    lab = Lab.open(args.project, args.root)
    ended = lab.restore(args.name)
    print(f"{lab.project}: " + (f"restored {', '.join(ended)}" if ended else "nothing to restore"))


def _api_env(args) -> None:
    """The secret goes to stdout on purpose: for the shell that runs the demo audit."""
    exported = {}
    for lab in _labs(args):
        exported.update(Lab.open(lab.project, args.root).api_env())
    for name, value in exported.items():
        print(f"export {name}={shlex.quote(value)}")


def _hosts(args) -> int:
    cluster = Cluster(root=args.root)
    if args.action == "up":
        started = time.monotonic()
        cluster.up()
        print(f"{cluster.project}: up on {', '.join(cluster.hosts)} in "
              f"{time.monotonic() - started:.1f}s; audit it with: pytest checks --host=lab-hosts "
              f"--ssh-config={cluster.ssh_config}")
    elif args.action == "down":
        cluster.down()
        print(f"{cluster.project}: down")
    elif args.action == "status":
        lines = cluster.status_lines()
        print("\n".join(lines))
        return 0 if cluster.running() else 3
    elif args.action == "deviate":
        if not args.name:
            raise LabError("name the deviation")
        cluster.deviate(args.name)
        print(f"{cluster.project}: {args.name} on")
    else:
        for name, value in cluster.lab.api_env().items():
            print(f"export {name}={shlex.quote(value)}")
    return 0


def _prometheus(args) -> int:
    lab = Lab.open(args.project, args.root)      # a clear LabError when it was never brought up
    if not lab.dir.is_dir():
        raise LabError(f"lab deployment {args.project!r} has no folder {lab.dir} (run: "
                       f"python -m lab up --project {args.project})")
    server = LabPrometheus(lab.prometheus_dir)
    if args.action == "status":
        print("\n".join(server.status_lines()))
        return 0 if server.running() else 3
    with deployment_lock(lab.root, lab.project):
        if args.action == "down":
            server.remove()
            print(f"{lab.project}: prometheus down")
            return 0
        history = replace(PRESETS[args.history], node=args.node or lab.api_server.node)
        started = time.monotonic()
        server.load(history)
    print(f"{lab.project}: prometheus up with {args.history} history (node {history.node}, "
          f"{history.days} days) in {time.monotonic() - started:.1f}s: {server.url}")
    return 0


def _purge(args) -> int:
    from lab.purge import purge
    started = time.monotonic()
    left = purge(say=lambda line: print(f"purge: {line}"))
    for line in left:
        print(f"lab: purge: still there: {line}", file=sys.stderr)
    print(f"purge: {'incomplete' if left else 'done'} in {time.monotonic() - started:.1f}s")
    return 1 if left else 0


def _list_deviations(args) -> None:
    width = max(map(len, deviations.names())) + 1
    for name in deviations.names():
        chosen = deviations.get(name)
        only = "" if len(chosen.engines) > 1 else f" [{next(iter(chosen.engines))} only]"
        if len(chosen.media) == 1:
            only += f" [{next(iter(chosen.media))} media only]"
        print(f"{name:{width}} {chosen.description}{only}")


if __name__ == "__main__":
    sys.exit(main())
