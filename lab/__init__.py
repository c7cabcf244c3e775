"""The wa-compliance test lab: stand-in WhatsApp Business API deployments on the local Docker
engine, with real MariaDB/PostgreSQL databases, and switchable misconfigurations (lab/README.md).

    from lab import Lab
    lab = Lab(project="biz", topology="single", engine="mysql")
    lab.up()
    with lab.deviation("env.drift"):
        ...  # run a check: it must fail

Command line: `python -m lab --help`. Machine setup: `lab/install.sh`.
"""

from lab.deployment import Lab, LabStatus
from lab.errors import LabError
from lab.profiles import LAB_PROFILES, REMOVE

__all__ = ["Lab", "LabStatus", "LabError", "LAB_PROFILES", "REMOVE"]
