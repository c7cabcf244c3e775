"""Switchable misconfigurations, one module per check section (lab/README.md).

Importing this package registers every deviation; see registry.py for how they work.
"""

from lab.deviations.registry import REGISTRY, Deviation, apply, get, names, restore, touched_by
from lab.deviations import env  # noqa: F401  (registers the env.* deviations)
from lab.deviations import volumes  # noqa: F401  (registers the vol.* deviations)
from lab.deviations import logs  # noqa: F401  (registers the log.* deviations)
from lab.deviations import cron  # noqa: F401  (registers the cron.* deviations)
from lab.deviations import gc  # noqa: F401  (registers the gc.* deviations)
from lab.deviations import version  # noqa: F401  (registers the ver.* deviations)

__all__ = ["REGISTRY", "Deviation", "apply", "get", "names", "restore", "touched_by"]
