"""Read logrotate configuration the way logrotate itself reads it.

>>> conf = parse_logrotate("/etc/logrotate.conf", {
...     "/etc/logrotate.conf": b"weekly\\nrotate 4\\n/var/log/whatsapp/*.log {\\n  size 20M\\n  compress\\n}\\n"})
>>> policy = conf.block_for("/var/log/whatsapp/web.log").policy
>>> policy.rotate.value, policy.criterion.value, policy.rotates_only_above(), policy.compress.value
(4, 'size', 20971520, True)

The reference is logrotate 3.21.0 (Debian 12): ``readConfigFile()`` in its config.c
(github.com/logrotate/logrotate), a character-level state machine that this module follows step
for step, quirks included, because a compliance verdict must be the one the real tool would act
on.  Each was checked against ``logrotate -d``:

* Built-in defaults (``readAllConfigPaths``): ``rotate 0``, and no time criterion at all: a log
  is rotated once it reaches 1 MiB (``size 1M``).
* A block copies the global settings in effect when its ``{`` opens; later globals do not reach
  it.  ``size`` and ``hourly``/``daily``/``weekly``/``monthly``/``yearly`` set one criterion:
  the last one wins.
* Values run to the end of the line: ``rotate 30 # keep`` is a bad count.  Flags do not:
  ``compress missingok`` sets both, ``compress # c`` is fine.
* Size units are ``k``, ``K``, ``M`` and ``G`` only (``20MB``, ``20m`` are errors); numbers are
  read by strtoul with base 0 (``0x10k``, octal ``010``).
* An error inside a block drops the whole block ("found error in ..., skipping"): logrotate
  skips to the next ``}`` found at the start of a line, so an indented ``}`` is missed and the
  following blocks are swallowed too.  An error at global level ends the reading of that file.
  When an included file had any error, the global settings it made are rolled back.
* CRLF files: a ``\\r`` where a keyword may start is an error, so a ``{\\r`` drops its block
  and a blank ``\\r\\n`` line ends the file.
* A file may end inside a block: logrotate silently keeps that block (we report it all the same).
* Duplicates: a log named by an earlier block is not taken by a later one ("duplicate log
  entry"), so the first block that names a log governs it.
* Includes nest at most 16 deep (``MAX_NESTING``); that limit is logrotate's only guard against
  include loops.  Directory includes read the entries in byte order, skipping taboo extensions
  (``.dpkg-old``, ``~``, ...).  A loop through a directory of several files makes logrotate read
  exponentially many files; we stop after ``MAX_FILE_READS`` and report it.

What needs the audited machine itself is not done here: patterns are not expanded against its
files (a pattern matches like glob(3) in `LogBlock.matches`), ``olddir`` is not checked to exist,
users and groups are not resolved, file owners and modes are not checked (logrotate ignores
group/world-writable files), and ``~/`` is taken as root's home.
"""

from __future__ import annotations

import posixpath
import re
import string
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["LogBlock", "LogrotateConfig", "LogrotateParseError", "Policy", "Setting", "parse_logrotate",
           "parse_size"]

# logrotate expands ~/ with $HOME; it runs from root's cron or systemd timer.
ROOT_HOME = "/root"
MAX_NESTING = 16  # config.c MAX_NESTING: deeper includes fail
MAX_CONFIG_BYTES = 0xFFFFFF  # config.c: larger files are "probably not a config file"
# Our own guard: include loops through directories multiply the reads.
MAX_FILE_READS = 2000
DEFAULT_TABOO_EXTENSIONS = (  # config.c defTabooExts
    ",v", ".bak", ".cfsaved", ".disabled", ".dpkg-bak", ".dpkg-del", ".dpkg-dist",
    ".dpkg-new", ".dpkg-old", ".dpkg-tmp", ".rhn-cfg-tmp-*", ".rpmnew", ".rpmorig",
    ".rpmsave", ".swp", ".ucf-dist", ".ucf-new", ".ucf-old", "~",
)

# Character classes of the C locale: logrotate uses isblank/isspace/isalpha.
_BLANK = " \t"
_SPACE = " \t\n\v\f\r"
_ALPHA = frozenset(string.ascii_letters)
_DIGITS = frozenset(string.digits)
_PATTERN_START = "/\"'~"
_SCRIPTS = frozenset({"prerotate", "postrotate", "firstaction", "lastaction", "preremove"})
_SIZE_UNITS = {"k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}


class LogrotateParseError(ValueError):
    """One problem in a config file, as logrotate would report it.

    >>> str(LogrotateParseError("/etc/logrotate.d/whatsapp", 3, "unknown unit 'B'"))
    "/etc/logrotate.d/whatsapp:3: unknown unit 'B'"
    """

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass(frozen=True)
class Setting:
    """One directive's value and where it was set."""

    value: object
    path: str | None = None  # None: logrotate's built-in default
    line: int | None = None


@dataclass(frozen=True)
class Policy:
    """Effective settings for one log block (globals in effect when the block opened, then its own)."""

    rotate: Setting  # int; 0 = old versions removed, -1 = kept forever
    criterion: Setting  # "size", "hourly", "daily", "weekly", "monthly" or "yearly"
    size: Setting  # bytes: the threshold when criterion is "size" (built-in 1 MiB)
    minsize: Setting  # bytes or None
    maxsize: Setting  # bytes or None
    compress: Setting  # bool
    olddir: Setting  # str as written, or None
    missingok: Setting  # bool

    def rotates_only_above(self) -> int | None:
        """Bytes below which a file is never rotated, or None when files of any size may be.

        logrotate.c findNeedRotating(): a file above ``maxsize`` is always rotated; otherwise the
        size criterion rotates at ``size`` bytes and a time criterion rotates at its time, held
        back below ``minsize``.  A 0 means unset there, as in logrotate.  ``notifempty`` is not
        considered."""
        floor = self.size.value if self.criterion.value == "size" else self.minsize.value or None
        if floor is not None and self.maxsize.value:
            floor = min(floor, self.maxsize.value + 1)
        return floor or None

    def archive_dir(self, log_path: str) -> str | None:
        """Where rotated copies of log_path go: olddir, relative to the log's directory unless absolute."""
        olddir = self.olddir.value
        if olddir is None:
            return None
        return posixpath.normpath(posixpath.join(posixpath.dirname(log_path), _expand_home(olddir)))


@dataclass(frozen=True)
class LogBlock:
    patterns: tuple[str, ...]  # as written, quotes and escapes removed
    path: str  # file that holds the block
    line: int  # line where its first pattern starts
    policy: Policy

    def matches(self, log_path: str) -> bool:
        """Whether a pattern names log_path, as glob(3) would find it ('*' stays within one name)."""
        for pattern in self.patterns:
            pattern = _expand_home(pattern)
            # glob(GLOB_NOCHECK) keeps a pattern that matches nothing as a file name.
            if pattern == log_path or _glob_regex(pattern).fullmatch(log_path):
                return True
        return False


@dataclass(frozen=True)
class LogrotateConfig:
    blocks: tuple[LogBlock, ...]  # in the order logrotate handles them
    files_read: tuple[str, ...]  # in the order logrotate reads them (again on each include)
    problems: tuple[LogrotateParseError, ...]  # what logrotate reports while it goes on

    def block_for(self, log_path: str) -> LogBlock | None:
        """The block that governs log_path: the first that names it (later ones are duplicates)."""
        return next((block for block in self.blocks if block.matches(log_path)), None)


def parse_logrotate(main_path: str, files: Mapping[str, bytes | None],
                    directories: Mapping[str, Sequence[str]] = {}) -> LogrotateConfig:
    """Parse main_path and everything it includes.

    files: path -> content (None = exists but unreadable); a path absent from both maps does not
    exist.  directories: directory path -> names of its entries, for ``include DIR`` (an entry
    that is itself a directory is skipped, as logrotate skips anything but regular files).
    Raises LogrotateParseError only when main_path is missing or unreadable; every other problem
    goes to ``.problems`` and reading goes on as in logrotate.
    """
    reader = _Reader(files, directories)
    main = posixpath.normpath(main_path)
    if main not in reader.directories:
        if main not in reader.files:
            raise LogrotateParseError(main_path, 0, f"cannot stat {main_path}: No such file or directory")
        if reader.files[main] is None:
            raise LogrotateParseError(main_path, 0, f"failed to open config file {main_path}: Permission denied")
    reader.read_path(main, _builtin_settings(), cwd="", where=(main, 0))
    return LogrotateConfig(tuple(block.freeze() for block in reader.reachable()), tuple(reader.files_read),
                           tuple(reader.problems))


def parse_size(text: str) -> int:
    """Bytes of a ``size``/``minsize``/``maxsize`` value: "512", "100k", "100K", "20M", "1G".
    Raises LogrotateParseError(path="", line=0, ...) with logrotate's message otherwise."""
    if not text:
        raise LogrotateParseError("", 0, "argument expected after size")
    try:
        return _size_bytes(text)
    except _BadValue as bad:
        raise LogrotateParseError("", 0, str(bad)) from None


# --- settings -----------------------------------------------------------------
_POLICY_FIELDS = ("rotate", "criterion", "size", "minsize", "maxsize", "compress", "olddir", "missingok")


def _builtin_settings() -> dict[str, Setting]:
    """config.c readAllConfigPaths(): the defaults before any directive."""
    values = {"rotate": 0, "criterion": "size", "size": 1024 * 1024, "minsize": None, "maxsize": None,
              "compress": False, "olddir": None, "missingok": False,
              # Not policy, but they decide how later directives are read.
              "ignoreduplicates": False, "su_user": None, "su_group": None}
    return {name: Setting(value) for name, value in values.items()}


@dataclass
class _Block:
    path: str
    line: int
    settings: dict[str, Setting]
    patterns: tuple[str, ...] = ()
    files: list[str] = field(default_factory=list)  # the names it owns (duplicates excluded)

    def freeze(self) -> LogBlock:
        policy = Policy(**{name: self.settings[name] for name in _POLICY_FIELDS})
        return LogBlock(self.patterns, self.path, self.line, policy)


# --- files and includes -------------------------------------------------------
class _Reader:
    """What logrotate keeps across files: the blocks, taboo list and include depth."""
    def __init__(self, files: Mapping[str, bytes | None], directories: Mapping[str, Sequence[str]]):
        self.files = {posixpath.normpath(path): data for path, data in files.items()}
        self.directories = {posixpath.normpath(path): names for path, names in directories.items()}
        self.blocks: list[_Block] = []  # logrotate's list of logs, in order
        self.cut: _Block | None = None  # the list ends here for whoever walks it (see _roll_back)
        self.problems: list[LogrotateParseError] = []
        self.files_read: list[str] = []
        self.taboo = ["*" + ext for ext in DEFAULT_TABOO_EXTENSIONS]
        self.depth = 0

    def problem(self, where: tuple[str, int], message: str) -> None:
        self.problems.append(LogrotateParseError(where[0], where[1], message))

    def reachable(self) -> list[_Block]:
        """The blocks logrotate finds when it walks its list from the head."""
        return self.blocks if self.cut is None else self.blocks[: self.blocks.index(self.cut) + 1]

    def drop_last_block(self) -> None:
        """freeTailLogs(1): remove the last block appended, reachable or not."""
        if self.blocks.pop() is self.cut:
            self.cut = None

    def read_path(self, path: str, settings: dict[str, Setting], cwd: str, where: tuple[str, int]) -> bool:
        """config.c readConfigPath(): read a file or directory; True if it had an error. ``where``
        is the include directive (or the main file) that problems are reported at."""
        path = posixpath.normpath(posixpath.join(cwd, path))
        if path in self.directories:
            return self._read_directory(path, settings, where)
        if path not in self.files:
            self.problem(where, f"cannot stat {path}: No such file or directory")
            return True
        return self._read_rolled_back(path, settings, cwd, where)

    def _read_directory(self, path: str, settings: dict[str, Setting], where: tuple[str, int]) -> bool:
        failed = False
        # The names are chosen before any is read: a tabooext in one does not hide the next.
        names = [name for name in self.directories[path] if name not in (".", "..") and not self._is_taboo(name)]
        # strcoll() order; logrotate runs in the C locale from cron.
        for name in sorted(names, key=lambda name: name.encode("utf-8", "surrogateescape")):
            # logrotate chdir()s into the directory: relative includes start there.
            if self._read_rolled_back(posixpath.join(path, name), settings, path, where):
                self.problem(where, f"found error in file {name}, skipping")
                failed = True
        return failed

    def _is_taboo(self, name: str) -> bool:
        # checkFile(): fnmatch(pattern, name, FNM_PERIOD)
        return any(_glob_regex(pattern).fullmatch(name) for pattern in self.taboo)

    def _read_rolled_back(self, path: str, settings: dict[str, Setting], cwd: str, where: tuple[str, int]) -> bool:
        """Read one file; if it had any error, undo the settings it made (readConfigPath)."""
        backup = dict(settings)
        owner = next((block for block in self.blocks if block.settings is settings), None)
        owner_was_last = bool(self.blocks) and self.blocks[-1] is owner
        failed = self._read_file(path, settings, cwd, where)
        if failed:
            settings.clear()
            settings.update(backup)
            if owner is not None:
                self._roll_back(owner, owner_was_last)
        return failed

    def _roll_back(self, block: _Block, was_last: bool) -> None:
        """An include inside a block failed: copyLogInfo() restored the block from its backup.

        The backup holds no pattern or files, and holds the block's list link as it was: if the
        block was last then, the blocks appended since (and any appended later) fall off the list
        logrotate walks."""
        block.patterns, block.files = (), []
        if was_last and self.blocks[-1] is not block:
            self.cut = block

    def _read_file(self, path: str, settings: dict[str, Setting], cwd: str, where: tuple[str, int]) -> bool:
        if path in self.directories:
            return False  # "Ignoring ... because it's not a regular file"
        data = self.files.get(path)
        if data is None:
            reason = "No such file or directory" if path not in self.files else "Permission denied"
            self.problem(where, f"failed to open config file {path}: {reason}")
            return True
        if len(self.files_read) >= MAX_FILE_READS:
            self.problem(where, f"more than {MAX_FILE_READS} config files read (include loop?); not reading {path}")
            return True
        self.files_read.append(path)
        if len(data) > MAX_CONFIG_BYTES:
            self.problem(where, f"file {path} too large, probably not a config file")
            return True
        text = data.decode("utf-8", errors="replace")
        return _FileParser(self, path, text, settings, cwd).run()

    def set_taboo(self, directive: str, value: str) -> None:
        """tabooext/taboopat: replace the list, or extend it when the value starts with '+'."""
        if value.startswith("+"):
            value = value[1:].lstrip(_SPACE)
        else:
            self.taboo = []
        pos = 0
        while pos < len(value):
            match = _TABOO_ITEM.match(value, pos)
            item, pos = match.group(1), match.end()
            if directive == "taboopat":
                self.taboo.append(item)
            elif item:  # tabooext skips empty items ("avoid exclusion of everything")
                self.taboo.append("*" + item)


# One item of a tabooext/taboopat list: up to a blank or ',', then one ',' and blanks.
_TABOO_ITEM = re.compile(r"([^ \t\n\v\f\r,]*),?[ \t\n\v\f\r]*")


class _BadValue(Exception):
    """A directive value logrotate rejects; the text is logrotate's message."""


class _Abort(Exception):
    """config.c `goto error`: logrotate stops reading the file."""


# --- one file: config.c readConfigFile() ----------------------------------------
class _FileParser:
    """logrotate's state machine over one file.

    Each state method gets the position of the character to examine and returns the next one;
    like the C loop (``start++`` after each step), a step often consumes one character past what
    it looked at."""

    def __init__(self, reader: _Reader, path: str, text: str, defaults: dict[str, Setting], cwd: str):
        self.reader, self.path, self.text, self.defaults, self.cwd = reader, path, text, defaults, cwd
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.block: _Block | None = None  # logrotate's newlog != defConfig
        self.skipping = False  # in a block dropped for an error
        self.script_line: int | None = None  # line of an open prerotate/postrotate/...
        self.failed = False  # logrotate's logerror
        self.state: Callable[[int], int] = self.directive_or_pattern

    def run(self) -> bool:
        """Read the whole file; True if logrotate would count it as having an error."""
        try:
            pos = 0
            while pos < len(self.text):
                pos = self.state(pos)
            self.check_end()
        except _Abort:
            if self.block is not None:
                self.reader.drop_last_block()
            return True
        return self.failed

    def check_end(self) -> None:
        if self.script_line is not None:
            self.problem_at_line(self.script_line, "prerotate, postrotate or preremove without endscript")
            raise _Abort
        if self.block is not None:
            self.problem_at_line(self.block.line, "missing '}': logrotate keeps this block as it is")

    # -- helpers

    def char(self, pos: int) -> str:
        # logrotate reads the NUL that follows its mmap()ed file
        return self.text[pos] if pos < len(self.text) else "\0"

    def line(self, pos: int) -> int:
        return bisect_left(self.newlines, pos) + 1

    def problem(self, pos: int, message: str) -> None:
        self.problem_at_line(self.line(pos), message)

    def problem_at_line(self, line: int, message: str) -> None:
        self.reader.problem((self.path, line), message)

    @property
    def settings(self) -> dict[str, Setting]:
        """What directives change: the open block, else the globals."""
        return self.block.settings if self.block is not None else self.defaults

    def set(self, name: str, value: object, pos: int) -> None:
        self.settings[name] = Setting(value, self.path, self.line(pos))

    def end_of_line(self, pos: int) -> int:
        """Position after the newline that ends the line of pos."""
        newline = self.text.find("\n", pos)
        return len(self.text) if newline < 0 else newline + 1

    def word(self, pos: int) -> tuple[str, int]:
        """isolateWord(): skip blanks, take letters; the word and the position after it."""
        while self.char(pos) in _BLANK:
            pos += 1
        end = pos
        while end < len(self.text) and self.text[end] in _ALPHA:
            end += 1
        return self.text[pos:end], end

    def isolate_line(self, pos: int) -> tuple[str, int]:
        """isolateLine(): the rest of the line, trailing whitespace trimmed; and the next position."""
        newline = self.text.find("\n", pos)
        if newline < 0:  # the trimming starts at the NUL after the file: nothing is trimmed
            return self.text[pos:].split("\0", 1)[0], len(self.text)
        last = newline
        while last >= 0 and self.text[last] in _SPACE:
            last -= 1
        # A "negative length" makes strndup() copy the rest of the file.
        value = self.text[pos : last + 1] if last + 1 >= pos else self.text[pos:]
        return value.split("\0", 1)[0], newline

    def isolate_value(self, pos: int, label: str, directive_pos: int) -> tuple[str | None, int]:
        """isolateValue(): skip blanks and one '='; None (reported) if the line ends there."""
        start = pos
        while self.char(pos) in _BLANK:
            pos += 1
        if self.char(pos) == "=":
            pos += 1
            while self.char(pos) in _BLANK:
                pos += 1
        if self.char(pos) == "\n":
            self.problem(directive_pos, f"argument expected after {label}")
            return None, start + 1
        return self.isolate_line(pos)

    def raise_error(self, pos: int) -> int:
        """RAISE_ERROR with logrotate at pos: drop the open block, or stop reading the file."""
        if self.block is None:
            raise _Abort
        self.state = self.error
        return pos + 1

    # -- states

    def directive_or_pattern(self, pos: int) -> int:
        char = self.text[pos]
        if char in _BLANK or char == "\n":
            return pos + 1
        if char == "#":
            return self.end_of_line(pos)
        if char in _ALPHA:
            return self.directive(pos)
        if char in _PATTERN_START:
            return self.open_block(pos)
        if char == "}":
            return self.close_block(pos)
        self.problem(pos, "lines must begin with a keyword or a filename (possibly in double quotes)")
        return self.raise_error(pos)

    def after_block(self, pos: int) -> int:
        char = self.text[pos]
        if char in _BLANK:
            return pos + 1
        self.state = self.directive_or_pattern
        if char == "\n":
            return pos + 1
        self.problem(pos, "unexpected text after }")
        return self.end_of_line(pos)

    def error(self, pos: int) -> int:
        """STATE_ERROR: report once, then skip the block (this step eats one character)."""
        self.problem_at_line(self.block.line, f"found error in {' '.join(self.block.patterns)}, skipping")
        self.failed = True
        self.skipping = True
        self.state = self.skip_block
        return pos + 1

    def skip_block(self, pos: int) -> int:
        """STATE_SKIP_CONFIG: only a '}' first on a line ends it; scripts are still skipped whole."""
        if self.text[pos] == "}":
            self.reader.drop_last_block()
            self.block, self.skipping = None, False
            self.state = self.directive_or_pattern
            return pos + 1
        word, end = self.word(pos)
        if word in _SCRIPTS:
            self.state = self.script
            return end + 1
        return end + 1 if self.char(end) == "\n" else self.end_of_line(end)

    def script(self, pos: int) -> int:
        """STATE_LOAD_SCRIPT: lines are skipped until one starts with the word endscript."""
        word, end = self.word(pos)
        if word == "endscript":
            self.script_line = None
            self.state = self.skip_block if self.skipping else self.directive_or_pattern
            return end + 1
        return end + 1 if self.char(end) == "\n" else self.end_of_line(end)

    # -- what a state meets

    def directive(self, pos: int) -> int:
        word, end = self.word(pos)
        separator = self.char(end)
        if separator not in _SPACE and separator != "=":
            found = f"{ord(separator):#x}" if separator != "\0" else "0"
            self.problem(pos, f"keyword '{word}' not properly separated, found {found}")
            return self.raise_error(end)
        handler = _DIRECTIVES.get(word)  # case-sensitive, as strcmp()
        if handler is None:
            self.problem(pos, f"unknown option '{word}' -- ignoring line")
            return end + 1 if separator == "\n" else self.end_of_line(end)
        return handler(self, word, pos, end)

    def open_block(self, pos: int) -> int:
        if self.block is not None:
            self.problem(pos, "unexpected log filename")
            return self.raise_error(pos)
        self.block = _Block(self.path, self.line(pos), dict(self.defaults))
        self.reader.blocks.append(self.block)
        glob_string, brace = self.glob_string(pos)
        patterns = _popt_split(glob_string)
        if patterns is None:
            self.problem(pos, "error parsing filename")
            raise _Abort
        self.block.patterns = tuple(patterns)
        for pattern in patterns:
            self.claim(_expand_home(pattern), pos)
        return brace + 1

    def glob_string(self, pos: int) -> tuple[str, int]:
        """parseGlobString(): the text up to '{' (it may span lines; '#' lines are skipped)."""
        kept, state = [], "start"
        for index in range(pos, len(self.text)):
            char = self.text[index]
            if char == "\0":
                break
            if state == "start":
                state = "comment" if char == "#" else "start" if char in _SPACE else "data"
            elif char == "\n":
                state = "start"
            if state == "comment":
                continue
            if char == "}":
                self.problem(index, "unexpected } (missing previous '{')")
                raise _Abort
            if char == "{":
                return "".join(kept), index
            kept.append(char)
        self.problem(pos, "missing '{' after log files definition")
        raise _Abort

    def claim(self, name: str, pos: int) -> None:
        """Give name to the open block unless a block already has it ("duplicate log entry")."""
        for other in self.reader.reachable():
            if name in other.files:
                if not other.settings["ignoreduplicates"].value:
                    self.problem(pos, f"duplicate log entry for {name}")
                    self.failed = True
                return
        self.block.files.append(name)

    def close_block(self, pos: int) -> int:
        if self.block is None:
            self.problem(pos, "unexpected }")
            raise _Abort
        self.block = None
        self.state = self.after_block
        return pos + 1


# --- directives ---------------------------------------------------------------
# A handler gets the parser, the word, its position and the position after it, and returns where
# reading goes on.

_Handler = Callable[[_FileParser, str, int, int], int]
_Apply = Callable[[_FileParser, str, str, int], None]


def _switch(setting: str, value: object) -> _Handler:
    def handler(parser: _FileParser, word: str, pos: int, end: int) -> int:
        parser.set(setting, value, pos)
        return end + 1
    return handler


def _accept(parser: _FileParser, word: str, pos: int, end: int) -> int:
    return end + 1


def _with_value(label: str, apply: _Apply, required: bool = True) -> _Handler:
    """A directive whose value is the rest of the line after blanks and an optional '='; without
    one logrotate complains, and fails only where ``required``."""

    def handler(parser: _FileParser, word: str, pos: int, end: int) -> int:
        value, after = parser.isolate_value(end, label, pos)
        if value is None:
            return parser.raise_error(end) if required else end + 1
        return _applied(parser, word, value, pos, after, apply)
    return handler


def _with_line(apply: _Apply) -> _Handler:
    """A directive that takes the rest of the line as it is, possibly empty."""
    def handler(parser: _FileParser, word: str, pos: int, end: int) -> int:
        value, after = parser.isolate_line(end)
        return _applied(parser, word, value, pos, after, apply)
    return handler


def _applied(parser: _FileParser, word: str, value: str, pos: int, after: int, apply: _Apply) -> int:
    try:
        apply(parser, word, value, pos)
    except _BadValue as bad:
        parser.problem(pos, str(bad))
        return parser.raise_error(after - 1)
    return after


def _nothing(parser: _FileParser, word: str, value: str, pos: int) -> None:
    pass


def _apply_rotate(parser: _FileParser, word: str, value: str, pos: int) -> None:
    number, rest = _strtox(value)
    count = _wrap(max(min(number, 2**63 - 1), -(2**63)), 32)  # (int)strtol()
    parser.set("rotate", count, pos)  # logrotate stores the count before checking it
    if rest or count < -1:
        raise _BadValue(f"bad rotation count '{value}'")


def _apply_size(parser: _FileParser, word: str, value: str, pos: int) -> None:
    if not value:  # only at the end of a file without newline; logrotate ignores it
        return
    size = _size_bytes(value)
    if word == "size":
        parser.set("criterion", "size", pos)
    parser.set(word, size, pos)


def _count(label: str) -> _Apply:
    """start, minage, maxage, shredcycles: (int)strtoul(), at least 0."""
    def apply(parser: _FileParser, word: str, value: str, pos: int) -> None:
        number, rest = _strtox(value)
        if rest or _wrap(_unsigned(number), 32) < 0:
            raise _BadValue(f"bad {label} '{value}'")
    return apply


def _path(label: str, setting: str | None = None) -> _Apply:
    """readPath(): every character printable and not blank."""
    def apply(parser: _FileParser, word: str, value: str, pos: int) -> None:
        if any(not char.isprintable() or char in " \ufffd" for char in value):
            raise _BadValue(f"bad {label} path {value}")
        if setting:
            parser.set(setting, value, pos)
    return apply


def _apply_mail(parser: _FileParser, word: str, value: str, pos: int) -> None:
    if any(not "!" <= char <= "~" for char in value):
        raise _BadValue(f"bad mail address {value}")


def _apply_mode_owner_group(parser: _FileParser, word: str, value: str, pos: int) -> None:
    """create/createolddir [mode] [owner [group]] (readModeUidGid; names are not resolved here)."""
    mode = _C_OCTAL.match(value)
    names, more = _scanf_strings(value[mode.end() :] if mode else value)
    if len(names) == 2 and more:
        raise _BadValue(f"extra arguments for {word}")


def _apply_su(parser: _FileParser, word: str, value: str, pos: int) -> None:
    names, more = _scanf_strings(value)
    if len(names) == 2 and more:
        raise _BadValue("extra arguments for su")
    for setting, name in zip(("su_user", "su_group"), names, strict=False):
        parser.set(setting, name, pos)
    # A user or group may come from an earlier su, even a global one.
    if parser.settings["su_user"].value is None:
        raise _BadValue("no user for su")
    if parser.settings["su_group"].value is None:
        raise _BadValue("no group for su")


def _apply_compress_options(parser: _FileParser, word: str, value: str, pos: int) -> None:
    if _popt_split(value) is None:
        raise _BadValue("invalid compression options")


def _olddir(parser: _FileParser, word: str, pos: int, end: int) -> int:
    parser.set("olddir", None, pos)  # logrotate drops the old one before it reads the new one
    return _OLDDIR_VALUE(parser, word, pos, end)


_OLDDIR_VALUE = _with_value("olddir", _path("olddir", "olddir"))


def _weekly(parser: _FileParser, word: str, pos: int, end: int) -> int:
    parser.set("criterion", "weekly", pos)
    weekday, after = parser.isolate_line(end)
    if weekday and not _WEEKDAY.fullmatch(weekday):
        parser.problem(pos, f"bad weekly directive '{weekday}'")
        raise _Abort  # logrotate gives up on the file here, even inside a block
    return after


def _deprecated_errors(parser: _FileParser, word: str, pos: int, end: int) -> int:
    parser.problem(pos, "the errors directive is deprecated and no longer used.")
    return end + 1


def _script_start(parser: _FileParser, word: str, pos: int, end: int) -> int:
    parser.script_line = parser.line(pos)
    parser.state = parser.script
    return end + 1


def _taboo(parser: _FileParser, word: str, pos: int, end: int) -> int:
    if parser.block is not None:
        parser.problem(pos, f"{word} may not appear inside of log file definition")
        return parser.raise_error(end)
    value, after = parser.isolate_value(end, word, pos)
    if value is None:
        return end + 1
    parser.reader.set_taboo(word, value)
    return after


def _include(parser: _FileParser, word: str, pos: int, end: int) -> int:
    """Read a file or directory right here, into the open block if there is one (3.21 allows it)."""
    value, after = parser.isolate_value(end, "include", pos)
    if value is None:
        return parser.raise_error(end)
    reader = parser.reader
    if reader.depth >= MAX_NESTING:
        parser.problem(pos, "include nesting too deep")
        parser.failed = True
        return after
    reader.depth += 1
    failed = reader.read_path(_expand_home(value), parser.settings, parser.cwd, (parser.path, parser.line(pos)))
    reader.depth -= 1
    parser.failed |= failed
    return after


_DIRECTIVES: dict[str, _Handler] = {
    "compress": _switch("compress", True),
    "nocompress": _switch("compress", False),
    "missingok": _switch("missingok", True),
    "nomissingok": _switch("missingok", False),
    "noolddir": _switch("olddir", None),
    "ignoreduplicates": _switch("ignoreduplicates", True),
    "hourly": _switch("criterion", "hourly"),
    "daily": _switch("criterion", "daily"),
    "monthly": _switch("criterion", "monthly"),
    "yearly": _switch("criterion", "yearly"),
    "weekly": _weekly,
    "rotate": _with_value("rotate count", _apply_rotate),
    "size": _with_value("size", _apply_size, required=False),
    "minsize": _with_value("minsize", _apply_size, required=False),
    "maxsize": _with_value("maxsize", _apply_size, required=False),
    "olddir": _olddir,
    "include": _include,
    "tabooext": _taboo,
    "taboopat": _taboo,
    "errors": _deprecated_errors,
    **{script: _script_start for script in _SCRIPTS},
    "su": _with_line(_apply_su),
    "create": _with_line(_apply_mode_owner_group),
    "createolddir": _with_line(_apply_mode_owner_group),
    "compressoptions": _with_line(_apply_compress_options),
    "compresscmd": _with_value("compress", _path("compress")),
    "uncompresscmd": _with_value("uncompress", _path("uncompress")),
    "compressext": _with_value("compress-ext", _path("compress-ext")),
    "extension": _with_value("extension name", _nothing),
    "addextension": _with_value("addextension name", _nothing),
    "dateformat": _with_value("dateformat", _nothing, required=False),
    "mail": _with_value("mail", _apply_mail),
    "start": _with_value("start count", _count("start count")),
    "minage": _with_value("minage count", _count("minimum age")),
    "maxage": _with_value("maxage count", _count("maximum age")),
    "shredcycles": _with_value("shred cycles", _count("shred cycles")),
    **{flag: _accept for flag in (
        "delaycompress", "nodelaycompress", "shred", "noshred", "allowhardlink", "noallowhardlink",
        "sharedscripts", "nosharedscripts", "copytruncate", "nocopytruncate", "renamecopy", "norenamecopy",
        "copy", "nocopy", "ifempty", "notifempty", "dateext", "nodateext", "dateyesterday", "datehourago",
        "mailfirst", "maillast", "nocreate", "nocreateolddir", "nomail")},
}


# --- C library behaviour ------------------------------------------------------
_C_NUMBER = re.compile(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))")
_C_OCTAL = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-7]+")  # sscanf %ho
_C_STRING = re.compile(r"[ \t\n\v\f\r]*([^ \t\n\v\f\r]{1,199})")  # sscanf %199s
_WEEKDAY = re.compile(r"[ \t\n\v\f\r]*(?:\+?0*[0-7]|-0+)")  # sscanf "%u%c" giving 0..7


def _strtox(text: str) -> tuple[int, str]:
    """strtol()/strtoul() with base 0: the signed number read and the text left after it."""
    match = _C_NUMBER.match(text)
    if not match:
        return 0, text  # no digits: nothing is consumed
    sign, hexadecimal, octal, decimal = match.groups()
    number = int(hexadecimal, 16) if hexadecimal else int(octal, 8) if octal else int(decimal)
    return (-number if sign == "-" else number), text[match.end() :]


def _unsigned(number: int) -> int:
    """strtoul(): negative numbers wrap, too large ones clamp to ULONG_MAX."""
    return 2**64 - 1 if abs(number) >= 2**64 else number % 2**64


def _wrap(number: int, bits: int) -> int:
    """The C cast of number to a signed integer of that many bits."""
    number %= 2**bits
    return number - 2**bits if number >= 2 ** (bits - 1) else number


def _size_bytes(text: str) -> int:
    """config.c size/minsize/maxsize: one unit letter, then strtoull() base 0 into a signed off_t."""
    unit = text[-1]
    if unit in _SIZE_UNITS:
        multiplier, text = _SIZE_UNITS[unit], text[:-1]
    elif unit in _DIGITS:
        multiplier = 1
    else:
        raise _BadValue(f"unknown unit '{unit}'")
    number, rest = _strtox(text)
    size = _wrap(multiplier * _unsigned(number), 64)
    if rest or size < 0:
        raise _BadValue(f"bad size '{text}'")
    return size


def _scanf_strings(text: str) -> tuple[list[str], bool]:
    """sscanf(text, "%199s %199s%c"): the strings read and whether a character is left over."""
    strings, pos = [], 0
    while len(strings) < 2:
        match = _C_STRING.match(text, pos)
        if not match:
            return strings, False
        strings.append(match.group(1))
        pos = match.end()
    return strings, pos < len(text)


def _popt_split(text: str) -> list[str] | None:
    """poptParseArgvString(): shell-like words with '' "" and \\; None where popt fails (on a
    trailing backslash, and when there is no word at all)."""
    words, current, quote, pos = [], [], "", 0
    while pos < len(text):
        char = text[pos]
        if quote and char == quote:
            quote = ""
        elif quote or char not in _SPACE:
            if char == "\\":
                pos += 1
                if pos == len(text):
                    return None
                if quote and text[pos] != quote:
                    current.append("\\")  # in quotes a backslash escapes only the quote
                current.append(text[pos])
            elif not quote and char in "\"'":
                quote = char
            else:
                current.append(char)
        elif current:
            words.append("".join(current))
            current = []
        pos += 1
    if current:
        words.append("".join(current))
    return words or None


def _expand_home(path: str) -> str:
    return ROOT_HOME + path[1:] if path.startswith("~/") else path


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\v\\f\\r", "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob(3) pattern as a regex: wildcards never match '/', nor a leading '.' of a name."""
    parts, pos = [], 0
    while pos < len(pattern):
        char = pattern[pos]
        bracket = _bracket(pattern, pos) if char == "[" else None
        if char in "*?" or bracket:
            if pos == 0 or pattern[pos - 1] == "/":
                parts.append(r"(?!\.)")
            if bracket:
                parts.append(bracket[0])
                pos = bracket[1]
                continue
            parts.append("[^/]*" if char == "*" else "[^/]")
        elif char == "\\" and pos + 1 < len(pattern):
            pos += 1
            parts.append(re.escape(pattern[pos]))
        else:
            parts.append(re.escape(char))
        pos += 1
    return re.compile("".join(parts))


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """A [...] expression at start as a regex set and the position after it; None if it is a plain '['."""
    pos = start + 1
    negate = pos < len(pattern) and pattern[pos] in "!^"
    pos += negate
    items = []
    while pos < len(pattern) and pattern[pos] != "/":
        char = pattern[pos]
        if char == "]" and pos > start + 1 + negate:
            body = "".join(items) + ("/" if negate else "")
            if not body:
                return "(?!)", pos + 1  # only empty ranges: matches nothing
            return f"[{'^' if negate else ''}{body}]", pos + 1
        if pattern.startswith("[:", pos) and (close := pattern.find(":]", pos + 2)) > 0:
            items.append(_POSIX_CLASSES.get(pattern[pos + 2 : close], ""))
            pos = close + 2
            continue
        if char == "\\" and pos + 1 < len(pattern):
            pos += 1
            char = pattern[pos]
        if pattern[pos + 1 : pos + 2] == "-" and pos + 2 < len(pattern) and pattern[pos + 2] not in "]/":
            high = pattern[pos + 2]
            if char <= high:
                items.append(f"{re.escape(char)}-{re.escape(high)}")
            pos += 3
            continue
        items.append(re.escape(char))
        pos += 1
    return None
