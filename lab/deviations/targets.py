"""Which container a deviation changes, when it changes one: the Webapp (waweb), or the first
Coreapp that is not a Master (wacore, or wacore1 in Multiconnect). Fixed choices, so a test
knows where to look (`Lab.affected_webapp()`, `Lab.affected_coreapp()`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.topology import SERVICE_ROLES, first_coreapp_service

if TYPE_CHECKING:
    from lab.deployment import Lab


def affected_service(lab: Lab) -> str:
    return first_coreapp_service(lab.topology)


def affected_container(lab: Lab) -> str:
    """The container Compose v1 names for the affected Coreapp service, e.g. biz_wacore_1."""
    return lab.container_name(affected_service(lab))


def webapp_service(lab: Lab) -> str:
    return next(s for s, role in SERVICE_ROLES[lab.topology].items() if role == "webapp")


def affected_webapp(lab: Lab) -> str:
    """The Webapp container, e.g. biz_waweb_1."""
    return lab.container_name(webapp_service(lab))
