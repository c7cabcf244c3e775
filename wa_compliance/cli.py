"""`wa-compliance`: the commands beside `pytest checks` (SPEC §4).

    wa-compliance init --target=local|ssh://user@host[:port] [--compose-project=P]
    wa-compliance merge DIR... [--into=OUT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import WaComplianceError
from .init import discover, render
from .merge import merge
from .transport.ssh import SshOptions

USAGE_ERROR = 4          # as pytest's, for the audit's own usage errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wa-compliance", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    init = commands.add_parser("init", help="print a commented profile for the deployment running at --target")
    init.add_argument("--target", required=True, help="local or ssh://user@host[:port]")
    init.add_argument("--compose-project", default=None, help="the deployment, when an engine runs several")
    init.add_argument("--ssh-config", default=None, help="an ssh_config file (as pytest's --ssh-config)")
    init.add_argument("--ssh-identity-file", default=None, help="a private key (as pytest's --ssh-identity-file)")
    merging = commands.add_parser("merge", help="one fleet index from the report folders of --shard runs")
    merging.add_argument("sources", nargs="+", metavar="DIR", help="a shard run's --reports-dir")
    merging.add_argument("--into", default="reports", help="where the merged fleet goes (default: reports)")
    args = parser.parse_args(argv)
    if "sources" in args:
        return _merge(args)
    try:
        found = discover(args.target, args.compose_project, SshOptions(args.ssh_config, args.ssh_identity_file))
    except WaComplianceError as exc:
        print(f"wa-compliance: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    sys.stdout.write(render(found))
    return 0


def _merge(args) -> int:
    into = Path(args.into)
    missing = [source for source in args.sources if not Path(source).is_dir()]
    if missing:
        print(f"wa-compliance: error: not a folder: {', '.join(missing)}", file=sys.stderr)
        return USAGE_ERROR
    index, findings = merge([Path(source) for source in args.sources], into)
    for line in findings:
        print(line)
    print(f"fleet index: {index}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
