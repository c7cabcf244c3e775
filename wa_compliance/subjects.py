"""The containers a check runs for, and what a check says when they are not there.

>>> for container in containers_to_check(deployment, verdict, running=True):
...     verdict.judge(container.name, problems=[])
"""

from __future__ import annotations

from .errors import FactUnavailable

ROLE_NAMES = {"webapp": "Webapp", "coreapp": "Coreapp", "master": "Master"}
ALL_ROLES = ("webapp", "coreapp", "master")


def containers_to_check(deployment, verdict, roles=ALL_ROLES, running=False):
    """Containers of these roles; records a failure when the deployment has no Webapp or no
    Coreapp at all, and an error for each stopped container when the check needs it running."""
    containers = [c for c in deployment.containers if c.role in roles]
    for role in ("webapp", "coreapp"):
        if role in roles and not any(c.role == role for c in deployment.containers):
            where = f"Compose project {deployment.profile.deployment.compose_project}" \
                if deployment.profile.deployment.compose_project else deployment.docker.shown_as
            verdict.failed(deployment.name, f"no {ROLE_NAMES[role]} container found ({where})",
                           remediation="Check the profile's deployment.compose_project / deployment.containers, "
                                       "and that the deployment is created (docker-compose up -d).")
    if not running:
        return containers
    live = []
    for container in containers:
        if container.running:
            live.append(container)
        else:
            verdict.error(container.name, container.state_line())
    return live


def snapshots(deployment, verdict, roles=ALL_ROLES):
    """(container, what the audit read inside it) for each running container of these roles;
    a container that could not be read gets its own `error`, the others go on."""
    for container in containers_to_check(deployment, verdict, roles, running=True):
        try:
            yield container, deployment.inside(container)
        except FactUnavailable as exc:
            verdict.error(container.name, str(exc))
