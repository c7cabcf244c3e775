"""version — client versions and the upgrade (R-GC, "upgrading with a large database").

Source: "Garbage collection": since v2.29.1 `pass_through` defaults to false, which grows the
messages table; automatic GC is then set from `pass_through` as it was before the upgrade, and
if `pass_through` was enabled, automatic GC should be enabled after the upgrade. Meta's compose
files pin one `WA_API_VERSION` for every service: a deployment runs one version, and an upgrade
gate must know which one and which one it goes to (`--upgrade-to`).
"""

from wa_compliance.check import check
from wa_compliance.errors import FactUnavailable
from wa_compliance.model import Outcome
from wa_compliance.rules import version as rules
from wa_compliance.subjects import containers_to_check


def _record(verdict, subject, decision, remediation=None, **evidence):
    say = {Outcome.PASS: verdict.passed, Outcome.SKIP: verdict.skipped, Outcome.ERROR: verdict.error}
    if decision.verdict in say:
        return say[decision.verdict](subject, decision.message, **evidence)
    verdict.failed(subject, decision.message, remediation, severity=decision.severity, **evidence)


def _images(deployment, verdict) -> dict[str, str]:
    return {c.subject: c.image for c in containers_to_check(deployment, verdict)}


@check("VER-001", "every Webapp, Coreapp and Master container runs the same client version", "high", upgrade=True,
       remediation="Run one WA_API_VERSION for every service (Meta's compose files pin one): finish or roll back "
                   "the upgrade, then docker-compose up -d on every host.", reads=("containers",))
def test_ver_001_one_version(deployment, verdict):
    """All containers run one client version, told by the image tag (`v2.x.y`); the message lists
    each version with its containers; an image whose tag names no version (a digest, `latest`) is
    said so.

    R-GC: the upgrade is one step for the whole deployment; half-upgraded containers share one
    database schema with the others.
    """
    images = _images(deployment, verdict)
    if images:
        known, _ = rules.versions(images)
        _record(verdict, deployment.name, rules.one_version(images),
                versions={str(v): names for v, names in known.items()})


@check("VER-002", "the upgrade to --upgrade-to is one the GC rules allow", "high", upgrade=True,
       remediation="Before upgrading a large database, fix its garbage collection (GC-003 at ≤ 120 rps, GC-004 "
                   "above); after an upgrade across v2.29.1 with pass_through on, enable automatic GC.",
       reads=("containers",))
def test_ver_002_upgrade(deployment, verdict, upgrade_to):
    """With `--upgrade-to=VERSION`: the running version (the oldest, when VER-001 finds several)
    is older than the target (equal: pass, already there; newer: fail). Across v2.29.1 the message
    says what changes and what to do after; a large table whose GC rule fails today fails.
    Without `--upgrade-to`: skip.

    R-GC: businesses upgrading with a large database keep automatic GC as pass_through was before
    the upgrade; if pass_through was enabled, enable automatic GC after the upgrade.
    """
    if upgrade_to is None:
        return _record(verdict, deployment.name, rules.upgrade(None, None, None))
    known, _ = rules.versions(_images(deployment, verdict))
    running = min(known) if known else None
    try:
        gc = deployment.gc_facts
    except FactUnavailable:
        gc = None
    after = rules.after_upgrade(running, upgrade_to, gc)
    _record(verdict, deployment.name, rules.upgrade(running, upgrade_to, gc),
            running=str(running) if running else None, target=str(upgrade_to),
            **({"after_upgrade": after} if after else {}))
