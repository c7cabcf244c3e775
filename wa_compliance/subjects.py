"""The hosts and containers a check runs for, and what a check says when they are not there.

>>> for container in containers_to_check(deployment, verdict, running=True):
...     verdict.judge(container.subject, problems=[])
"""

from __future__ import annotations

from .errors import FactUnavailable

ROLE_NAMES = {"webapp": "Webapp", "coreapp": "Coreapp", "master": "Master"}
ALL_ROLES = ("webapp", "coreapp", "master")


def each_host(deployment, verdict, read=lambda host: None):
    """(host, what `read(host)` gave) for each host of the deployment; a host where it fails is
    `error`, named, and the others go on. One host alone: the failure is the check's own."""
    if len(deployment.hosts) == 1:
        host = deployment.hosts[0]
        yield host, read(host)
        return
    for host in deployment.hosts:
        try:
            value = read(host)
        except FactUnavailable as exc:
            verdict.error(host.subject(exc.subject) if exc.subject else host.label, f"{host.label}: {exc}")
            continue
        yield host, value


def unreached(deployment) -> str:
    """' (not reached: wa-c)' when hosts could not be read: a cross-host verdict covers only
    the others, and never passes on them alone."""
    names = list(getattr(deployment, "unreachable", {}) or {})
    return f" (not reached: {', '.join(names)})" if names else ""


def containers_to_check(deployment, verdict, roles=ALL_ROLES, running=False):
    """Containers of these roles, on every host; records a failure when the deployment has no
    Webapp or no Coreapp at all, an error for each host whose containers cannot be listed, and
    one for each stopped container when the check needs it running."""
    everything = [c for _, found in each_host(deployment, verdict, lambda h: h.containers) for c in found]
    containers = [c for c in everything if c.role in roles]
    complete = not unreached(deployment)
    for role in ("webapp", "coreapp"):
        if complete and role in roles and not any(c.role == role for c in everything):
            where = f"Compose project {deployment.profile.deployment.compose_project}" \
                if deployment.profile.deployment.compose_project else _engines(deployment)
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
            verdict.error(container.subject, container.state_line())
    return live


def _engines(deployment) -> str:
    return ", ".join(host.docker.shown_as for host in deployment.hosts)


def snapshots(deployment, verdict, roles=ALL_ROLES):
    """(container, what the audit read inside it) for each running container of these roles;
    a container that could not be read gets its own `error`, the others go on."""
    for container in containers_to_check(deployment, verdict, roles, running=True):
        try:
            yield container, deployment.inside(container)
        except FactUnavailable as exc:
            verdict.error(container.subject, str(exc))
