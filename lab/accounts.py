"""A system account for auditing as someone other than root (tests/lab/test_become.py): it logs
in over SSH with the lab's key (the lab's sshd reads one authorized_keys file for every user),
is in no group that opens Docker's socket or reads db.env, and may run anything as root through
`sudo` without a password once `allow_sudo()` wrote its sudoers file."""

from __future__ import annotations

import pwd
from pathlib import Path

from lab.commands import run

NAME = "wa-lab-become"
SUDOERS = Path("/etc/sudoers.d") / NAME


def create() -> str:
    """The account, made if missing: `*` as its password, which refuses every password and,
    unlike useradd's `!`, does not lock it for sshd's public-key logins."""
    if not exists():
        run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh",
             "--password", "*", NAME])
    return NAME


def allow_sudo() -> None:
    SUDOERS.write_text(f"{NAME} ALL=(ALL) NOPASSWD: ALL\n")
    SUDOERS.chmod(0o440)


def forbid_sudo() -> None:
    SUDOERS.unlink(missing_ok=True)


def exists() -> bool:
    try:
        pwd.getpwnam(NAME)
        return True
    except KeyError:
        return False


def leftovers() -> list[str]:
    return [piece for piece, there in ((f"account {NAME}", exists()), (str(SUDOERS), SUDOERS.exists())) if there]


def remove(_pieces=None) -> None:
    forbid_sudo()
    if exists():
        run(["userdel", NAME])
