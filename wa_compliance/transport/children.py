"""The programs the audit starts from the facts' threads (sh on the host, ssh, sudo): their
environment, and the line of their error output that says why they failed.

The environment is a copy of the audit's own, taken once, at import, on the main thread: programs
are started from the facts' threads while pytest's thread sets PYTEST_CURRENT_TEST at every step.
A child that subprocess makes with vfork() and lets inherit the environment runs beside that
thread and execs with the very array it is rewriting: now and then the exec fails with EFAULT
("[Errno 14] Bad address: '/bin/sh'", seen in a 200-deployment run). Given its environment, the
child execs with an array built before it was made. (fork() instead of vfork() would do too, at
~30 ms a child for a process of this size.)
"""

from __future__ import annotations

import os

ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}


def last_line(stderr: str) -> str | None:
    """The last line a program printed, if any (ssh says why it failed there)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else None


def telling_line(stderr: str) -> str | None:
    """The line of a program's error output that says why: sudo's own first line (`sudo:
    unknown user x` comes before the lines it adds), else the last one. sudo's warning about
    the host's own name (a host missing from its /etc/hosts) is not a why: it goes on."""
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith("sudo: unable to resolve host")]
    return next((line for line in lines if line.startswith("sudo:")), last_line("\n".join(lines)))
