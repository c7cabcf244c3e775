"""The repository documents itself: docs/checks.md follows the catalogue, docs/profile.md's
example loads and names every key a profile has."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

from wa_compliance.catalogue import SECTIONS
from wa_compliance.profile import Profile, load_profile

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("checks_doc", ROOT / "scripts" / "checks_doc.py")
docs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(docs)


def test_docs_checks_md_is_generated_from_the_current_catalogue():
    assert docs.main(["--check", "--root", str(ROOT)]) == 0, "run: python scripts/checks_doc.py"


def test_every_check_of_every_section_is_in_the_catalogue():
    checks = docs.declared_checks(ROOT / "checks")
    assert {spec.section for spec, _ in checks} == {s.marker for s in SECTIONS}
    assert len({spec.id for spec, _ in checks}) == len(checks) == 35
    assert all(doc for _, doc in checks)                     # every check says why


def test_the_profile_reference_loads_and_names_every_key(tmp_path):
    text = (ROOT / "docs" / "profile.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    path = tmp_path / "reference.yaml"
    path.write_text(example)
    profile = load_profile(path)
    assert profile.name == "prod1" and profile.waivers[0].check == "LOG-004"

    def keys(cls):
        for field in dataclasses.fields(cls):
            yield field.name
            inner = getattr(cls, "__dataclass_fields__", {})[field.name].default_factory
            if dataclasses.is_dataclass(inner):
                yield from keys(inner)
    # `path` is where the profile was read from, not a key
    missing = [key for key in keys(Profile) if key != "path" and not re.search(rf"^\s*-?\s*{key}:", example, re.M)]
    assert not missing, missing
