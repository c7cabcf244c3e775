"""The catalogue's sections, declared once: their check-ID prefix, pytest marker, title and the
part of the source document they follow. Markers, the report order and docs/checks.md follow
from this list; each check declares itself with `@check` (check.py) in its section's file.

>>> section_of("LOG-004").marker
'logs'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    prefix: str          # of its check IDs: ENV-001
    marker: str          # pytest -m env
    title: str
    rule: str            # the rule family of the source document: R-ENV
    source: str          # the source document's heading


SECTIONS = (
    Section("ENV", "env", "database environment", "R-ENV", "Variables d'environnement"),
    Section("VOL", "volumes", "media volume", "R-VOL", "Volumes"),
    Section("GC", "gc", "database size and garbage collection", "R-GC", "Garbage collection"),
    Section("VER", "version", "client versions and the upgrade", "R-GC",
            "Garbage collection: upgrading with a large database"),
    Section("LOG", "logs", "log rotation", "R-LOG", "Rotation des journaux"),
    Section("CRON", "cron", "cleanup schedule", "R-CRON", "Recommandation de script de nettoyage"),
)
# Markers that are not sections.
OTHER_MARKERS = {"upgrade": "checks that gate an upgrade", "wa_check": "catalogue entry of a check"}

_BY_PREFIX = {section.prefix: section for section in SECTIONS}
_RANK = {section.marker: rank for rank, section in enumerate(SECTIONS)}


def section_of(check_id: str) -> Section:
    return _BY_PREFIX[check_id.split("-")[0]]


def markers() -> dict[str, str]:
    """Every marker the checks carry, with its help text."""
    return {**{s.marker: f"{s.title} ({s.rule})" for s in SECTIONS}, **OTHER_MARKERS}


def section_rank(marker: str) -> tuple[int, str]:
    """Catalogue order; a section not listed follows, alphabetically."""
    return (_RANK.get(marker, len(SECTIONS)), marker)
