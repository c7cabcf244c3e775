"""The host's cron: which daemon runs, every crontab it reads, and the scripts they run, in one
round trip.

Sources (docs/checks.md, cron): root's crontab, `/etc/crontab`, `/etc/cron.d/*`, plus the profile's
`cron.users` (their crontabs) and `cron.files`. A user's crontab lives in the spool of the
host's cron flavour: Debian `/var/spool/cron/crontabs/USER`, RHEL `/var/spool/cron/USER`,
Alpine/busybox `/etc/crontabs/USER`; all three are tried.

Scripts: the host side cannot parse shell, so it reads generously and Python decides. Every
absolute path a crontab mentions is looked at, then every path those files mention, three
levels deep (scripts run by scripts, to depth 3: docs/checks.md, CRON-002): text files up to 256 KiB are read, a
binary (a NUL in its first 2 KiB: /usr/bin/docker) only named so. Which of them cron actually
runs as scripts is decided by the shell reader (cron_commands.py); the others are never used.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import FactUnavailable
from ..parsers.cron_flavour import CronDaemon
from .shell_fields import SH_FUNCTIONS, path_field

SYSTEM_CRONTAB = "/etc/crontab"
CRON_D = "/etc/cron.d"
SPOOLS = ("/var/spool/cron/crontabs", "/var/spool/cron", "/etc/crontabs")
# Process names of the cron daemons an operator may run (Debian, RHEL/cronie, busybox, fcron...).
DAEMONS = ("cron", "crond", "cronie", "fcron", "dcron", "bcron-sched", "supercronic")

SCRIPT_LIMIT = 256 * 1024        # bytes: a larger file is named, not read
SCRIPT_DEPTH = 3
BINARY_PROBE = 2048              # bytes: a NUL among the first makes a file a program, not a script
MOST_PATHS = 400                 # paths looked at, at most: a crontab is not a file list

# Arguments: "file:PATH" reads a file, "dir:PATH" every regular file in a directory.
_SCRIPT = r"""
export LC_ALL=C
b64_setup
refs() {  # the absolute paths a text mentions, one per line
    tr -c 'A-Za-z0-9._/@%+,~-' '\n' | grep '^/[A-Za-z0-9._@%+,~-]' | sort -u
}
show() {  # a crontab: state, raw mode, uid, links, content
    p=$(name "$1")
    if [ ! -e "$1" ]; then echo "file $p missing"; return; fi
    meta=$(stat -L -c '%f_%u_%h' -- "$1")
    if [ ! -f "$1" ]; then echo "file $p other $meta"; return; fi
    if [ -r "$1" ]; then
        echo "file $p readable $meta $(b64 < "$1")"
        case "$p" in :*) texts="$texts $1";; esac     # the others: odd_text_of
    else echo "file $p unreadable $meta"; fi
}
crontabs() {  # run $1 on every crontab the arguments name
    run=$1; shift
    for arg in "$@"; do
        case "$arg" in
        file:*) $run "${arg#file:}";;
        dir:*) for f in "${arg#dir:}"/* "${arg#dir:}"/.[!.]*; do [ -e "$f" ] && $run "$f"; done;;
        esac
    done
}
odd_text_of() {  # a readable crontab whose name is not made of plain characters
    case "$1" in *[!A-Za-z0-9._/@%+,~-]*) [ -f "$1" ] && [ -r "$1" ] && cat -- "$1";; esac
}
scripts() {  # the files a level of crontabs and scripts mentions (plain characters only), in one stat
    metas=$(stat -L -c '%n %f_%u_%s' -- "$@" 2>/dev/null)
    texts=""
    set -f; old_ifs=$IFS; IFS='
'
    set -- $metas
    IFS=$old_ifs; set +f
    for line; do
        p=${line%% *}; meta=${line#* }; size=${meta##*_}
        if [ ! -f "$p" ]; then echo "script :$p other $meta"; continue; fi
        if [ ! -r "$p" ]; then echo "script :$p unreadable $meta"; continue; fi
        # a program (a NUL in its first PROBE bytes: /usr/bin/docker) is named so, unread; an ELF
        # one is told by its first bytes alone, without a program started
        if [ "$size" -gt $LIMIT ]; then first=$(head -c 4 < "$p"); else first=; IFS= read -r first < "$p"; fi
        case "$first" in "$elf"*) echo "script :$p binary $meta"; continue;; esac
        head=$size; [ "$size" -gt $PROBE ] && head=$PROBE
        if [ $(head -c $PROBE < "$p" | tr -d '\000' | wc -c) -lt $head ]; then
            echo "script :$p binary $meta"; continue
        fi
        if [ "$size" -gt $LIMIT ]; then echo "script :$p large $meta"; continue; fi
        echo "script :$p readable $meta $(b64 < "$p")"
        texts="$texts $p"
    done
}
echo "wa-cron 1"
for d in /proc/[0-9]*; do
    read -r comm < "$d/comm" 2>/dev/null || continue
    case " $DAEMONS busybox " in *" $comm "*) ;; *) continue;; esac
    # a daemon that exited but was not reaped yet (state Z) runs nothing
    read -r st < "$d/stat" 2>/dev/null || continue
    st=${st##*) }
    [ "${st%% *}" = Z ] && continue
    # its executable (busybox's crond is a link to busybox), and its command line (NUL-separated)
    exe=$(readlink "$d/exe" 2>/dev/null) || {      # another user's process: resolve its argv[0]
        arg0=$(tr '\000' '\n' < "$d/cmdline" 2>/dev/null | head -n 1)
        case "$arg0" in /*) ;; *) arg0=$(command -v "$arg0" 2>/dev/null);; esac
        exe=$(readlink -f "$arg0" 2>/dev/null) || exe=""
    }
    echo "proc ${d#/proc/} $comm $(printf %s "$exe" | b64) $(b64 < "$d/cmdline" 2>/dev/null)"
done
for arg in "$@"; do
    case "$arg" in
    dir:*) if [ -d "${arg#dir:}" ]; then echo "dir $(name "${arg#dir:}") present"
           else echo "dir $(name "${arg#dir:}") missing"; fi;;
    esac
done
texts=""
crontabs show "$@"
# the paths the crontabs mention, then those the scripts among them mention: one `refs` a level
todo=$( { [ -z "$texts" ] || cat -- $texts; crontabs odd_text_of "$@"; } | refs | tr '\n' ' ')
seen=" "; count=0
level=0
elf=$(printf '\177ELF')
while [ $level -lt $DEPTH ] && [ -n "$todo" ]; do
    level=$((level + 1))
    found=""
    for p in $todo; do
        case "$seen" in *" $p "*) continue;; esac
        count=$((count + 1)); [ $count -le $MOST ] || break
        seen="$seen$p "
        case "$p" in /dev/*|/proc/*|/sys/*) continue;; esac
        if [ -e "$p" ]; then found="$found $p"; else echo "script :$p missing"; fi
    done
    texts=""
    [ -n "$found" ] && scripts $found
    [ $count -le $MOST ] || break
    todo=""
    [ -n "$texts" ] && todo=$(cat -- $texts | refs | tr '\n' ' ')
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
class HostFile:
    """A file a crontab, or a script, mentions by absolute path: maybe a script cron runs."""

    path: str
    state: str                   # readable | unreadable | missing | other | binary | large
    mode: int | None = None
    uid: int | None = None
    size: int | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class HostCron:
    daemons: tuple[CronDaemon, ...]
    sources: tuple[CronSource, ...]            # found or unreadable (missing spool candidates are dropped)
    missing_dirs: tuple[str, ...]
    files: tuple[HostFile, ...] = ()           # what the crontabs mention, and what that mentions, 3 deep


def cron_arguments(users: list[str], files: list[str]) -> list[str]:
    spool = [f"file:{spool}/{user}" for user in ["root", *users] for spool in SPOOLS]
    return [*spool, f"file:{SYSTEM_CRONTAB}", f"dir:{CRON_D}", *(f"file:{path}" for path in files)]


def read_host_cron(host, users: list[str], files: list[str]) -> HostCron:
    script = (f"DAEMONS='{' '.join(DAEMONS)}' LIMIT={SCRIPT_LIMIT} PROBE={BINARY_PROBE} DEPTH={SCRIPT_DEPTH} "
              f"MOST={MOST_PATHS}\n"
              + SH_FUNCTIONS + _SCRIPT)
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
    daemons, sources, missing_dirs, files = [], {}, [], []
    for line in lines:
        kind, *words = line.split(" ")
        if kind == "proc":
            daemon = _daemon(words)
            if daemon.name != "busybox" or daemon.arguments[1:2] == ("crond",):
                daemons.append(daemon)
        elif kind == "dir" and words[1] == "missing":
            missing_dirs.append(path_field(words[0]))
        elif kind == "file":
            source = _source(path_field(words[0]), words[1:], extra_files)
            if source.state != "missing" or source.path in extra_files or source.path == SYSTEM_CRONTAB:
                sources.setdefault(source.path, source)
        elif kind == "script":
            files.append(_host_file(path_field(words[0]), words[1:]))
    return HostCron(tuple(daemons), tuple(sources.values()), tuple(missing_dirs), tuple(files))


def _daemon(words: list[str]) -> CronDaemon:
    exe = path_field(words[2]) if len(words) > 2 else ""
    arguments = base64.b64decode(words[3], validate=True).decode("utf-8", "replace") if len(words) > 3 else ""
    return CronDaemon(int(words[0]), words[1], exe, tuple(arguments.rstrip("\0").split("\0")) if arguments else ())


def _host_file(path: str, words: list[str]) -> HostFile:
    if words[0] == "missing":
        return HostFile(path, "missing")
    mode, uid, size = words[1].split("_", 2)
    content = base64.b64decode(words[2], validate=True) if words[0] == "readable" else None
    return HostFile(path, words[0], int(mode, 16), int(uid), int(size), content)


def _source(path: str, words: list[str], extra_files: set[str]) -> CronSource:
    in_cron_d = path.startswith(CRON_D + "/")
    # /etc/crontab, cron.d and files the profile adds are system crontabs (with a user field);
    # spool files are users' crontabs.
    system = not any(path.startswith(spool + "/") for spool in SPOOLS) or in_cron_d
    state = words[0]
    if state == "missing":
        return CronSource(path, state, system, in_cron_d=in_cron_d)
    mode, uid, links, *_ = words[1].split("_")
    content = base64.b64decode(words[2], validate=True) if state == "readable" else None
    return CronSource(path, state, system, int(mode, 16), int(uid), int(links), content, in_cron_d)


