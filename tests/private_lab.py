"""A lab deployment of a test module's own, so its deviations disturb no other audit."""

from __future__ import annotations

import os

from lab import Lab


def private_lab(tmp_path_factory, name: str, **options):
    """A deployment of a test module's own (own Compose project and root), up for the module:
    `yield from private_lab(tmp_path_factory, "labapi")` in a module-scoped fixture."""
    deployment = Lab(project=f"{name}{os.getpid()}", topology="single", engine="mysql",
                     root=tmp_path_factory.mktemp("wa-lab"), **options)
    deployment.up()
    yield deployment
    deployment.down()
