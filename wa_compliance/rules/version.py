"""Rules of the upgrade gate (section `version`): one client version across the deployment
(VER-001), and an upgrade to `--upgrade-to` that the source document's GC rules allow (VER-002).

Source ("Garbage collection", upgrading with a large database): from v2.29.1 on, `pass_through`
defaults to false and the messages table grows; automatic GC is then set from `pass_through` as
it was before the upgrade; if `pass_through` was enabled before, enable automatic GC after it.
"""

from __future__ import annotations

from ..facts.gc import GcFacts, SizeClass
from ..model import Outcome
from ..parsers.version import PASS_THROUGH_CHANGE, ClientVersion, crosses_pass_through_change, version_of_image
from .gc import Decision, api_gc_scheduled, automatic_gc_enabled, high_traffic


def versions(images: dict[str, str]) -> tuple[dict[ClientVersion, list[str]], dict[str, str]]:
    """({version: containers}, {container: image whose version cannot be told}) from each
    container's image reference."""
    known: dict[ClientVersion, list[str]] = {}
    unknown: dict[str, str] = {}
    for container, image in images.items():
        version = version_of_image(image)
        if version is None:
            unknown[container] = image
        else:
            known.setdefault(version, []).append(container)
    return dict(sorted(known.items())), unknown


def one_version(images: dict[str, str]) -> Decision:
    """VER-001: every Webapp, Coreapp and Master container runs the same client version."""
    known, unknown = versions(images)
    untold = "; version not told by the image of " + ", ".join(
        f"{name} ({image})" for name, image in unknown.items()) if unknown else ""
    if len(known) > 1:
        listed = "; ".join(f"{version}: {', '.join(names)}" for version, names in known.items())
        return Decision(Outcome.FAIL, f"{len(known)} client versions run side by side: {listed}{untold}")
    if not known:
        return Decision(Outcome.ERROR, f"the running version cannot be told{untold}")
    (version, names), = known.items()
    return Decision(Outcome.PASS, f"all {len(names)} containers run {version}{untold}")


def upgrade(running: ClientVersion | None, target: ClientVersion | None, gc: GcFacts | None) -> Decision:
    """VER-002: the running version (the oldest, when several run) is older than the target; an
    upgrade across v2.29.1 says what changes; a large table is not upgraded while the GC rule that
    applies today fails (GC-003 at ≤ 120 rps, GC-004 above)."""
    if target is None:
        return Decision(Outcome.SKIP, "no --upgrade-to given: the upgrade gate has no target version")
    if running is None:
        return Decision(Outcome.ERROR, "the running version cannot be told (see VER-001)")
    if running == target:
        return Decision(Outcome.PASS, f"already at {target}")
    if running > target:
        return Decision(Outcome.FAIL, f"running {running} is newer than the target {target}: not an upgrade")
    notes = [f"{running} → {target}"]
    if crosses_pass_through_change(running, target):
        notes.append(f"from v{PASS_THROUGH_CHANGE} on, pass_through defaults to false and the messages "
                     "table grows; automatic GC is then set from pass_through as it is before the upgrade")
        if gc is not None and gc.pass_through is not None and gc.pass_through.value:
            notes.append("pass_through is on now: enable automatic GC after the upgrade")
    if gc is None:
        return Decision(Outcome.PASS, "; ".join(notes) + "; the GC facts could not be read")
    rule_id, today = ("GC-004", api_gc_scheduled(gc)) if high_traffic(gc) else ("GC-003", automatic_gc_enabled(gc))
    large = gc.size in (SizeClass.LARGE, SizeClass.VERY_LARGE)
    if large and today.verdict is Outcome.FAIL:
        return Decision(Outcome.FAIL, "; ".join(notes) + f"; the messages table is {gc.size.value} and {rule_id} "
                                      f"fails today ({today.message}): a large database is not upgraded with its "
                                      "garbage collection misconfigured", severity="high")
    return Decision(Outcome.PASS, "; ".join(notes))


def after_upgrade(running: ClientVersion | None, target: ClientVersion | None, gc: GcFacts | None) -> list[str]:
    """What to do once the upgrade is done (for --plan)."""
    if running is None or target is None or not crosses_pass_through_change(running, target):
        return []
    if gc is not None and gc.pass_through is not None and gc.pass_through.value:
        return ["Enable automatic GC (pass_through was on before the upgrade): PATCH /v1/settings/application "
                'with {"garbagecollector_enable": {"messages": true}}.']
    return ["Watch the messages table grow: pass_through now defaults to false (GC-001, GC-003)."]
