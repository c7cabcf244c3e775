"""docs/checks.md and README's check tables, generated from the catalogue: the sections
(catalogue.py) and the checks as `checks/` declares them (ID, what it verifies and why — its
docstring —, severity, upgrade gate, remediation).

    python scripts/checks_doc.py            # rewrite them
    python scripts/checks_doc.py --check    # exit 1 when one is stale (the test suite does this)
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
        parts.append(f"\n## {section.marker} — {section.title} ({section.rule})\n\n"
                     f"Source: *{section.source}*. Select with `-m {section.marker}`.\n\n"
                     + table(checks, section.marker, why=True))
    return "".join(parts)


def table(checks: list[tuple[CheckSpec, str]], marker: str, why: bool = False) -> str:
    """One section's checks as a Markdown table: what each verifies (its docstring's first
    paragraph), its severity, what to do when it fails; `why`: the rest of the docstring too."""
    head = "| ID | verifies | severity |" + (" why |" if why else "") + " when it fails |\n"
    rows = [head, "| --- | --- | --- |" + (" --- |" if why else "") + " --- |\n"]
    for spec, doc in checks:
        if spec.section != marker:
            continue
        verifies, _, reason = doc.partition("\n\n")
        mark = " †" if spec.upgrade else ""
        rows.append(f"| {spec.id}{mark} | {_cell(verifies)} | {spec.severity} |"
                    + (f" {_cell(reason)} |" if why else "") + f" {_cell(spec.remediation)} |\n")
    return "".join(rows)


def readme(text: str, checks: list[tuple[CheckSpec, str]]) -> str:
    """README.md with each section's table, between its markers, generated afresh."""
    for section in SECTIONS:
        begin, end = f"<!-- checks:{section.marker} -->\n", f"<!-- /checks:{section.marker} -->"
        start, stop = text.index(begin) + len(begin), text.index(end)
        text = text[:start] + table(checks, section.marker) + text[stop:]
    return text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/checks_doc.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/checks.md is stale")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the repository (default: this script's)")
    options = parser.parse_args(argv)
    root = Path(options.root)
    checks = declared_checks(root / "checks")
    wanted = {root / "docs" / "checks.md": render(checks),
              root / "README.md": readme((root / "README.md").read_text(), checks)}
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if options.check:
        for path in stale:
            print(f"{path} is stale: run python scripts/checks_doc.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
