"""Which containers a cron command runs the WhatsApp Business API cleanup script in.

The docs ask operators to run ``docker exec <container> /opt/whatsapp/bin/cleanup.sh`` daily,
from host cron, in every Webapp, Coreapp and Master container. :func:`cleanup_calls` reads one
cron command (the caller has already undone cron's ``%`` escaping) as ``sh`` would and returns
every ``docker exec`` of that script; :func:`covered` tells which containers one of them reaches.

The command is tokenised and parsed here, as a small POSIX sh (plus the bash forms seen in
crontabs) rather than with a library: ``shlex`` knows neither ``$( )`` nor backticks, and
bashlex is GPL. Recognised:

* quotes, backslashes, ``$( )``, backticks, ``${ }``, ``$(( ))``, ``<( )``, comments;
  ``;`` ``&`` ``&&`` ``||`` ``|`` and newlines; redirections; ``( )`` and ``{ }`` groups,
  ``if``, ``case``, ``while``/``until``, ``for`` and function bodies. Only words in command
  position run anything: ``echo docker exec ...`` covers nothing. Every call counts whatever
  the control flow around it (after ``&&``, in an ``if`` branch): cron may well run it.
* commands that run another one: ``sudo``, ``timeout``, ``flock`` (also ``flock FILE -c``),
  ``nice``, ``ionice``, ``nohup``, ``env``, ``stdbuf``, ``time``, ``exec``, ``command``,
  ``chronic``, ``cronic``, ``su``/``runuser -c``, and ``sh``/``bash -c STRING``, whose string is
  parsed again.
* ``docker [global options] [container] exec [options] CONTAINER COMMAND`` with the docker CLI's
  option syntax (``-it``, ``-uroot``, ``--user=root``); ``docker`` by any path. An option docker
  does not know makes docker fail, so such a command covers nothing.
* the script run directly or through a wrapper, as ``sh``/``bash SCRIPT``, or anywhere in an
  ``sh -c '...'``: by its absolute path, or relative to ``-w/--workdir``.
* the container given literally, or as a placeholder: a loop variable (``$c``, ``${c}``,
  ``"$c"``), the ``xargs`` replacement string (``-I``, ``-i``), or ``{}``. A placeholder is fed by
  ``for c in $(docker ps ...)`` (or backticks), ``docker ps ... | xargs``, ``docker ps ... |
  while read c`` or ``done < <(docker ps ...)``; ``for c in name1 name2`` gives literal targets.
  ``docker exec $(docker ps -q ...) ...`` uses the whole listing as one target: it works only
  when exactly one container is listed (``CleanupCall.single``).

A ``docker ps`` (or ``docker container ls``) feeds container references only when it prints one
per line: ``-q``, or ``--format`` of just ``{{.ID}}`` or ``{{.Names}}``. One that prints anything
else, limits its listing (``-n``, ``-l``), is piped through another command or cannot be read
feeds containers nobody can name: its calls have neither target nor loop, and cover nothing.

:meth:`DockerPsFilter.matches` follows the daemon (moby ``daemon/list.go``), checked against
Docker 20.10: ``name`` is a regular expression searched in the name with and without its leading
``/``; ``id`` is an ID prefix that must be unique among all containers; ``label`` values are ANDed,
not ORed; ``status`` also lists stopped containers without ``-a``; ``ancestor`` resolves an image
reference, so a bare repository means its ``:latest`` tag, not any tag.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

__all__ = ["CLEANUP", "CleanupCall", "CommandParseError", "ContainerView", "DockerPsFilter", "ScriptRun",
           "cleanup_calls", "command_sites", "covered", "looks_like_container_id", "scripts_run"]

CLEANUP = "/opt/whatsapp/bin/cleanup.sh"


class CommandParseError(ValueError):
    """The command is not valid shell (sh would refuse it too)."""


# -- what the caller knows, and what we tell it ----------------------------------------------------
@dataclass(frozen=True)
class ContainerView:
    """What the caller knows about a container."""

    name: str
    id: str                          # the full 64-hex ID
    # The image as `docker ps` shows it: the reference it was created from, or the image's short ID
    # once that reference names another image (as docker's ancestor= filter then sees it).
    image: str
    labels: Mapping[str, str]
    status: str                      # docker's State.Status: running, exited, paused...
    image_id: str = ""               # sha256:... when known, for `ancestor=<image ID>`


@dataclass(frozen=True)
class DockerPsFilter:
    """The ``docker ps`` a loop iterates over."""

    filters: tuple[tuple[str, str], ...]   # (key, value) in order, keys lower-cased as docker does
    all: bool                              # -a / --all

    @property
    def unsupported_keys(self) -> tuple[str, ...]:
        """Filter keys :meth:`matches` cannot evaluate (docker's others, or ones docker rejects)."""
        return tuple(dict.fromkeys(key for key, _ in self.filters if key not in _FILTER_TESTS))

    def matches(self, container: ContainerView, among: Sequence[ContainerView] = ()) -> bool:
        """Whether this ``docker ps`` lists `container`; `among` (every container of the engine)
        tells apart the ``id=`` prefixes docker finds ambiguous. Values of one key are ORed
        (``label`` ANDed), different keys ANDed. False whenever a key is unsupported."""
        if self.unsupported_keys:
            return False
        wanted: dict[str, list[str]] = {}
        for key, value in self.filters:
            wanted.setdefault(key, []).append(value)
        # A status filter makes docker list every container, as -a does.
        if not (self.all or "status" in wanted or container.status in _LISTED_WITHOUT_ALL):
            return False
        return all(_FILTER_TESTS[key](values, container, among) for key, values in wanted.items())


@dataclass(frozen=True)
class CleanupCall:
    """One way the command runs cleanup.sh inside containers."""

    target: str | None               # literal container name or ID given to docker exec; None for a placeholder
    loop: DockerPsFilter | None      # the docker ps whose output feeds the placeholder, when known
    text: str                        # the fragment of the command it came from (for messages)
    single: bool = False             # the whole listing is one docker exec target: works for exactly one container


def cleanup_calls(command: str) -> tuple[CleanupCall, ...]:
    """Every docker exec of cleanup.sh in a shell command line, in order; () when there is none.

    Raises CommandParseError only, when sh would not parse the command either."""
    try:
        return tuple(_calls(_parse(command), _Scope()))
    except RecursionError:
        raise CommandParseError("command nested too deeply") from None


def command_sites(command: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """The words of every simple command `sh` would run for this line, in order: wrappers
    (sudo, timeout, flock, su -c...) unwrapped, and the commands of `sh -c` strings, of command
    substitutions and of xargs included; words in any other position (echo's arguments, comments,
    strings) run nothing and are not commands. Each word after quote removal, its expansions as
    written (`${HOST}`); each command with the fragment of `command` it is in — the simple command
    itself, or the one whose `sh -c` string or substitution holds it — so that a line can be
    named. The reader other detectors share with cleanup_calls (gc_job.py).

    Raises CommandParseError only, when sh would not parse the command either."""
    for words, text in _sites(command):
        yield tuple(word.raw for word in words), text


def _sites(command: str) -> Iterator[tuple[Sequence[_Word], str]]:
    try:
        yield from _run(_parse(command), None)
    except RecursionError:
        raise CommandParseError("command nested too deeply") from None


def _run(nodes: Sequence[_Node], where: str | None) -> Iterator[tuple[Sequence[_Word], str]]:
    for simple in _simple_commands(nodes):
        text = where or simple.text
        for word in simple.words + simple.others:
            for part in word.parts:
                if part.kind in ("command", "process"):
                    yield from _run(_parse(part.text), text)
        yield from _run_words(_unwrap(simple.words), text)


def _run_words(words: Sequence[_Word], text: str) -> Iterator[tuple[Sequence[_Word], str]]:
    if not words:
        return
    yield words, text
    program = _program(words[0])
    if program in _SHELLS:
        operand = _shell_operand(words)
        if operand and operand[0]:
            try:
                yield from _run(_parse(operand[1].raw), text)
            except CommandParseError:
                pass                 # that sh fails: it runs nothing
    elif program == "xargs":
        parsed = _parse_options(words[1:], _XARGS)
        if parsed is not None:
            yield from _run_words(_unwrap(parsed[1]), text)


@dataclass(frozen=True)
class ScriptRun:
    """A script file a command runs, named by its absolute path."""

    path: str                        # as written
    text: str                        # the fragment of the command that runs it
    directly: bool                   # run by its path (the kernel then wants its execute bit), not as `sh FILE` or `. FILE`


def scripts_run(command: str) -> tuple[ScriptRun, ...]:
    """Every file the command runs by absolute path, in order: `/usr/local/bin/wa-cleanup.sh`
    (through wrappers too), `sh /path`, `bash -e /path`, `. /path`, `source /path`. Whether
    the file is a script or a program is the caller's to tell; a path held in a variable, or
    relative (cron runs commands in the user's home), is not known here.

    Raises CommandParseError only, when sh would not parse the command either."""
    return tuple(run for words, text in _sites(command) if (run := _script_of(words, text)))


def _script_of(words: Sequence[_Word], text: str) -> ScriptRun | None:
    first = words[0].value
    program = _program(words[0])
    if program in _SHELLS:
        operand = _shell_operand(words)
        if operand and not operand[0] and (operand[1].value or "").startswith("/"):
            return ScriptRun(operand[1].value, text, directly=False)
        return None
    if first in (".", "source") and len(words) > 1 and (words[1].value or "").startswith("/"):
        return ScriptRun(words[1].value, text, directly=False)
    if first is not None and first.startswith("/"):
        return ScriptRun(first, text, directly=True)
    return None


def looks_like_container_id(target: str) -> bool:
    """A full container ID or the short form docker prints (12 to 64 lowercase hex digits)."""
    return re.fullmatch(r"[0-9a-f]{12,64}", target) is not None


def covered(call: CleanupCall, containers: Sequence[ContainerView]) -> list[ContainerView]:
    """The containers this call runs cleanup.sh in: docker exec's own lookup of a literal target,
    or the containers the loop's docker ps lists."""
    if call.target is not None:
        found = _exec_lookup(call.target, containers)
        return [found] if found else []
    if call.loop is None:
        return []
    listed = [c for c in containers if call.loop.matches(c, containers)]
    return listed if not call.single or len(listed) == 1 else []


def _exec_lookup(target: str, containers: Sequence[ContainerView]) -> ContainerView | None:
    """docker's GetContainer: a full ID, then an exact name ('/name' too), then a unique ID prefix."""
    for container in containers:
        if container.id == target:
            return container
    for container in containers:
        if container.name.removeprefix("/") == target.removeprefix("/"):
            return container
    by_prefix = [c for c in containers if target and c.id.startswith(target)]
    return by_prefix[0] if len(by_prefix) == 1 else None


# -- docker ps --filter, as the daemon evaluates it ------------------------------------------------
_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")
_STATES = frozenset({"created", "restarting", "running", "removing", "paused", "exited", "dead"})
# docker keeps State.Running true while a container is paused or restarting.
_LISTED_WITHOUT_ALL = frozenset({"running", "paused", "restarting"})


def _name_matches(patterns: list[str], container: ContainerView, among: Sequence[ContainerView]) -> bool:
    bare = container.name.removeprefix("/")
    return any(_search(pattern, bare) or _search(pattern, "/" + bare) for pattern in patterns)


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False                 # docker skips a value that is not a regular expression


def _id_matches(prefixes: list[str], container: ContainerView, among: Sequence[ContainerView]) -> bool:
    return any(_unique_prefix(prefix, container, among) for prefix in prefixes)


def _unique_prefix(prefix: str, container: ContainerView, among: Sequence[ContainerView]) -> bool:
    if not prefix or not container.id.startswith(prefix):
        return False
    return all(other.id == container.id or not other.id.startswith(prefix) for other in among)


def _label_matches(wanted: list[str], container: ContainerView, among: Sequence[ContainerView]) -> bool:
    return all(_has_label(label, container.labels) for label in wanted)


def _has_label(wanted: str, labels: Mapping[str, str]) -> bool:
    key, has_value, value = wanted.partition("=")
    return key in labels and (not has_value or labels[key] == value)


def _status_matches(wanted: list[str], container: ContainerView, among: Sequence[ContainerView]) -> bool:
    # An unknown status makes docker ps fail: it lists nothing.
    return all(status in _STATES for status in wanted) and container.status in wanted


def _ancestor_matches(images: list[str], container: ContainerView, among: Sequence[ContainerView]) -> bool:
    return any(_from_image(image, container) for image in images)


def _from_image(wanted: str, container: ContainerView) -> bool:
    """The daemon resolves `wanted` as a reference, then as an image ID prefix. Without the image
    store we compare references (so tags that share one image are not seen as one) and IDs."""
    if not wanted:
        return False
    if container.image and _normalized_reference(wanted) == _normalized_reference(container.image):
        return True
    wanted_id = wanted.removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]+", wanted_id):
        return False
    known = [i.removeprefix("sha256:") for i in (container.image_id, container.image) if _IMAGE_ID.fullmatch(i)]
    return any(i.startswith(wanted_id) or wanted_id.startswith(i) for i in known)


def _normalized_reference(reference: str) -> str:
    """docker's ParseNormalizedNamed + TagNameOnly: ubuntu -> docker.io/library/ubuntu:latest."""
    name, at, digest = reference.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, has_slash, rest = name.partition("/")
    if not has_slash or ("." not in first and ":" not in first and first != "localhost"):
        first, rest = "docker.io", name
    elif first == "index.docker.io":
        first = "docker.io"
    if first == "docker.io" and "/" not in rest:
        rest = "library/" + rest
    if not tag and not at:
        tag = "latest"
    return f"{first}/{rest}" + (f":{tag}" if tag else "") + (f"@{digest}" if at else "")


_FILTER_TESTS = {"name": _name_matches, "id": _id_matches, "label": _label_matches,
                 "status": _status_matches, "ancestor": _ancestor_matches}


# -- tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    kind: str                        # text | param (text: its name) | command | process (text: the command) | other
    text: str
    quoted: bool = False             # inside double quotes: a quoted $( ) is not split into words


@dataclass(frozen=True)
class _Word:
    parts: tuple[_Part, ...]
    start: int
    end: int
    plain: bool = True               # nothing quoted or escaped: only then can it be a reserved word
    assignment: bool = False         # starts with an unquoted NAME=

    @property
    def value(self) -> str | None:
        """The word after quote removal; None when it holds an expansion."""
        if any(part.kind != "text" for part in self.parts):
            return None
        return "".join(part.text for part in self.parts)

    @property
    def raw(self) -> str:
        """The word after quote removal with its expansions as written: what `sh -c` reads again."""
        return "".join(_RAW[part.kind].format(part.text) for part in self.parts)


_RAW = {"text": "{}", "param": "${{{}}}", "command": "$({})", "process": "<({})", "other": "{}"}


@dataclass(frozen=True)
class _Op:
    text: str
    start: int
    end: int


_OPERATORS = sorted(["&&", "||", ";;&", ";;", ";&", "|&", "&>>", "&>", "<<<", "<<-", "<<", ">>", "<&",
                     ">&", "<>", ">|", ";", "&", "|", "(", ")", "<", ">", "\n"], key=len, reverse=True)
_REDIRECTIONS = frozenset({"<", ">", ">>", "<<", "<<-", "<<<", "<&", ">&", "<>", ">|", "&>", "&>>"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]|[@*#?$!-]")
_BRACED_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-]")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _literal(text: str) -> _Word:
    return _Word((_Part("text", text),), 0, 0)


class _Lexer:
    """Splits a command line into words and operators as sh does."""

    def __init__(self, source: str):
        self.source = source
        self.pos = 0

    def tokens(self, nested: bool = False) -> list[_Word | _Op]:
        """Tokens up to the end, or, when `nested`, up to the ')' closing a $( (consumed)."""
        tokens: list[_Word | _Op] = []
        depth = 0
        here_documents: list[tuple[str, bool]] = []   # (delimiter, tabs stripped): bodies after the next newline
        while True:
            self._skip_blanks()
            if self.pos >= len(self.source):
                if nested:
                    raise CommandParseError("unterminated $(")
                return tokens
            if self.source[self.pos] == "#":
                end = self.source.find("\n", self.pos)
                self.pos = len(self.source) if end < 0 else end
                continue
            token = self._operator() or self._word()
            if isinstance(token, _Word) and tokens and isinstance(tokens[-1], _Op) and tokens[-1].text in ("<<", "<<-"):
                delimiter = token.value if token.value is not None else self.source[token.start:token.end]
                here_documents.append((delimiter, tokens[-1].text == "<<-"))
            if isinstance(token, _Op) and token.text == "\n" and here_documents:
                self._skip_here_documents(here_documents)
                here_documents = []
            if isinstance(token, _Op) and nested and token.text in ("(", ")"):
                if token.text == ")" and depth == 0:
                    return tokens
                depth += 1 if token.text == "(" else -1
            tokens.append(token)

    def _skip_here_documents(self, documents: list[tuple[str, bool]]) -> None:
        """Skip the bodies of here-documents, each up to its delimiter line (or the end, as bash
        and dash accept). What they hold is data fed to a command, not commands."""
        for delimiter, strip_tabs in documents:
            while self.pos < len(self.source):
                end = self.source.find("\n", self.pos)
                end = len(self.source) if end < 0 else end
                line = self.source[self.pos:end]
                self.pos = min(end + 1, len(self.source))
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break

    def _skip_blanks(self) -> None:
        while self.pos < len(self.source):
            if self.source[self.pos] in " \t":
                self.pos += 1
            elif self.source.startswith("\\\n", self.pos):
                self.pos += 2
            else:
                return

    def _operator(self, start: int | None = None) -> _Op | None:
        if self.source.startswith(("<(", ">("), self.pos):
            return None              # a process substitution is a word
        for op in _OPERATORS:
            if self.source.startswith(op, self.pos):
                self.pos += len(op)
                return _Op(op, self.pos - len(op) if start is None else start, self.pos)
        return None

    def _word(self) -> _Word | _Op:
        start = self.pos
        assignment = _ASSIGNMENT.match(self.source, start) is not None
        parts: list[_Part] = []
        plain = True
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char in " \t\n;&|()<>" and not (self.pos == start and self.source.startswith(("<(", ">("), start)):
                break
            if char in "\\'\"":
                plain = False
            parts.extend(self._word_part(char))
        word = _Word(_merged(parts), start, self.pos, plain, assignment)
        if plain and (word.value or "").isdigit() and self.source[self.pos:self.pos + 1] in ("<", ">"):
            return self._operator(start=start) or word   # a file descriptor number: `2>&1`
        return word

    def _word_part(self, char: str) -> list[_Part]:
        source, pos = self.source, self.pos
        if char == "\\":
            self.pos += 2
            following = source[pos + 1:pos + 2]
            return [] if following == "\n" else [_Part("text", following or "\\")]
        if char == "'":
            end = source.find("'", pos + 1)
            if end < 0:
                raise CommandParseError("unterminated single quote")
            self.pos = end + 1
            return [_Part("text", source[pos + 1:end])]
        if char == '"':
            return self._double_quoted()
        if char == "`":
            return [_Part("command", self._backquoted(in_double_quotes=False))]
        if char == "$":
            return [self._dollar(quoted=False)]
        if source.startswith(("<(", ">("), pos):
            self.pos += 2
            return [_Part("process", self._substitution())]
        self.pos += 1
        return [_Part("text", char)]

    def _double_quoted(self) -> list[_Part]:
        parts = []
        self.pos += 1
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == '"':
                self.pos += 1
                return parts
            if char == "\\" and self.source[self.pos + 1:self.pos + 2] in ("$", "`", '"', "\\", "\n"):
                if self.source[self.pos + 1] != "\n":
                    parts.append(_Part("text", self.source[self.pos + 1]))
                self.pos += 2
            elif char == "`":
                parts.append(_Part("command", self._backquoted(in_double_quotes=True), quoted=True))
            elif char == "$":
                parts.append(self._dollar(quoted=True))
            else:
                parts.append(_Part("text", char))
                self.pos += 1
        raise CommandParseError("unterminated double quote")

    def _backquoted(self, in_double_quotes: bool) -> str:
        escapable = '$`\\"' if in_double_quotes else "$`\\"
        body = []
        pos = self.pos + 1
        while pos < len(self.source):
            char = self.source[pos]
            if char == "`":
                self.pos = pos + 1
                return "".join(body)
            if char == "\\" and self.source[pos + 1:pos + 2] and self.source[pos + 1] in escapable:
                pos += 1
                char = self.source[pos]
            body.append(char)
            pos += 1
        raise CommandParseError("unterminated backquote")

    def _dollar(self, quoted: bool) -> _Part:
        source, pos = self.source, self.pos
        if source.startswith("$((", pos):
            self.pos = self._closing(pos + 3, "(", ")", depth=2, what="$((")
            return _Part("other", source[pos:self.pos], quoted)
        if source.startswith("$(", pos):
            self.pos += 2
            return _Part("command", self._substitution(), quoted)
        if source.startswith("${", pos):
            self.pos = self._closing(pos + 2, "{", "}", depth=1, what="${")
            inner = source[pos + 2:self.pos - 1]
            kind = "param" if _BRACED_PARAMETER.fullmatch(inner) else "other"
            return _Part(kind, inner if kind == "param" else source[pos:self.pos], quoted)
        if source.startswith("$'", pos) and not quoted:
            self.pos = self._closing(pos + 2, "", "'", depth=1, what="$'")
            return _Part("other", source[pos:self.pos])
        name = _PARAMETER.match(source, pos + 1)
        if name:
            self.pos = name.end()
            return _Part("param", name.group(), quoted)
        self.pos += 1
        return _Part("text", "$")

    def _substitution(self) -> str:
        """The command of a $( or <( whose opening is just behind; leaves pos after its ')'."""
        start = self.pos
        self.tokens(nested=True)
        return self.source[start:self.pos - 1]

    def _closing(self, pos: int, opening: str, closing: str, depth: int, what: str) -> int:
        """Position just after the `closing` that brings `depth` to zero (backslashes escape)."""
        while pos < len(self.source):
            char = self.source[pos]
            if char == "\\":
                pos += 2
                continue
            if char == closing:
                depth -= 1
                if depth == 0:
                    return pos + 1
            elif opening and char == opening:
                depth += 1
            pos += 1
        raise CommandParseError(f"unterminated {what}")


def _merged(parts: list[_Part]) -> tuple[_Part, ...]:
    """Adjacent text parts joined into one, empty ones dropped."""
    merged: list[_Part] = []
    for part in parts:
        if part.kind == "text" and merged and merged[-1].kind == "text":
            merged[-1] = _Part("text", merged[-1].text + part.text)
        elif part.kind != "text" or part.text:
            merged.append(part)
    return tuple(merged)


# -- syntax tree -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Simple:
    words: tuple[_Word, ...]         # the command and its arguments
    others: tuple[_Word, ...]        # assignments and redirection targets: only their substitutions run
    text: str


@dataclass(frozen=True)
class _Pipeline:
    commands: tuple[_Node, ...]
    text: str


@dataclass(frozen=True)
class _For:
    variable: str
    items: tuple[_Word, ...] | None  # None: `for c; do`, over the positional parameters
    body: tuple[_Node, ...]
    text: str


@dataclass(frozen=True)
class _While:
    condition: tuple[_Node, ...]
    body: tuple[_Node, ...]


@dataclass(frozen=True)
class _Group:
    """Subshell, brace group, if, case or function: only the commands inside matter."""
    body: tuple[_Node, ...]
    words: tuple[_Word, ...] = ()    # e.g. case's word, whose substitutions run


@dataclass(frozen=True)
class _Redirected:
    command: _Node
    redirections: tuple[tuple[str, _Word], ...]
    text: str


def _adjacent_op(token: _Word | _Op, following: Sequence[_Word | _Op], op: str) -> bool:
    """The next token is `op`, written right after `token` (no blank between them)."""
    return bool(following) and isinstance(following[0], _Op) and following[0].text == op and following[0].start == token.end


_Node = _Simple | _Pipeline | _For | _While | _Group | _Redirected
_CASE_ENDS = (";;", ";&", ";;&")


@functools.lru_cache(maxsize=256)   # a $( ) or sh -c string is parsed again for each use of it
def _parse(source: str) -> tuple[_Node, ...]:
    return _Parser(_Lexer(source).tokens(), source).program()


class _Parser:
    """Recursive descent over the POSIX shell grammar; bodies are flat tuples of pipelines."""

    def __init__(self, tokens: list[_Word | _Op], source: str):
        self.tokens, self.source, self.index = tokens, source, 0

    def program(self) -> tuple[_Node, ...]:
        body = self._list(())
        if self.index < len(self.tokens):
            raise self._unexpected()
        return body

    # token helpers
    def _peek(self) -> _Word | _Op | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _advance(self) -> _Word | _Op:
        token = self._peek()
        if token is None:
            raise self._unexpected()
        self.index += 1
        return token

    def _at_op(self, *ops: str) -> bool:
        token = self._peek()
        return isinstance(token, _Op) and token.text in ops

    def _at_reserved(self, *words: str) -> bool:
        token = self._peek()
        return isinstance(token, _Word) and token.plain and token.value in words

    def _expect_op(self, op: str) -> None:
        if not self._at_op(op):
            raise self._unexpected()
        self.index += 1

    def _expect_reserved(self, word: str) -> None:
        if not self._at_reserved(word):
            raise self._unexpected()
        self.index += 1

    def _expect_word(self) -> _Word:
        token = self._advance()
        if not isinstance(token, _Word):
            raise self._unexpected(token)
        return token

    def _newlines(self) -> None:
        while self._at_op("\n"):
            self.index += 1

    def _unexpected(self, token: _Word | _Op | None = None) -> CommandParseError:
        token = token or self._peek()
        if token is None:
            return CommandParseError("unexpected end of command")
        shown = "newline" if isinstance(token, _Op) and token.text == "\n" else repr(self.source[token.start:token.end])
        return CommandParseError(f"syntax error near {shown} at offset {token.start}")

    def _text_from(self, first: int) -> str:
        return self.source[self.tokens[first].start:self.tokens[self.index - 1].end]

    # grammar
    def _list(self, terminators: tuple[str, ...]) -> tuple[_Node, ...]:
        """Commands separated by ; & or newlines, up to a terminator, ')' or ';;' (not consumed)."""
        nodes: list[_Node] = []
        while True:
            self._newlines()
            if self._peek() is None or self._at_op(")", *_CASE_ENDS) or self._at_reserved(*terminators):
                return tuple(nodes)
            nodes.extend(self._and_or())
            if not self._at_op(";", "&", "\n"):
                return tuple(nodes)
            self.index += 1

    def _and_or(self) -> list[_Node]:
        pipelines = [self._pipeline()]
        while self._at_op("&&", "||"):
            self.index += 1
            self._newlines()
            pipelines.append(self._pipeline())
        return pipelines

    def _pipeline(self) -> _Pipeline:
        first = self.index
        if self._at_reserved("!"):
            self.index += 1
        commands = [self._command()]
        while self._at_op("|", "|&"):
            self.index += 1
            self._newlines()
            commands.append(self._command())
        return _Pipeline(tuple(commands), self._text_from(first))

    def _command(self) -> _Node:
        first = self.index
        compound = self._compound()
        if compound is None:
            return self._simple()
        redirections = self._redirections()
        return _Redirected(compound, redirections, self._text_from(first)) if redirections else compound

    def _compound(self) -> _Node | None:
        token, following = self._peek(), self.tokens[self.index + 1:self.index + 2]
        if isinstance(token, _Op) and token.text == "(" and _adjacent_op(token, following, "("):
            return self._arithmetic()
        if isinstance(token, _Op) and token.text == "(":
            self.index += 1
            body = self._list(())
            self._expect_op(")")
            return _Group(body)
        if not isinstance(token, _Word):
            return None
        parse = {"{": self._brace_group, "if": self._if, "for": self._for, "while": self._while,
                 "until": self._while, "case": self._case, "function": self._function}.get(token.value)
        reserved = token.plain and (parse or token.value == "!")
        if not reserved and not token.assignment and following and isinstance(following[0], _Op) and following[0].text == "(":
            return self._function()
        if not token.plain:
            return None
        if parse:
            return parse()
        if token.value in ("}", "then", "else", "elif", "fi", "do", "done", "esac"):
            raise self._unexpected()
        return None

    def _arithmetic(self) -> _Group:
        """bash's `(( expression ))`: it runs no command."""
        self._skip_parenthesised()
        return _Group(())

    def _skip_parenthesised(self) -> None:
        """Past the ')' matching the '(' at the current token."""
        depth = 0
        while True:
            token = self._advance()
            if isinstance(token, _Op) and token.text in ("(", ")"):
                depth += 1 if token.text == "(" else -1
                if depth == 0:
                    return

    def _redirections(self) -> tuple[tuple[str, _Word], ...]:
        redirections = []
        while self._at_op(*_REDIRECTIONS):
            op = self._advance().text
            redirections.append((op, self._expect_word()))
        return tuple(redirections)

    def _simple(self) -> _Simple:
        first = self.index
        words: list[_Word] = []
        others: list[_Word] = []
        while True:
            if self._at_op(*_REDIRECTIONS):
                others.extend(word for _, word in self._redirections())
            elif isinstance(self._peek(), _Word):
                word = self._advance()
                (others if word.assignment and not words else words).append(word)
                if word.assignment and (word.value or "").endswith("=") and _adjacent_op(word, self.tokens[self.index:self.index + 1], "("):
                    self._skip_parenthesised()         # bash's array: `hosts=(a b)`
            else:
                break
        if self.index == first:
            raise self._unexpected()
        return _Simple(tuple(words), tuple(others), self._text_from(first))

    def _brace_group(self) -> _Group:
        self.index += 1
        body = self._list(("}",))
        self._expect_reserved("}")
        return _Group(body)

    def _do_group(self) -> tuple[_Node, ...]:
        self._expect_reserved("do")
        body = self._list(("done",))
        self._expect_reserved("done")
        return body

    def _if(self) -> _Group:
        body: list[_Node] = []
        self.index += 1
        while True:
            body += self._list(("then",))
            self._expect_reserved("then")
            body += self._list(("elif", "else", "fi"))
            if not self._at_reserved("elif"):
                break
            self.index += 1
        if self._at_reserved("else"):
            self.index += 1
            body += self._list(("fi",))
        self._expect_reserved("fi")
        return _Group(tuple(body))

    def _for(self) -> _For:
        first = self.index
        self.index += 1
        variable = self._expect_word().value
        if variable is None or not _NAME.fullmatch(variable):
            raise CommandParseError(f"bad for loop variable near offset {self.tokens[self.index - 1].start}")
        self._newlines()
        items = None
        if self._at_reserved("in"):
            self.index += 1
            items = []
            while isinstance(self._peek(), _Word):
                items.append(self._advance())
            if not self._at_op(";", "\n"):
                raise self._unexpected()
            self.index += 1
        elif self._at_op(";"):
            self.index += 1
        self._newlines()
        body = self._do_group()
        return _For(variable, None if items is None else tuple(items), body, self._text_from(first))

    def _while(self) -> _While:
        self.index += 1
        condition = self._list(("do",))
        return _While(condition, self._do_group())

    def _case(self) -> _Group:
        self.index += 1
        word = self._expect_word()
        self._newlines()
        self._expect_reserved("in")
        self._newlines()
        body: list[_Node] = []
        while not self._at_reserved("esac"):
            if self._at_op("("):
                self.index += 1
            self._expect_word()
            while self._at_op("|"):
                self.index += 1
                self._expect_word()
            self._expect_op(")")
            body += self._list(("esac",))
            if self._at_op(*_CASE_ENDS):
                self.index += 1
                self._newlines()
            elif not self._at_reserved("esac"):
                raise self._unexpected()
        self.index += 1
        return _Group(tuple(body), (word,))

    def _function(self) -> _Group:
        if self._at_reserved("function"):
            self.index += 1
        self._expect_word()
        if self._at_op("("):
            self.index += 1
            self._expect_op(")")
        self._newlines()
        body = self._compound()
        if body is None:
            raise self._unexpected()
        return _Group((body,))


# -- command-line options --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Syntax:
    """The options of a command: spelling -> (canonical spelling, arity)."""

    options: Mapping[str, tuple[str, str]]
    pflag: bool = False              # docker's option library: `-u=root`, `--tty=false`
    operands: int = 0                # words between a wrapper's options and the command it runs
    assignments: bool = False        # NAME=value words may precede that command (env, sudo)
    shell_option: bool = False       # `flock FILE -c STRING` runs STRING with sh -c

    @classmethod
    def of(cls, flags: str = "", values: str = "", optional: str = "", **settings) -> _Syntax:
        """Options as spellings separated by spaces, aliases by '|': "-w|--workdir"."""
        options = {}
        for arity, spec in (("flag", flags), ("value", values), ("optional", optional)):
            for group in spec.split():
                spellings = group.split("|")
                options.update((spelling, (spellings[0], arity)) for spelling in spellings)
        return cls(options, **settings)


_Options = list[tuple[str, str | None]]   # (canonical option, its value; "" for a flag, None if not literal)


def _parse_options(words: Sequence[_Word], syntax: _Syntax) -> tuple[_Options, Sequence[_Word]] | None:
    """Leading options and the operands after them, getopt style (stopping at the first operand);
    None when an option is unknown or misses its value: the command would refuse to run."""
    found: _Options = []
    index = 0
    while index < len(words):
        text = words[index].value
        if text is None or not text.startswith("-") or text == "-":
            break
        index += 1
        if text == "--":
            break
        parsed = (_long_option if text.startswith("--") else _short_options)(text, words, index, syntax)
        if parsed is None:
            return None
        options, index = parsed
        found += options
    return found, words[index:]


def _long_option(text: str, words: Sequence[_Word], index: int, syntax: _Syntax) -> tuple[_Options, int] | None:
    name, has_value, value = text.partition("=")
    canonical, arity = syntax.options.get(name, (None, None))
    if arity is None or (arity == "flag" and has_value and not syntax.pflag):
        return None
    if arity == "value" and not has_value:
        if index == len(words):
            return None
        value, index = words[index].value, index + 1
    return [(canonical, value)], index


def _short_options(text: str, words: Sequence[_Word], index: int, syntax: _Syntax) -> tuple[_Options, int] | None:
    options: _Options = []
    letters = text[1:]
    while letters:
        canonical, arity = syntax.options.get("-" + letters[0], (None, None))
        rest = letters[1:]
        if arity is None:
            return None
        if syntax.pflag and rest.startswith("="):
            return options + [(canonical, rest[1:])], index
        if arity == "flag":
            options.append((canonical, ""))
            letters = rest
            continue
        if arity == "value" and not rest:
            if index == len(words):
                return None
            rest, index = words[index].value, index + 1
        return options + [(canonical, rest)], index
    return options, index


def _last(options: _Options, *names: str) -> str | None:
    values = [value for name, value in options if name in names]
    return values[-1] if values else None


def _flag(options: _Options, name: str) -> bool:
    """A boolean flag as pflag reads it: present, or `--flag=true`."""
    return _last(options, name) in ("", "1", "t", "T", "true", "TRUE", "True")


_DIGITS = " ".join(f"-{digit}" for digit in "0123456789")   # nice's old `nice -10 command`
_WRAPPERS = {
    "sudo": _Syntax.of(
        flags="-A|--askpass -B|--bell -b|--background -E -H|--set-home -i|--login -K|--remove-timestamp "
              "-k|--reset-timestamp -N|--no-update -n|--non-interactive -P|--preserve-groups -S|--stdin -s|--shell",
        values="-C|--close-from -D|--chdir -g|--group --host -p|--prompt -R|--chroot -r|--role "
               "-T|--command-timeout -t|--type -U|--other-user -u|--user",
        optional="--preserve-env", assignments=True),
    "timeout": _Syntax.of(flags="--foreground --preserve-status -v|--verbose", values="-k|--kill-after -s|--signal",
                          operands=1),
    "flock": _Syntax.of(flags="-s|--shared -x|-e|--exclusive -u|--unlock -n|--nb|--nonblock -o|--close "
                              "-F|--no-fork --verbose",
                        values="-w|--wait|--timeout -E|--conflict-exit-code", operands=1, shell_option=True),
    "nice": _Syntax.of(flags=_DIGITS, values="-n|--adjustment"),
    "ionice": _Syntax.of(flags="-t|--ignore", values="-c|--class -n|--classdata -p|--pid -P|--pgid -u|--uid"),
    "nohup": _Syntax.of(),
    "env": _Syntax.of(flags="-i|--ignore-environment -0|--null -v|--debug", values="-u|--unset -C|--chdir",
                      assignments=True),
    "stdbuf": _Syntax.of(values="-i|--input -o|--output -e|--error"),
    "time": _Syntax.of(flags="-p|--portability -v|--verbose -a|--append -q|--quiet", values="-f|--format -o|--output"),
    "exec": _Syntax.of(flags="-c -l", values="-a"),
    "command": _Syntax.of(flags="-p"),
    "chronic": _Syntax.of(flags="-e -v"),
    "cronic": _Syntax.of(),
}
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh"})
_DOCKER_GLOBAL = _Syntax.of(flags="-D|--debug --tls --tlsverify",
                            values="--config -c|--context -H|--host -l|--log-level --tlscacert --tlscert --tlskey",
                            pflag=True)
_DOCKER_EXEC = _Syntax.of(flags="-d|--detach -i|--interactive -t|--tty --privileged",
                          values="--detach-keys -e|--env --env-file -u|--user -w|--workdir", pflag=True)
_DOCKER_PS = _Syntax.of(flags="-a|--all -q|--quiet --no-trunc -s|--size -l|--latest",
                        values="-f|--filter --format -n|--last", pflag=True)
_XARGS = _Syntax.of(flags="-0|--null -r|--no-run-if-empty -t|--verbose -p|--interactive -x|--exit -o|--open-tty "
                          "--show-limits",
                    values="-a|--arg-file -d|--delimiter -E -I -L -n|--max-args -P|--max-procs -s|--max-chars "
                           "--process-slot-var",
                    optional="-i|--replace -e|--eof -l|--max-lines")
_READ = _Syntax.of(flags="-r -s -e", values="-a -d -i -n -N -p -t -u")
# What a --format must be for docker ps to print one container reference per line.
_REFERENCE_FORMAT = re.compile(r"\s*(table\s+)?\{\{\s*\.(ID|Names)\s*\}\}\s*")


def _program(word: _Word) -> str | None:
    value = word.value
    return None if value is None else posixpath.basename(value)


def _as_shell(string: _Word) -> list[_Word]:
    return [_literal("sh"), _literal("-c"), string]


def _unwrap(words: Sequence[_Word]) -> Sequence[_Word]:
    """The command a chain of wrappers (sudo, timeout, flock...) runs; () when none would run."""
    while words:
        name = _program(words[0])
        if name in ("su", "runuser"):
            return _su_command(words)
        syntax = _WRAPPERS.get(name)
        if syntax is None:
            return words
        parsed = _parse_options(words[1:], syntax)
        if parsed is None or len(parsed[1]) < syntax.operands:
            return ()
        words = parsed[1][syntax.operands:]
        if syntax.assignments:
            while words and words[0].value is not None and _ASSIGNMENT.match(words[0].value):
                words = words[1:]
        if syntax.shell_option and words and words[0].value in ("-c", "--command"):
            return _as_shell(words[1]) if len(words) > 1 else ()
    return words


def _su_command(words: Sequence[_Word]) -> Sequence[_Word]:
    """`su [user] -c STRING` (su accepts its options anywhere) runs STRING with the user's shell."""
    for index, word in enumerate(words):
        if word.value in ("-c", "--command") and index + 1 < len(words):
            return _as_shell(words[index + 1])
        if word.value is not None and word.value.startswith("--command="):
            return _as_shell(_literal(word.value.removeprefix("--command=")))
    return ()


def _shell_operand(words: Sequence[_Word]) -> tuple[bool, _Word] | None:
    """For `sh [options] ...`: (True, the -c string) or (False, the script); None if neither."""
    command_mode = False
    index = 1
    while index < len(words):
        text = words[index].value
        if text is None or text[:1] not in ("-", "+") or text in ("-", "+"):
            break
        index += 1
        if text == "--":
            break
        if text in ("--rcfile", "--init-file"):
            index += 1
        elif not text.startswith("--"):
            command_mode = command_mode or (text[0] == "-" and "c" in text)
            index += sum(letter in "oO" for letter in text[1:])   # -o/+o and -O take a name
    return (command_mode, words[index]) if index < len(words) else None


def _docker_subcommand(words: Sequence[_Word], *names: tuple[str, ...]) -> Sequence[_Word] | None:
    """The arguments after `docker [global options] NAME...` for one of `names`, else None."""
    if not words or _program(words[0]) != "docker":
        return None
    parsed = _parse_options(words[1:], _DOCKER_GLOBAL)
    if parsed is None:
        return None
    rest = parsed[1]
    values = [word.value for word in rest]
    for name in names:
        if tuple(values[:len(name)]) == name:
            return rest[len(name):]
    return None


def _exec_target(words: Sequence[_Word]) -> _Word | None:
    """The CONTAINER word of a `docker exec` that runs cleanup.sh."""
    arguments = _docker_subcommand(words, ("exec",), ("container", "exec"))
    parsed = None if arguments is None else _parse_options(arguments, _DOCKER_EXEC)
    if parsed is None or len(parsed[1]) < 2:
        return None
    options, (target, *command) = parsed
    return target if _runs_cleanup(command, _last(options, "-w")) else None


def _runs_cleanup(words: Sequence[_Word], workdir: str | None) -> bool:
    """Whether this command, run inside the container, runs cleanup.sh."""
    words = _unwrap(words)
    if not words or words[0].value is None:
        return False
    if _is_cleanup(words[0].value, workdir):
        return True
    operand = _shell_operand(words) if _program(words[0]) in _SHELLS else None
    if operand is None:
        return False
    command_mode, word = operand
    if not command_mode:
        return word.value is not None and _is_cleanup(word.value, workdir)
    try:
        return any(_runs_cleanup(simple.words, workdir) for simple in _simple_commands(_parse(word.raw)))
    except CommandParseError:
        return False                 # that sh -c fails: it runs nothing


def _is_cleanup(path: str, workdir: str | None) -> bool:
    if not path.startswith("/") and workdir and workdir.startswith("/"):
        path = posixpath.join(workdir, path)
    return posixpath.normpath(path) == CLEANUP


def _simple_commands(nodes: Sequence[_Node]) -> Iterator[_Simple]:
    for node in nodes:
        if isinstance(node, _Simple):
            yield node
        elif isinstance(node, _Pipeline):
            yield from _simple_commands(node.commands)
        elif isinstance(node, (_For, _Group)):
            yield from _simple_commands(node.body)
        elif isinstance(node, _While):
            yield from _simple_commands(node.condition + node.body)
        elif isinstance(node, _Redirected):
            yield from _simple_commands((node.command,))


def _docker_ps(words: Sequence[_Word]) -> DockerPsFilter | None:
    """The listing of a `docker ps` that prints one container reference per line, else None."""
    arguments = _docker_subcommand(_unwrap(words), ("ps",), ("container", "ls"), ("container", "list"),
                                   ("container", "ps"))
    parsed = None if arguments is None else _parse_options(arguments, _DOCKER_PS)
    if parsed is None or parsed[1]:
        return None                  # docker ps takes no operands
    options = parsed[0]
    if _flag(options, "-l") or _last(options, "-n") is not None:
        return None                  # the last N containers created, whatever their state
    if not _flag(options, "-q") and not _REFERENCE_FORMAT.fullmatch(_last(options, "--format") or ""):
        return None                  # -q wins over --format in the current docker CLI
    filters = [_filter_pair(value) for name, value in options if name == "-f"]
    if None in filters:
        return None
    return DockerPsFilter(tuple(filters), _flag(options, "-a"))


def _filter_pair(value: str | None) -> tuple[str, str] | None:
    """docker's filters.ParseFlag: KEY=VALUE, key trimmed and lower-cased, value trimmed."""
    if value is None or "=" not in value:
        return None
    key, _, wanted = value.partition("=")
    return key.strip().lower(), wanted.strip()


def _listing_of(command: str) -> DockerPsFilter | None:
    """The docker ps listing a `$( )` holds, if it is only that."""
    nodes = _parse(command)
    if len(nodes) == 1 and len(nodes[0].commands) == 1 and isinstance(nodes[0].commands[0], _Simple):
        return _docker_ps(nodes[0].commands[0].words)
    return None


# -- walking the tree ------------------------------------------------------------------------------
_Source = tuple[str | None, DockerPsFilter | None, bool]   # target, loop, single: one CleanupCall
_UNKNOWN: tuple[_Source, ...] = ((None, None, False),)


@dataclass(frozen=True)
class _Feed:
    """What a placeholder stands for, and the fragment of the command that says so."""
    sources: tuple[_Source, ...]
    text: str


@dataclass(frozen=True)
class _Scope:
    variables: Mapping[str, _Feed] = field(default_factory=dict)   # loop variables
    xargs: tuple[str, _Feed] | None = None                          # the -I string and what feeds it

    def bind(self, variable: str, feed: _Feed) -> _Scope:
        return replace(self, variables={**self.variables, variable: feed})


def _calls(nodes: Sequence[_Node], scope: _Scope) -> Iterator[CleanupCall]:
    for node in nodes:
        yield from _node_calls(node, scope, None)


def _node_calls(node: _Node, scope: _Scope, stdin: _Feed | None) -> Iterator[CleanupCall]:
    if isinstance(node, _Pipeline):
        for index, command in enumerate(node.commands):
            feed = _output_feed(node.commands[index - 1], node.text) if index else stdin
            yield from _node_calls(command, scope, feed)
    elif isinstance(node, _Simple):
        yield from _substitution_calls(node.words + node.others, scope)
        yield from _command_calls(node.words, scope, stdin, node.text)
    elif isinstance(node, _For):
        yield from _substitution_calls(node.items or (), scope)
        yield from _calls(node.body, scope.bind(node.variable, _items_feed(node)))
    elif isinstance(node, _While):
        yield from _calls(node.condition, scope)
        variable = _read_variable(node.condition)
        yield from _calls(node.body, scope.bind(variable, stdin) if variable and stdin else scope)
    elif isinstance(node, _Redirected):
        yield from _substitution_calls([word for _, word in node.redirections], scope)
        yield from _node_calls(node.command, scope, _redirected_feed(node) or stdin)
    else:
        yield from _substitution_calls(node.words, scope)
        yield from _calls(node.body, scope)


def _substitution_calls(words: Sequence[_Word], scope: _Scope) -> Iterator[CleanupCall]:
    for word in words:
        for part in word.parts:
            if part.kind in ("command", "process"):
                yield from _calls(_parse(part.text), scope)


def _command_calls(words: Sequence[_Word], scope: _Scope, stdin: _Feed | None, text: str) -> Iterator[CleanupCall]:
    words = _unwrap(words)
    program = _program(words[0]) if words else None
    if program == "docker":
        target = _exec_target(words)
        if target is not None:
            feed = _target_feed(target, scope, text)
            yield from (CleanupCall(t, loop, feed.text, single) for t, loop, single in feed.sources)
    elif program == "xargs":
        yield from _xargs_calls(words, scope, stdin, text)
    elif program in _SHELLS:
        operand = _shell_operand(words)
        if operand and operand[0]:
            # the fragment is the sh -c command itself: it is where the outer text has it
            yield from (replace(call, text=text) for call in _shell_string_calls(operand[1], scope))


def _target_feed(word: _Word, scope: _Scope, text: str) -> _Feed:
    value = word.value
    if value is not None:
        if scope.xargs and scope.xargs[0] == value:
            return scope.xargs[1]
        if value == "{}" or (scope.xargs and scope.xargs[0] in value):
            return _Feed(_UNKNOWN, text)
        return _Feed(((value, None, False),), text)
    if len(word.parts) == 1 and word.parts[0].kind == "param":
        return scope.variables.get(word.parts[0].text, _Feed(_UNKNOWN, text))
    if len(word.parts) == 1 and word.parts[0].kind == "command":
        return _Feed(((None, _listing_of(word.parts[0].text), True),), text)
    return _Feed(_UNKNOWN, text)


def _xargs_calls(words: Sequence[_Word], scope: _Scope, stdin: _Feed | None, text: str) -> Iterator[CleanupCall]:
    parsed = _parse_options(words[1:], _XARGS)
    if parsed is None:
        return
    options, utility = parsed
    replacement = None
    for name, value in options:
        if name in ("-I", "-i"):
            replacement = value or ("{}" if name == "-i" else None)
    lines = _last(options, "-a") is None and _last(options, "-0") is None and (
        _last(options, "-d") in (None, "\\n", "\n"))
    feed = stdin if stdin and lines else _Feed(_UNKNOWN, text)
    inner = replace(scope, xargs=(replacement, feed)) if replacement else scope
    yield from _command_calls(utility or [_literal("echo")], inner, None, text)


def _shell_string_calls(string: _Word, scope: _Scope) -> Iterator[CleanupCall]:
    """Calls in `sh -c STRING`. The outer shell's loop variables reach it only through its own
    expansions in STRING; xargs has already replaced its -I string there."""
    try:
        nodes = _parse(string.raw)
    except CommandParseError:
        return                       # that sh fails: it runs nothing
    yield from _calls(nodes, scope if string.value is None else _Scope(xargs=scope.xargs))


def _output_feed(command: _Node, text: str) -> _Feed:
    listing = _docker_ps(command.words) if isinstance(command, _Simple) else None
    return _Feed(((None, listing, False),), text)


def _items_feed(loop: _For) -> _Feed:
    if loop.items is None:
        return _Feed(_UNKNOWN, loop.text)
    return _Feed(tuple(_item_source(item) for item in loop.items), loop.text)


def _item_source(item: _Word) -> _Source:
    if item.value is not None:
        return item.value, None, False
    if len(item.parts) == 1 and item.parts[0].kind == "command":
        part = item.parts[0]
        return None, _listing_of(part.text), part.quoted   # quoted: one item holding every line
    return _UNKNOWN[0]


def _read_variable(condition: Sequence[_Node]) -> str | None:
    """VAR of a `while read [options] VAR...` condition."""
    if len(condition) != 1 or len(condition[0].commands) != 1 or not isinstance(condition[0].commands[0], _Simple):
        return None
    words = condition[0].commands[0].words
    parsed = _parse_options(words[1:], _READ) if words and words[0].value == "read" else None
    if not parsed or not parsed[1]:
        return None
    variable = parsed[1][0].value
    return variable if variable and _NAME.fullmatch(variable) else None


def _redirected_feed(node: _Redirected) -> _Feed | None:
    """`done < <(docker ps ...)` feeds the loop's standard input."""
    for op, word in node.redirections:
        if op == "<" and len(word.parts) == 1 and word.parts[0].kind == "process":
            return _Feed(((None, _listing_of(word.parts[0].text), False),), node.text)
    return None
