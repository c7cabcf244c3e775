"""Deviations of the `version` section (VER-001): a deployment caught half-way through an
upgrade. `ver.mixed` recreates the first Coreapp that is not a Master from the images of
another client version (`MIXED_VERSION`), as `WA_API_VERSION=... docker-compose up -d wacore`
on one service would; restoring ("containers") recreates it from the deployment's version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.compose import ComposeProject
from lab.deviations.registry import deviation
from lab.images import ensure_images
from lab.topology import first_coreapp_service

if TYPE_CHECKING:
    from lab.deployment import Lab

MIXED_VERSION = "2.51.1"


@deviation("ver.mixed", f"the first Coreapp runs v{MIXED_VERSION}, the others the deployment's "
           "version (an upgrade half done)", {"containers"})
def mixed(lab: Lab) -> None:
    ensure_images(MIXED_VERSION)
    other = ComposeProject(lab.dir, lab.project, lab.compose_file.name, MIXED_VERSION)
    other.up([first_coreapp_service(lab.topology)])
