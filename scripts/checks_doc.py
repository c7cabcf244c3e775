"""docs/checks.md, generated from the catalogue: the sections (catalogue.py) and the checks as
`checks/` declares them (ID, rule, severity, upgrade gate, source, remediation).

    python scripts/checks_doc.py            # rewrite docs/checks.md
    python scripts/checks_doc.py --check    # exit 1 when it is stale (the test suite does this)
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # this checkout's engine, installed or not
from wa_compliance.catalogue import SECTIONS  # noqa: E402
from wa_compliance.model import CheckSpec  # noqa: E402

HEADER = """# Checks

Generated from the catalogue (`wa_compliance/catalogue.py`) and the checks in `checks/` by
`python scripts/checks_doc.py`; do not edit by hand. † marks the checks of the upgrade gate
(`-m upgrade`). Each rule follows the source document (French) named under its section; the
README says, per section, which choices were made where the rule is silent.
"""


def declared_checks(checks_dir: Path) -> list[tuple[CheckSpec, str]]:
    """Every check in `checks_dir`, with its docstring, in catalogue order."""
    found = []
    for path in sorted(checks_dir.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_wa_checks_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for _, function in inspect.getmembers(module, inspect.isfunction):
            for mark in getattr(function, "pytestmark", []):
                if mark.name == "wa_check":
                    found.append((mark.args[0], inspect.getdoc(function) or ""))
    prefixes = [s.prefix for s in SECTIONS]
    return sorted(found, key=lambda c: (prefixes.index(c[0].id.split("-")[0]), int(c[0].id.split("-")[1])))


def render(checks: list[tuple[CheckSpec, str]]) -> str:
    parts = [HEADER]
    for section in SECTIONS:
        mine = [(spec, doc) for spec, doc in checks if spec.section == section.marker]
        if not mine:
            continue
        parts.append(f"\n## {section.marker} — {section.title} ({section.rule})\n\n"
                     f"Source: *{section.source}*. Select with `-m {section.marker}`.\n\n"
                     "| ID | rule | severity | why (the check's docstring) | when it fails |\n"
                     "| --- | --- | --- | --- | --- |\n")
        for spec, doc in mine:
            mark = " †" if spec.upgrade else ""
            parts.append(f"| {spec.id}{mark} | {_cell(spec.title)} | {spec.severity} | {_cell(doc)} | "
                         f"{_cell(spec.remediation)} |\n")
    return "".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/checks_doc.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/checks.md is stale")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the repository (default: this script's)")
    options = parser.parse_args(argv)
    root = Path(options.root)
    text = render(declared_checks(root / "checks"))
    target = root / "docs" / "checks.md"
    if options.check:
        if not target.exists() or target.read_text() != text:
            print(f"{target} is stale: run python scripts/checks_doc.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
