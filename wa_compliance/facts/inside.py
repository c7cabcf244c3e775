"""What the audit reads inside one container, in one `docker exec`.

Every section that looks inside a container (logs, cron's cleanup.sh) reads from this one
snapshot, so an audit costs one exec per container whatever the number of checks (VOL-004's
probe rides along: facts/media_probe.py).
The script only reads: `stat`, `cat`, `[ -w ]` (access(2), nothing is written) and
`logrotate -d` (debug mode: changes neither the logs nor logrotate's state file).
It runs under busybox sh as well as dash/bash, and prints one record per line; file
contents travel base64-encoded, and names too unless made of plain characters (shell_fields.py),
so no byte can break the framing.
"""

from __future__ import annotations

import base64
import binascii
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import FactUnavailable
from .shell_fields import SH_FUNCTIONS, path_field

LOGROTATE_MAIN = "/etc/logrotate.conf"
LOGROTATE_DIR = "/etc/logrotate.d"

# $1 log dir, $2 "logrotate" to read the logrotate configuration (Webapp containers), then the
# database TLS files to read (the Coreapp whose files the audit connects with).
_SCRIPT = SH_FUNCTIONS + r"""
folder() {  # tag dir: the directory's state
    if [ ! -e "$2" ]; then echo "dir $1 missing"; return; fi
    if [ ! -d "$2" ]; then echo "dir $1 notdir"; return; fi
    w=0; [ -w "$2" ] && w=1
    echo "dir $1 present $w"
}
conf_file() {  # path: a logrotate file and, recursively, what it includes
    case " $seen " in *" $1 "*) return;; esac
    seen="$seen $1"
    if [ -d "$1" ]; then
        echo "confdir $(name "$1")"
        for f in "$1"/*; do [ -e "$f" ] && echo "confentry $(name "${f##*/}")"; done
        for f in "$1"/*; do [ -f "$f" ] && conf_file "$f"; done
    elif [ -f "$1" ]; then
        if [ -r "$1" ]; then
            echo "conf $(stat -c '%a %u' -- "$1") $(name "$1") $(b64 < "$1")"
            for inc in $(sed -n 's/^[[:space:]]*include[[:space:]][[:space:]]*\([^[:space:]#]*\).*/\1/p' "$1" | tr -d '"'"'"); do
                conf_file "$inc"
            done
        else
            echo "conf unreadable - $(name "$1") -"
        fi
    fi
}
echo "wa-inside 1"
# the user the container runs as, from the shell's own status: no program started for it
uid=; while read -r key value rest; do [ "$key" = Uid: ] && { uid=$value; break; }; done < /proc/self/status
echo "user ${uid:-$(id -u)}"
folder log "$1"
folder archive "$1/archive"
c=/opt/whatsapp/bin/cleanup.sh
if [ -e "$c" ]; then
    x=0; [ -x "$c" ] && [ -f "$c" ] && x=1
    echo "cleanup present $x"
else
    echo "cleanup missing"
fi
# one stat for the log folder, its archive and cleanup.sh (size, raw mode, mtime, name: relative
# to the log folder, cleanup.sh's absolute): Coreapp never deletes its archives, there may be thousands
(
    if cd "$1" 2>/dev/null; then set -- * .[!.]* archive/* archive/.[!.]*; else set --; fi
    [ -e "$c" ] && set -- "$@" "$c"
    [ $# -gt 0 ] && stat -c "entry %s %f %Y %n" -- "$@" 2>/dev/null
)
[ "$2" = logrotate ] || [ $# -gt 2 ] && b64_setup
if [ "$2" = logrotate ]; then
    seen=
    lr=$(command -v logrotate 2>/dev/null || true)
    echo "logrotate ${lr:--}"
    [ -e /etc/logrotate.conf ] && conf_file /etc/logrotate.conf
    [ -d /etc/logrotate.d ] && conf_file /etc/logrotate.d
    # the main file, else the folder as an image's own rotation script would hand it over
    d=; [ -d /etc/logrotate.d ] && d=/etc/logrotate.d; [ -f /etc/logrotate.conf ] && d=/etc/logrotate.conf
    if [ -n "$lr" ] && [ -n "$d" ]; then
        out=$(timeout 15 "$lr" -d "$d" 2>&1); rc=$?
        echo "debug $rc $(printf '%s\n' "$out" | b64)"
    fi
fi
shift 2
for f in "$@"; do  # the database TLS files db.env names (Coreapp): read, never printed elsewhere
    if [ ! -e "$f" ]; then echo "tls $(name "$f") missing"
    elif [ ! -f "$f" ] || [ ! -r "$f" ]; then echo "tls $(name "$f") unreadable"
    else echo "tls $(name "$f") present $(b64 < "$f")"; fi
done
echo "end"
"""


@dataclass(frozen=True)
class Entry:
    """A file or directory in the log or archive folder."""

    name: str
    size: int
    mode: int         # st_mode, type bits included
    mtime: int

    @property
    def is_file(self) -> bool:
        return self.mode & 0o170000 == 0o100000


@dataclass(frozen=True)
class Folder:
    state: str                      # present | missing | notdir
    writable: bool = False
    entries: tuple[Entry, ...] = ()

    @property
    def files(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.is_file)


@dataclass(frozen=True)
class CleanupScript:
    present: bool
    executable: bool = False
    mode: str = ""                  # '644', and the file type: 'regular_file'
    kind: str = ""


@dataclass(frozen=True)
class LogrotateFiles:
    """The Webapp's logrotate configuration as read inside it."""

    binary: str | None
    files: dict[str, bytes | None] = field(default_factory=dict)      # None: unreadable
    modes: dict[str, tuple[int, int]] = field(default_factory=dict)   # path -> (mode, uid)
    directories: dict[str, list[str]] = field(default_factory=dict)
    debug_rc: int | None = None     # `logrotate -d` exit code; None when it was not run
    debug_output: str = ""

    @property
    def debugged(self) -> str:
        """What `logrotate -d` was run on: the main file, else the folder."""
        return LOGROTATE_MAIN if LOGROTATE_MAIN in self.files else LOGROTATE_DIR


@dataclass(frozen=True)
class InsideSnapshot:
    container: str
    uid: int | None
    log_dir: Folder
    archive: Folder
    cleanup: CleanupScript
    logrotate: LogrotateFiles | None     # only gathered in Webapp containers
    # path -> content, or "missing" / "unreadable": the TLS files asked for (a key among them: never shown)
    tls_files: Mapping[str, bytes | str] = field(default_factory=dict, repr=False)


def live_logs(entries) -> list:
    """Files directly in the log folder that are logs being written (*.log)."""
    return [e for e in entries if e.is_file and e.name.endswith(".log")]


def inside_argv(log_dir: str, read_logrotate: bool, tls_files: Sequence[str] = ()) -> list[str]:
    return ["sh", "-c", _SCRIPT, "wa-inside", log_dir, "logrotate" if read_logrotate else "-", *tls_files]


def output_complete(output: str) -> bool:
    """Both ends of the script's output arrived."""
    lines = output.splitlines()
    return bool(lines) and lines[0] == "wa-inside 1" and lines[-1] == "end"


def parse_inside(container: str, output: str) -> InsideSnapshot:
    """The script's records as a snapshot; anything garbled is FactUnavailable."""
    lines = output.splitlines()
    if not output_complete(output):
        raise FactUnavailable(f"cannot read inside {container}: {_first_words(output)}", container)
    try:
        return _Reader(container).read(lines[1:-1])
    except (ValueError, IndexError, KeyError, AttributeError, binascii.Error) as exc:
        # records out of order or cut short: the container's sh is not the one we expect
        raise FactUnavailable(f"cannot read inside {container}: garbled record ({exc!r})", container) from None


class _Reader:
    def __init__(self, container: str):
        self.container = container
        self.uid = None
        self.folders: dict[str, list] = {"log": ["missing", False, []], "archive": ["missing", False, []]}
        self.cleanup = CleanupScript(False)
        self.logrotate: LogrotateFiles | None = None
        self.current_dir: str | None = None
        self.tls_files: dict[str, bytes | str] = {}

    def read(self, lines: list[str]) -> InsideSnapshot:
        for line in lines:
            kind, _, rest = line.partition(" ")
            # a file name holding a newline continues on a line of its own: not a record
            reader = getattr(self, f"_{kind}", None) if kind in _RECORDS else None
            if reader:
                reader(rest.split(" "))
        log, archive = (Folder(s, w, tuple(e)) for s, w, e in self.folders.values())
        return InsideSnapshot(self.container, self.uid, log, archive, self.cleanup, self.logrotate, self.tls_files)

    def _user(self, words):
        self.uid = int(words[0]) if words[0].isdigit() else None

    def _dir(self, words):
        self.folders[words[0]][:2] = [words[1], words[2:3] == ["1"]]

    def _entry(self, words):
        size, mode, mtime, *name = words
        entry = Entry(" ".join(name), int(size), int(mode, 16), int(mtime))
        if entry.name.startswith("/"):               # cleanup.sh
            if self.cleanup.present:
                self.cleanup = CleanupScript(True, self.cleanup.executable, f"{entry.mode & 0o7777:o}",
                                             _file_type(entry))
        elif entry.name.startswith("archive/"):
            self.folders["archive"][2].append(Entry(entry.name[len("archive/"):], entry.size, entry.mode, entry.mtime))
        else:
            self.folders["log"][2].append(entry)

    def _cleanup(self, words):
        self.cleanup = CleanupScript(words[0] == "present", words[1:2] == ["1"])

    def _logrotate(self, words):
        self.logrotate = LogrotateFiles(None if words[0] == "-" else words[0])

    def _confdir(self, words):
        self.current_dir = path_field(words[0])
        self.logrotate.directories[self.current_dir] = []

    def _confentry(self, words):
        self.logrotate.directories[self.current_dir].append(path_field(words[0]))

    def _conf(self, words):
        mode, uid, path, content = words
        path = path_field(path)
        if mode == "unreadable":
            self.logrotate.files[path] = None
            return
        self.logrotate.files[path] = base64.b64decode(content, validate=True)
        self.logrotate.modes[path] = (int(mode, 8), int(uid))

    def _debug(self, words):
        output = base64.b64decode(words[1], validate=True).decode("utf-8", "replace")
        self.logrotate = LogrotateFiles(self.logrotate.binary, self.logrotate.files, self.logrotate.modes,
                                        self.logrotate.directories, int(words[0]), output)
    def _tls(self, words):
        path, state = path_field(words[0]), words[1]
        if state == "present":
            self.tls_files[path] = base64.b64decode(words[2], validate=True)
        else:
            self.tls_files[path] = "missing" if state == "missing" else "unreadable"


_RECORDS = {"user", "dir", "entry", "cleanup", "logrotate", "confdir", "confentry", "conf", "debug", "tls"}


def _file_type(entry: Entry) -> str:
    """As GNU stat's %F names it."""
    kind = stat.S_IFMT(entry.mode)
    if kind == stat.S_IFREG:
        return "regular file" if entry.size else "regular empty file"
    return _TYPES.get(kind, "weird file")


_TYPES = {stat.S_IFDIR: "directory", stat.S_IFLNK: "symbolic link", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket",
          stat.S_IFCHR: "character special file", stat.S_IFBLK: "block special file"}


def _first_words(output: str) -> str:
    return " ".join(output.split())[:200] or "no output"
