"""What a cron entry runs: its command, and the scripts on the host it runs, followed as sh would.

Operators often wrap their jobs in a script (`0 3 * * * root /usr/local/bin/wa-cleanup.sh`).
A command that runs a file by absolute path — directly, as `sh FILE`/`bash FILE`, or sourced
with `. FILE` — runs the commands in that file, which may run further files: followed to depth
3 (docs/checks.md: CRON-002, GC-004), from the files read in the crontabs' round trip (host_cron.py).

A file cron cannot run covers nothing and is named: one that does not exist, is not a regular
file, or is run by its path without an execute bit (the kernel refuses it, for root too). One
whose content is unknown (unreadable by the auditing user, over the size read, not valid shell,
written for another interpreter) is named as unknown: the caller cannot say what it runs.
A binary is a program, not a script: it is not followed and not named.

Not followed: a script named relative to the cron user's home or through PATH, or held in a
variable; arguments handed to a script (`$1`) are not bound.
"""

from __future__ import annotations

import posixpath
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..parsers.cleanup_command import CommandParseError, ScriptRun, scripts_run
from ..parsers.crontab import CronEntry
from .host_cron import SCRIPT_DEPTH, SCRIPT_LIMIT, HostFile

_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox"})
# What the checks look for in what cron runs: whether a script we cannot follow may hold it.
WATCHED = ("cleanup.sh", "/v1/services/message/gc")
_PATH = re.compile(r"/[A-Za-z0-9._@%+,~-][A-Za-z0-9._/@%+,~-]*")     # as host_cron's refs() finds them


@dataclass(frozen=True)
class Body:
    """Shell text cron runs for one entry: the entry's command, or a script it reaches."""

    text: str
    script: str | None               # the script holding the text; None for the entry's own command
    via: tuple[str, ...] = ()        # "path:line" of each script line that ran the next, outermost first

    def located(self, fragment: str) -> tuple[str, ...]:
        """The chain to a fragment of this text: `via`, then "script:line" when in a script."""
        if self.script is None:
            return self.via
        offset = self.text.find(fragment)
        line = f":{self.text.count(chr(10), 0, offset) + 1}" if offset >= 0 else ""
        return (*self.via, f"{self.script}{line}")


@dataclass(frozen=True)
class Unfollowed:
    """A script an entry runs that could not be followed."""

    via: tuple[str, ...]             # where it is run ("path:line" in scripts; () in the entry's command)
    path: str
    why: str
    unknown: bool                    # its commands are unknown (vs. certain: cron cannot run it at all)
    # which WATCHED words it, or a file it names, holds; None when its text could not be read
    mentions: frozenset[str] | None = None

    def may_hold(self, word: str) -> bool:
        """Whether what it runs may do what `word` stands for: a script whose commands are unknown
        but which names neither `word` nor any file holding it (e2scrub, sessionclean) cannot."""
        return self.mentions is None or word in self.mentions

    def describe(self, entry: str) -> str:
        return f"{' → '.join((entry, *self.via))} runs {self.path}, which {self.why}"


@dataclass(frozen=True)
class EntryCommands:
    bodies: tuple[Body, ...]         # the entry's command first, then each script it reaches
    unfollowed: tuple[Unfollowed, ...] = ()


@dataclass(frozen=True)
class CronCommands:
    """One cron entry and what it runs."""

    entry: CronEntry
    ignored: str | None              # why cron never runs the file holding it; None: it does
    runs: EntryCommands

    @property
    def where(self) -> str:
        return f"{self.entry.source}:{self.entry.line}"


def not_followed(commands: Iterable[CronCommands], word: str) -> list[tuple[str, bool]]:
    """Each script an entry cron runs could not be followed, described with its chain, and whether
    its commands are unknown (else cron cannot run it); an unknown one only when it may hold `word`
    (what the caller looks for), and none from files cron ignores."""
    return [(u.describe(cron.where), u.unknown) for cron in commands if not cron.ignored
            for u in cron.runs.unfollowed if not u.unknown or u.may_hold(word)]


def follow(command: str, files: Mapping[str, HostFile], depth: int = SCRIPT_DEPTH) -> EntryCommands:
    """The command and every script it runs, depth-first, each script once per chain."""
    bodies: list[Body] = []
    unfollowed: list[Unfollowed] = []

    def visit(body: Body, chain: tuple[str, ...]) -> None:
        bodies.append(body)
        try:
            runs = scripts_run(body.text)
        except CommandParseError as exc:
            if body.script is not None:
                unfollowed.append(Unfollowed(body.via, body.script, f"is not shell this reader follows ({exc})", True,
                                             _mentions(body.text.encode(), files)))
            return
        for run in runs:
            where = body.located(run.text)
            found = files.get(run.path) or files.get(posixpath.normpath(run.path))
            if found is None or found.state == "binary" or run.path in chain:
                continue             # a program (or a loop back): nothing to follow
            problem = _problem(run, found)
            if len(chain) == depth and not problem:
                problem = f"is more than {depth} scripts deep: not followed", True
            if problem:
                mentions = None if found.content is None else _mentions(found.content, files)
                unfollowed.append(Unfollowed(where, run.path, *problem, mentions=mentions))
            else:
                text = found.content.decode("utf-8", "replace")
                visit(Body(text, run.path, where), (*chain, run.path))

    visit(Body(command, None), ())
    return EntryCommands(tuple(bodies), tuple(unfollowed))


def _mentions(content: bytes, files: Mapping[str, HostFile]) -> frozenset[str]:
    """The WATCHED words in `content` or in the files it names, and those they name, as read."""
    found: set[str] = set()
    seen: set[str] = set()
    texts = [content]
    while texts:
        text = texts.pop().decode("utf-8", "replace")
        found.update(word for word in WATCHED if word in text)
        for path in set(_PATH.findall(text)) - seen:
            seen.add(path)
            named = files.get(path)
            if named is not None and named.content is not None:
                texts.append(named.content)
    return frozenset(found)


def _problem(run: ScriptRun, found: HostFile) -> tuple[str, bool] | None:
    """Why cron cannot run it (certain), or why its commands are unknown; None to follow it."""
    if found.state == "missing":
        return "does not exist", False
    if found.state == "other":
        return "is not a regular file", False
    if run.directly and found.mode is not None and not found.mode & 0o111:
        return f"is not executable (mode {stat.S_IMODE(found.mode):04o}): cron cannot run it", False
    if found.state == "unreadable":
        return "the auditing user cannot read", True
    if found.state == "large":
        return f"is larger than {SCRIPT_LIMIT // 1024} KiB: not read", True
    interpreter = _interpreter(found.content or b"")
    if run.directly and interpreter and interpreter not in _SHELLS:
        return f"is a {interpreter} script: not read", True
    return None


def _interpreter(content: bytes) -> str | None:
    """The program of a `#!` line (through `env`); None without one: the kernel refuses such a
    file (ENOEXEC) and the sh cron started runs it itself."""
    if not content.startswith(b"#!"):
        return None
    words = content[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if words and posixpath.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return posixpath.basename(words[0]) if words else None
