"""Crontabs read as Debian's cron reads them.

The reference is the cron that Debian bookworm ships, vixie cron 3.0pl1 with Debian's patches
(3.0pl1-162): user.c load_user() reads a file line by line with env.c load_env() and entry.c
load_entry(), on top of misc.c's skip_comments() and get_string(); do_command.c cuts the command
at '%'. This module ports those functions, so what is accepted or rejected here is what that
cron accepts or rejects (checked against the C code and `crontab -n`):

* Blank lines and lines whose first non-blank character is '#' are skipped. Blanks are spaces
  and tabs only: a line holding just "\\r" (a CRLF file's empty line) is a job line with a bad
  minute.
* A line is first tried as an environment setting ``NAME = value``: spaces around '=' are
  optional, matching quotes around the value (or the name) keep leading blanks, but trailing
  whitespace goes even inside quotes (strdtb()), and a second pair of quotes is stripped too:
  A="'x'" is x. ``MAILTO=`` with nothing after the '=' is *not* a setting (write
  ``MAILTO=""``), so it is read as a job line and rejected. Settings apply to the lines below
  them; setting a name again replaces its value in place.
* Otherwise the line is a job: five fields (minute 0-59, hour 0-23, day-of-month 1-31, month
  1-12 or jan-dec, day-of-week 0-7 or sun-sat, 0 and 7 both Sunday) or one of @reboot @yearly
  @annually @monthly @weekly @daily @midnight @hourly (lower case only); then, in /etc/crontab
  and /etc/cron.d, a user name; then the command, to the end of the line.
* A field is a list of ``*``, ``N`` or ``N-M``, each of the last two optionally ``/STEP``
  (STEP > 0); ``N/STEP`` is refused (Debian patch). Names are case-insensitive and work anywhere
  a number does, ranges and steps included (``mon-fri/2``), in spite of crontab(5). A range
  whose end is below its start is accepted and selects nothing. Once a field has been read,
  cron skips whatever non-blank text follows it: ``5;x`` is minute 5, and ``1#2`` is every
  Monday (cronsim would read the second Monday). Numbers go through C's atoi(), so 4294967296
  is read as 0. L, W and ? are rejected.
* In a user crontab, a command starting with '*' is refused (a sixth time field), and a job
  line with no command is a job with an empty command.
* In the command, the first '%' not preceded by a backslash ends the command and the rest is
  the job's standard input, where each further '%' becomes a newline; the backslash of ``\\%``
  and ``\\\\`` is removed (Debian patch "Handle escapes in job input"). A trailing "\\r"
  stays in the command.
* A command of 999 bytes or more is refused ("command too long").
* A NUL byte ends the text cron's get_string() reads (it looks characters up with strchr(),
  which finds the terminating NUL): what follows it on the line is read as if it started a new
  line.

Cron reads a crontab, or ignores all of it. It loads nothing from a file with one rejected line
(user.c: "Syntax error, this crontab file will be ignored"), a last line without its newline
("Missing newline before EOF"), or a job or setting past line 10003. `parse_crontab` reports
each rejected line in ``errors`` and the first reason in ``ignored``, and still lists every job
it could read, so a caller can name a job that exists but never runs.

One rule depends on the host and is left to the caller: the user of a system crontab line must
exist (getpwnam), or the line is rejected too.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["KEYWORDS", "CronEntry", "CronFields", "CronParseError", "Crontab", "cron_d_ignored_reason",
           "parse_crontab", "parse_field", "parse_schedule"]

# Limits from cron.h.
MAX_COMMAND = 1000
MAX_ENVSTR = 1000
MAX_TEMPSTR = 1000
MAX_TAB_LINES = 10000
NHEADER_LINES = 3

# @keywords (entry.c) and the five fields each one stands for. @daily sets no
# '*' flag in cron, but with every day selected that changes nothing.
KEYWORDS: dict[str, str | None] = {
    "reboot": None, "yearly": "0 0 1 1 *", "annually": "0 0 1 1 *", "monthly": "0 0 1 * *",
    "weekly": "0 0 * * 0", "daily": "0 0 * * *", "midnight": "0 0 * * *", "hourly": "0 * * * *"}


class CronParseError(ValueError):
    """A line cron rejects, or the reason it ignores a whole file.

    >>> str(CronParseError("/etc/cron.d/wa", 3, "bad minute: '60'"))
    "/etc/cron.d/wa:3: bad minute: '60'"
    """

    def __init__(self, source: str, line: int, message: str):
        self.source, self.line, self.message = source, line, message
        super().__init__(f"{source}:{line}: {message}")

    def __reduce__(self):
        return type(self), (self.source, self.line, self.message)

    def __eq__(self, other):
        return isinstance(other, CronParseError) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


@dataclass(frozen=True)
class CronEntry:
    source: str
    line: int  # 1-based line where the job starts
    schedule: str  # the five fields joined by single spaces, or the @keyword
    user: str | None  # system crontabs only
    command: str  # what the shell runs: up to the first unescaped '%', escapes removed
    stdin: str | None  # exactly what cron writes to the job's stdin, None without a '%'
    environment: tuple[tuple[str, str], ...]  # settings in effect, as cron stores them
    raw: str  # the whole line the job starts on


@dataclass(frozen=True)
class Crontab:
    source: str
    entries: tuple[CronEntry, ...]
    errors: tuple[CronParseError, ...]
    ignored: str | None = None  # why cron loads none of this file, else None


@dataclass(frozen=True)
class CronFields:
    """What cron stores for a schedule (entry.c): the values each field allows, and
    whether day-of-month and day-of-week began with '*' (cron.c find_jobs() then
    wants both days to match; otherwise either one)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0-7; Sunday is always both 0 and 7
    day_star: bool
    weekday_star: bool


class _Field(NamedTuple):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# cron.h DowNames ends with a second "Sun" (7); the first match wins, so "sun" is 0.
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (_Field("minute", 0, 59), _Field("hour", 0, 23), _Field("day-of-month", 1, 31),
           _Field("month", 1, 12, _MONTH_NAMES), _Field("day-of-week", 0, 7, _DOW_NAMES))
# get_number() collects isalnum() characters; cron's locales classify no byte above 0x7f.
_WORD = re.compile(r"[0-9A-Za-z]*")
_BLANKS = re.compile(r"[ \t]+")  # cron's Skip_Blanks(): nothing else separates fields


def parse_field(token: str, field: int) -> frozenset[int]:
    """The values one field allows (entry.c get_list()); ValueError if cron rejects it.
    ``field`` is 0 for minute up to 4 for day-of-week. Text after a complete list is ignored, as
    cron's Skip_Nonblanks() does."""
    spec = _FIELDS[field]
    values: set[int] = set()
    pos = _range(token, 0, spec, values)
    while token.startswith(",", pos):
        pos = _range(token, pos + 1, spec, values)
    if field == 4 and values & {0, 7}:
        values |= {0, 7}  # entry.c: "make sundays equivilent"
    return frozenset(values)


def _range(token: str, pos: int, spec: _Field, values: set[int]) -> int:
    """entry.c get_range(): one ``*``, ``N`` or ``N-M``, optionally ``/STEP``."""
    if token.startswith("*", pos):
        first, last, pos = spec.low, spec.high, pos + 1
    else:
        first, pos = _number(token, pos, spec)
        if not token.startswith("-", pos):
            # A step needs a range: Debian refuses "1/20" (entry.c).
            if token.startswith("/", pos) or not spec.low <= first <= spec.high:
                raise _bad(spec, token)
            values.add(first)
            return pos
        last, pos = _number(token, pos + 1, spec)
    step = 1
    if token.startswith("/", pos):
        step, pos = _number(token, pos + 1, _Field("step", 0, 0))
        if step <= 0:
            raise _bad(spec, token)
    if not (spec.low <= first <= spec.high and spec.low <= last <= spec.high):
        raise _bad(spec, token)
    values.update(range(first, last + 1, step))
    return pos


def _number(token: str, pos: int, spec: _Field) -> tuple[int, int]:
    """entry.c get_number(): a name of the field or digits, read through atoi()."""
    word = _WORD.match(token, pos).group()
    if not word or len(word) >= MAX_TEMPSTR:
        raise _bad(spec, token)
    if word.lower() in spec.names:
        return spec.names.index(word.lower()) + spec.low, pos + len(word)
    if not word.isdigit():
        raise _bad(spec, token)
    # glibc's atoi() is (int) strtol(): saturates at LONG_MAX, then wraps to 32 bits.
    value = min(int(word), 2**63 - 1)
    return (value + 2**31) % 2**32 - 2**31, pos + len(word)


def _bad(spec: _Field, token: str) -> ValueError:
    return ValueError(f"bad {spec.name}: {token!r}")


def parse_schedule(schedule: str) -> CronFields | None:
    """The fields of a schedule as CronEntry.schedule holds it; None for @reboot.
    Raises ValueError with cron's complaint ("bad hour: '24'") if cron rejects it."""
    text = schedule.strip(" \t")
    if text.startswith("@"):
        if text[1:] not in KEYWORDS:
            raise ValueError(f"bad time specifier: {schedule!r}")
        if KEYWORDS[text[1:]] is None:
            return None
        text = KEYWORDS[text[1:]]
    tokens = _BLANKS.split(text)
    if len(tokens) != 5:
        raise ValueError(f"a schedule has five fields or an @keyword, not {schedule!r}")
    fields = (parse_field(token, number) for number, token in enumerate(tokens))
    return CronFields(*fields, tokens[2].startswith("*"), tokens[4].startswith("*"))


# --- reading a file as cron does ----------------------------------------------------
_EOF = -1
_NL, _SP, _TAB, _HASH, _AT, _STAR = b"\n \t#@*"
_TO_EOL = re.compile(b"[\n\0]")
_TO_BLANK = re.compile(b"[ \t\0]")
_TO_KEYWORD_END = re.compile(b"[ \t\n\0]")
_TO_FIELD_END = re.compile(b"[ \t\n]")  # Skip_Nonblanks(): a NUL is not a blank
_C_SPACE = b" \t\n\v\f\r"  # isspace()


class _Reader:
    """A byte stream with misc.c's get_char(), unget_char() and LineNumber."""

    def __init__(self, data: bytes):
        self.data, self.pos, self.line = data, 0, 1

    def getc(self) -> int:
        if self.pos == len(self.data):
            return _EOF
        ch = self.data[self.pos]
        self.pos += 1
        self.line += ch == _NL
        return ch

    def ungetc(self, ch: int) -> None:
        if ch != _EOF:
            self.pos -= 1
            self.line -= ch == _NL

    def mark(self) -> tuple[int, int]:
        return self.pos, self.line

    def seek(self, mark: tuple[int, int]) -> None:
        self.pos, self.line = mark

    def get_string(self, size: int, terms: re.Pattern[bytes]) -> tuple[int, bytes]:
        """misc.c get_string(): the text up to a terminator, of which size-1 bytes are kept,
        and the terminator (_EOF at the end). NUL always terminates: cron tests
        strchr(terms, ch), which finds the terminating NUL of terms."""
        found = terms.search(self.data, self.pos)
        end = found.start() if found else len(self.data)
        text = self.data[self.pos : end]
        self.pos, self.line = end, self.line + text.count(b"\n")
        return self.getc(), text[: size - 1]

    def skip_comments(self) -> None:
        """misc.c skip_comments(): past blank lines and comments, to the first useful character."""
        while (ch := self.getc()) != _EOF:
            while ch in (_SP, _TAB):
                ch = self.getc()
            if ch not in (_NL, _HASH, _EOF):
                self.ungetc(ch)
                return
            while ch not in (_NL, _EOF):
                ch = self.getc()

    def field(self, ch: int) -> tuple[bytes, int]:
        """A field starting at ch (already read), then the character after the blanks that
        follow it: Skip_Nonblanks() then Skip_Blanks()."""
        start = self.pos - 1 if ch != _EOF else self.pos
        if ch not in (_SP, _TAB, _NL, _EOF):
            found = _TO_FIELD_END.search(self.data, self.pos)
            self.pos = found.start() if found else len(self.data)
            ch = self.getc()
        end = self.pos - 1 if ch != _EOF else self.pos
        while ch in (_SP, _TAB):
            ch = self.getc()
        return self.data[start:end], ch


class _Rejected(Exception):
    """load_entry() failed with one of cron's ecodes."""


def parse_crontab(text: str | bytes, source: str, system: bool) -> Crontab:
    """Read a crontab as cron does; every problem is reported, nothing is raised.

    ``system`` is True for /etc/crontab and /etc/cron.d/* (a user field after the schedule), False
    for a user's crontab. Bytes are decoded as UTF-8 with errors="replace" for the strings
    returned; limits are counted in bytes.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    lines = text.split("\n") if isinstance(text, str) else _decode(data).split("\n")
    reader = _Reader(data)
    entries: list[CronEntry] = []
    errors: list[CronParseError] = []
    ignored: str | None = None
    too_long = False
    environment: dict[bytes, bytes] = {}  # env.c env_set(): a name set again keeps its place

    def reject(line: int, message: str) -> None:
        nonlocal ignored
        errors.append(CronParseError(source, line, message))
        ignored = ignored or f"line {line}: {message}"

    while True:
        start = reader.mark()
        reader.skip_comments()
        line = reader.line
        end, envstr = reader.get_string(MAX_ENVSTR - 1, _TO_EOL)
        if end == _EOF:
            if not envstr:
                break
            # user.c ignores the file; we still read the line, to report what it holds.
            reject(line, "missing newline before end of file")
            reader.data += b"\n"
            reader.seek(start)
            continue
        setting = _env_setting(envstr)
        if setting:
            environment[setting[0]] = setting[1]
        else:
            reader.seek(start)
            try:
                entries.append(_load_entry(reader, system, source, environment, lines))
            except _Rejected as problem:
                reject(line, str(problem))
                reader.seek(start)
                _skip_past_line(reader, line)
        if reader.line >= MAX_TAB_LINES + NHEADER_LINES + 2 and not too_long:
            # user.c stops here and drops the file (the limit allows for crontab(1)'s header).
            too_long = True
            reject(reader.line - 1, f"crontab longer than {MAX_TAB_LINES} lines")
    return Crontab(source, tuple(entries), tuple(errors), ignored)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _skip_past_line(reader: _Reader, line: int) -> None:
    """Go on reading at the line after `line` (cron itself stops at the first error)."""
    while reader.line <= line and reader.getc() != _EOF:
        pass


def _load_entry(reader: _Reader, system: bool, source: str, environment: dict[bytes, bytes],
                lines: list[str]) -> CronEntry:
    """entry.c load_entry(): one job, or _Rejected with cron's complaint."""
    reader.skip_comments()
    line = reader.line
    schedule, ch = _read_schedule(reader)
    reader.ungetc(ch)
    user = _read_user(reader) if system else None
    if not system and ch == _STAR:
        raise _Rejected("bad command: starts with '*' (a sixth time field?)")
    ch, cmd = reader.get_string(MAX_COMMAND, _TO_EOL)
    if len(cmd) == MAX_COMMAND - 1:
        raise _Rejected(f"command too long: {MAX_COMMAND - 1} bytes or more")
    if ch == _EOF:
        raise _Rejected("bad command: no newline after it")
    command, stdin = _split_command(cmd)
    settings = tuple((_decode(name), _decode(value)) for name, value in environment.items())
    return CronEntry(source=source, line=line, schedule=schedule, user=user, command=_decode(command),
                     stdin=None if stdin is None else _decode(stdin), environment=settings,
                     raw=lines[line - 1])


def _read_schedule(reader: _Reader) -> tuple[str, int]:
    """An @keyword or five fields, and the first character after the blanks that follow."""
    ch = reader.getc()
    if ch == _AT:
        ch, word = reader.get_string(MAX_COMMAND, _TO_KEYWORD_END)
        schedule = "@" + _decode(word)
        if schedule[1:] not in KEYWORDS:  # strcmp(): lower case only
            raise _Rejected(f"bad time specifier: {schedule!r}")
        while ch in (_SP, _TAB):
            ch = reader.getc()
        return schedule, ch
    tokens = []
    for number in range(5):
        token, ch = reader.field(ch)
        tokens.append(_decode(token))
        try:
            parse_field(tokens[-1], number)
        except ValueError as bad:
            raise _Rejected(str(bad)) from None
    return " ".join(tokens), ch


def _read_user(reader: _Reader) -> str:
    """The user field of a system crontab: up to a blank, even past the end of the line."""
    ch, name = reader.get_string(MAX_COMMAND, _TO_BLANK)
    if ch == _EOF:
        raise _Rejected("bad command: no command after the user")
    # getpwnam() finds no empty name, nor one that ran on past the end of the line.
    if not name or b"\n" in name:
        raise _Rejected("bad username: no user and command after the schedule")
    return _decode(name)


# env.c load_env() states, in order.
_NAMEI, _NAME, _EQ1, _EQ2, _VALUEI, _VALUE, _FINI, _ERROR = range(8)


def _env_setting(envstr: bytes) -> tuple[bytes, bytes] | None:
    """env.c load_env(): (name, value) if cron takes the line for a setting."""
    name, value = bytearray(), bytearray()
    out, state, quote, pos = name, _NAMEI, 0, 0
    while state != _ERROR and pos < len(envstr):
        ch = envstr[pos]
        if state in (_NAMEI, _VALUEI):
            state += 1
            if ch in b"'\"":
                # (At the end of the line cron reads on past its buffer here; we stop.)
                quote, pos = ch, pos + 1
                continue
        if state in (_NAME, _VALUE):
            if quote and ch == quote:
                state, pos = state + 1, pos + 1
            elif quote and state == _NAME and ch == ord("="):
                state = _ERROR
            elif not quote and state == _NAME and ch in _C_SPACE:
                state, pos = state + 1, pos + 1
            elif not quote and state == _NAME and ch == ord("="):
                state += 1
            else:
                out.append(ch)
                pos += 1
        elif state == _EQ1:
            if ch == ord("="):
                state, out, quote = _EQ2, value, 0
            elif ch not in _C_SPACE:
                state = _ERROR
            pos += 1
        elif ch in _C_SPACE:  # _EQ2 and _FINI skip whitespace
            pos += 1
        else:
            state += 1
    if state != _FINI and not (state == _VALUE and not quote):
        return None
    value = value.rstrip(_C_SPACE)
    # Then cron strips one more pair of matching quotes: A="'x'" sets A to x.
    if len(value) >= 2 and value[0] in b"'\"" and value[-1] == value[0]:
        value = value[1:-1]
    return bytes(name), bytes(value)


def _split_command(cmd: bytes) -> tuple[bytes, bytes | None]:
    """do_command.c child_process(): the command, and its stdin if it has a '%'."""
    command = bytearray()
    escaped = False
    for pos, ch in enumerate(cmd):
        if escaped and ch in b"%\\":
            command[-1] = ch  # Debian: "\%" gives "%", "\\" gives "\"
        elif ch == ord("%") and not escaped:
            return bytes(command), _job_input(cmd[pos + 1 :])
        else:
            command.append(ch)
        escaped = not escaped and ch == ord("\\")
    return bytes(command), None


def _job_input(text: bytes) -> bytes:
    """do_command.c: what cron writes to the job's stdin. "%" is a newline, "\\%" a "%",
    other backslashes stay, and a newline ends the text unless it already does."""
    out = bytearray()
    escaped = need_newline = False
    for ch in text:
        if escaped and ch != ord("%"):
            out.append(ord("\\"))
        elif not escaped and ch == ord("%"):
            ch = _NL
        escaped = ch == ord("\\")
        if not escaped:
            out.append(ch)
            need_newline = ch != _NL
    if escaped:
        out.append(ord("\\"))
    if need_newline:
        out.append(_NL)
    return bytes(out)


# --- /etc/cron.d file names and modes -----------------------------------------------
# database.c valid_name(): run-parts' rules, plain or with cron -l (--lsbsysinit).
_CLASSIC_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_LSB_HIERARCHICAL = re.compile(r"_?([a-z0-9_.]+-)+[a-z0-9]+")
_LSB_DPKG_LEFTOVER = re.compile(r"[a-z0-9-].*dpkg-(old|dist)", re.DOTALL)
_LSB_TRADITIONAL = re.compile(r"[a-z0-9][a-z0-9-]*")


def cron_d_ignored_reason(name: str, mode: int | None = None, uid: int | None = None, *,
                          nlink: int | None = None, lsbsysinit: bool = False) -> str | None:
    """Why Debian cron skips /etc/cron.d/NAME, or None if it reads it.

    cron(8) DEBIAN SPECIFIC and database.c: the name must follow run-parts' rules (only letters,
    digits, '_' and '-': 'wa-cleanup.cron' and 'job~' are skipped; with ``cron -l``, set in
    /etc/default/cron, the LSB names of ``run-parts --lsbsysinit``); the file must be owned by
    root, a regular file, not writable by group or others, and have one hard link. ``mode``,
    ``uid`` and ``nlink`` are those of os.stat() (cron follows a symlink, but then also wants the
    link itself owned by root). The mode and owner rules hold for /etc/crontab too.
    """
    if name.startswith("."):
        return f"cron skips {name!r}: the name starts with '.'"
    if lsbsysinit and not _lsb_name(name):
        return f"cron -l skips {name!r}: not an LSB name (see run-parts --lsbsysinit)"
    if not lsbsysinit and not _CLASSIC_NAME.fullmatch(name):
        return f"cron skips {name!r}: the name has characters other than A-Z a-z 0-9 _ -"
    if uid is not None and uid != 0:
        return f"not owned by root (owner uid {uid}): cron logs WRONG FILE OWNER"
    if mode is not None and not stat.S_ISREG(mode):
        return "not a regular file: cron logs NOT A REGULAR FILE"
    if mode is not None and mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"mode {stat.S_IMODE(mode):04o} is group- or other-writable: cron logs INSECURE MODE"
    if nlink is not None and nlink != 1:
        return f"{nlink} hard links: cron logs NUMBER OF HARD LINKS > 1"
    return None


def _lsb_name(name: str) -> bool:
    if _LSB_HIERARCHICAL.fullmatch(name):
        return not _LSB_DPKG_LEFTOVER.fullmatch(name)
    return bool(_LSB_TRADITIONAL.fullmatch(name))
