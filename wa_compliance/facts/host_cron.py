"""The host's cron: which daemon runs, and every crontab it reads, in one round trip.

Sources (SPEC §3 cron): root's crontab, `/etc/crontab`, `/etc/cron.d/*`, plus the profile's
`cron.users` (their crontabs) and `cron.files`. A user's crontab lives in the spool of the
host's cron flavour: Debian `/var/spool/cron/crontabs/USER`, RHEL `/var/spool/cron/USER`,
Alpine/busybox `/etc/crontabs/USER`; all three are tried.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import FactUnavailable

SYSTEM_CRONTAB = "/etc/crontab"
CRON_D = "/etc/cron.d"
SPOOLS = ("/var/spool/cron/crontabs", "/var/spool/cron", "/etc/crontabs")
# Process names of the cron daemons an operator may run (Debian, RHEL/cronie, busybox, fcron...).
DAEMONS = ("cron", "crond", "cronie", "fcron", "dcron", "bcron-sched", "supercronic")

# Arguments: "file:PATH" reads a file, "dir:PATH" every regular file in a directory.
_SCRIPT = r"""
b64() { base64 | tr -d '\n'; echo; }
show() {  # path: state, mode, uid, content
    p64=$(printf %s "$1" | b64)
    if [ ! -e "$1" ]; then echo "file $p64 missing"; return; fi
    meta=$(stat -L -c '%f %u %h %F' -- "$1" | tr ' ' _)
    if [ ! -f "$1" ]; then echo "file $p64 other $meta"; return; fi
    if [ -r "$1" ]; then echo "file $p64 readable $meta $(b64 < "$1")"; else echo "file $p64 unreadable $meta"; fi
}
echo "wa-cron 1"
for d in /proc/[0-9]*; do
    read -r comm < "$d/comm" 2>/dev/null || continue
    case " $DAEMONS " in *" $comm "*) ;; *) continue;; esac
    # a daemon that exited but was not reaped yet (state Z) runs nothing
    read -r st < "$d/stat" 2>/dev/null || continue
    st=${st##*) }
    [ "${st%% *}" = Z ] || echo "proc ${d#/proc/} $comm"
done
for arg in "$@"; do
    case "$arg" in
    file:*) show "${arg#file:}";;
    dir:*) d=${arg#dir:}
        if [ -d "$d" ]; then
            echo "dir $(printf %s "$d" | b64) present"
            for f in "$d"/* "$d"/.[!.]*; do [ -e "$f" ] && show "$f"; done
        else
            echo "dir $(printf %s "$d" | b64) missing"
        fi;;
    esac
done
echo "end"
"""


@dataclass(frozen=True)
class CronSource:
    """One crontab as found on the host."""

    path: str
    state: str                   # readable | unreadable | missing | other (not a regular file)
    system: bool                 # /etc/crontab and cron.d: a user field after the schedule
    mode: int | None = None          # st_mode, file type included
    uid: int | None = None
    links: int | None = None
    content: bytes | None = None
    in_cron_d: bool = False


@dataclass(frozen=True)
class HostCron:
    daemons: tuple[tuple[int, str], ...]       # (pid, process name)
    sources: tuple[CronSource, ...]            # found or unreadable (missing spool candidates are dropped)
    missing_dirs: tuple[str, ...]


def cron_arguments(users: list[str], files: list[str]) -> list[str]:
    spool = [f"file:{spool}/{user}" for user in ["root", *users] for spool in SPOOLS]
    return [*spool, f"file:{SYSTEM_CRONTAB}", f"dir:{CRON_D}", *(f"file:{path}" for path in files)]


def read_host_cron(host, users: list[str], files: list[str]) -> HostCron:
    script = f"DAEMONS='{' '.join(DAEMONS)}'\n" + _SCRIPT
    result = host.run(script, *cron_arguments(users, files))
    lines = result.stdout.splitlines()
    if not lines or lines[0] != "wa-cron 1" or lines[-1] != "end":
        said = " ".join((result.stderr or result.stdout).split())[:200]     # one line, whatever the host printed
        raise FactUnavailable(f"cannot read the cron configuration on {host.target}: {said}", "cron")
    try:
        return _parse(lines[1:-1], set(files))
    except (ValueError, IndexError, binascii.Error) as exc:     # a record cut short, a field that is no number
        raise FactUnavailable(f"cannot read the cron configuration on {host.target}: garbled ({exc})", "cron") from None


def _parse(lines: list[str], extra_files: set[str]) -> HostCron:
    daemons, sources, missing_dirs = [], {}, []
    for line in lines:
        kind, *words = line.split(" ")
        if kind == "proc":
            daemons.append((int(words[0]), words[1]))
        elif kind == "dir" and words[1] == "missing":
            missing_dirs.append(_text(words[0]))
        elif kind == "file":
            source = _source(_text(words[0]), words[1:], extra_files)
            if source.state != "missing" or source.path in extra_files or source.path == SYSTEM_CRONTAB:
                sources.setdefault(source.path, source)
    return HostCron(tuple(daemons), tuple(sources.values()), tuple(missing_dirs))


def _source(path: str, words: list[str], extra_files: set[str]) -> CronSource:
    in_cron_d = path.startswith(CRON_D + "/")
    # /etc/crontab, cron.d and files the profile adds are system crontabs (with a user field);
    # spool files are users' crontabs.
    system = not any(path.startswith(spool + "/") for spool in SPOOLS) or in_cron_d
    state = words[0]
    if state == "missing":
        return CronSource(path, state, system, in_cron_d=in_cron_d)
    mode, uid, links, _kind = words[1].split("_", 3)
    content = base64.b64decode(words[2], validate=True) if state == "readable" else None
    return CronSource(path, state, system, int(mode, 16), int(uid), int(links), content, in_cron_d)


def _text(encoded: str) -> str:
    return base64.b64decode(encoded, validate=True).decode("utf-8", "replace")
