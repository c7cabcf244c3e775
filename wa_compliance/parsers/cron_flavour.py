"""Which crontab files the running cron daemon reads: the rules differ from one daemon to another.

Followed, each from its source:

* **Debian cron** (process `cron`; Debian, Ubuntu): vixie cron 3.0pl1 with Debian's patches —
  `crontab.cron_d_ignored_reason` (names of run-parts' classic set only, or LSB names with
  `cron -l`; root's, regular, not group/other-writable, one hard link).
* **cronie** (process `crond`; RHEL, Fedora, Arch, SUSE), `src/database.c` at cronie-crond/cronie
  5f9f16b (Dec 2025): `not_a_crontab()` skips names starting with `.` or `#`, ending with `~`,
  `.rpmsave`, `.rpmorig` or `.rpmnew` (a dot elsewhere is fine); `check_open()` wants a regular
  file owned by root whose mode & 07533 is 0400 — readable by its owner, executable by nobody,
  writable by neither group nor others, no set-id or sticky bit (0755 is refused) — unless crond
  runs with `-p`; no hard-link rule for /etc/cron.d.
* **busybox crond** (process `crond` whose executable is busybox; Alpine), `miscutils/crond.c`
  at mirror/busybox 371fe9f (2024): reads only `<dir>/<user>` in its crontab directory (`-c DIR`,
  default /var/spool/cron/crontabs): never /etc/crontab nor /etc/cron.d.

Another daemon (fcron, dcron, bcron, supercronic...) has rules not verified here: every file is
assumed read, and `assumption` says so rather than fail a file that daemon may read.
"""

from __future__ import annotations

import posixpath
import stat
from dataclasses import dataclass

from .crontab import cron_d_ignored_reason

_RPM_LEFTOVERS = (".rpmsave", ".rpmorig", ".rpmnew")


@dataclass(frozen=True)
class CronDaemon:
    """A running cron daemon, as the host's process table shows it."""

    pid: int
    name: str                        # the process name (comm)
    exe: str = ""                    # its executable, links resolved ("" when the auditing user cannot see it)
    arguments: tuple[str, ...] = ()  # its command line

    @property
    def flavour(self) -> str:
        if posixpath.basename(self.exe) == "busybox" or self.name == "busybox":
            return "busybox"
        if self.name == "cron":
            return "debian"
        if self.name in ("crond", "cronie"):
            return "cronie"
        return "other"

    @property
    def label(self) -> str:
        labels = {"debian": "Debian cron", "cronie": "cronie", "busybox": "busybox crond"}
        return labels.get(self.flavour) or self.name or "a cron daemon"

    @property
    def assumption(self) -> str | None:
        """What is assumed of this daemon's rules, when they are not known here."""
        if self.flavour != "other":
            return None
        return f"{self.name}'s rules for crontab files are not verified here: every file is assumed read"

    def ignores(self, path: str, mode: int | None, uid: int | None, links: int | None, in_cron_d: bool) -> str | None:
        """Why this daemon never reads the system crontab `path` (/etc/crontab or in /etc/cron.d); None: it reads it."""
        name = posixpath.basename(path)
        if self.flavour == "debian":
            if not in_cron_d:
                return None
            return cron_d_ignored_reason(name, mode, uid, nlink=links, lsbsysinit="-l" in self.arguments[1:])
        if self.flavour == "cronie":
            return _cronie_ignores(name, mode, uid, in_cron_d, permit_any="-p" in self.arguments[1:])
        if self.flavour == "busybox":
            return (f"busybox crond reads only the crontabs of users in its crontab directory ({_busybox_dir(self)}), "
                    f"never {posixpath.dirname(path) + '/' if in_cron_d else path}")
        return None


def _cronie_ignores(name: str, mode: int | None, uid: int | None, in_cron_d: bool, permit_any: bool) -> str | None:
    if in_cron_d:
        if name.startswith((".", "#")) or name.endswith("~") or name.endswith(_RPM_LEFTOVERS):
            return f"cronie skips {name!r}: a name starting with '.' or '#', or ending with '~' or an rpm leftover suffix"
    if permit_any:
        return None
    if mode is not None and not stat.S_ISREG(mode):
        return "not a regular file: cronie logs NOT REGULAR"
    if mode is not None and mode & 0o7533 != 0o400:
        return (f"mode {stat.S_IMODE(mode):04o}: cronie wants it readable by its owner, executable by nobody and "
                "writable by neither group nor others (cronie logs BAD FILE MODE)")
    if uid is not None and uid != 0:
        return f"not owned by root (owner uid {uid}): cronie logs WRONG FILE OWNER"
    return None


def _busybox_dir(daemon: CronDaemon) -> str:
    skip = 2 if daemon.arguments and posixpath.basename(daemon.arguments[0]) == "busybox" else 1   # busybox crond ...
    arguments = list(daemon.arguments[skip:])
    for index, argument in enumerate(arguments):
        if argument == "-c" and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("-c") and len(argument) > 2:
            return argument[2:]
    return "/var/spool/cron/crontabs"


def ignored_by_all(daemons: tuple[CronDaemon, ...], path: str, mode: int | None, uid: int | None,
                   links: int | None, in_cron_d: bool) -> str | None:
    """Why no running daemon reads the file; None when one does. With no daemon running (CRON-001
    says so), Debian's rules — the reference of the rest of the checker — apply."""
    reasons = [daemon.ignores(path, mode, uid, links, in_cron_d) for daemon in daemons or (CronDaemon(0, "cron"),)]
    return None if any(reason is None for reason in reasons) else "; ".join(dict.fromkeys(reasons))
