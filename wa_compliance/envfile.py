"""Read a db.env file exactly as Docker Compose reads an ``env_file``.

>>> parse_env_file(b"WA_DB_ENGINE=MYSQL\\nWA_DB_PORT='3306' # default\\n", "db.env").values
{'WA_DB_ENGINE': 'MYSQL', 'WA_DB_PORT': '3306'}

docker-compose 1.29 (compose/config/environment.py) reads an env_file with
``dotenv.dotenv_values(dotenv_path=..., encoding='utf-8-sig', interpolate=True)``. So we use
python-dotenv's own line grammar (``dotenv.parser.parse_stream``) and its own ``${VAR}``
expansion (``dotenv.variables``) rather than a grammar of our own, and add only what an auditor
needs on top:

* the file is decoded like ``open(path, encoding='utf-8-sig')``: one leading BOM dropped, CRLF
  and lone CR turned into LF (universal newlines), bytes that are not UTF-8 reported with their
  line;
* a line python-dotenv cannot parse (which it would only log and skip) fails, naming the line
  and at most its key, never the value: it may be a password;
* a key set twice fails (Compose silently keeps the last one; ENV-001 says no);
* ``${VAR}`` references resolve from earlier keys of the same file only. Compose would also look
  in the environment of whoever ran it, which the auditor cannot see; an unknown name becomes ""
  as python-dotenv does when a variable is unset.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass

from dotenv.parser import parse_stream
from dotenv.variables import parse_variables

from .errors import EnvFileError

__all__ = ["EnvEntry", "EnvFile", "parse_env_file"]


@dataclass(frozen=True)
class EnvEntry:
    key: str
    value: str | None  # None: a bare `KEY` line; Compose then takes it from its own environment
    line: int  # 1-based line in the file where the statement starts


@dataclass(frozen=True)
class EnvFile:
    path: str
    entries: tuple[EnvEntry, ...]

    @property
    def values(self) -> dict[str, str | None]:
        """key -> value, in file order."""
        return {entry.key: entry.value for entry in self.entries}

    def line_of(self, key) -> int | None:
        for entry in self.entries:
            if entry.key == key:
                return entry.line
        return None


# Where python-dotenv's grammar lets a statement start: any leading whitespace (blank lines
# included) belongs to the statement that follows it.
_LEADING_SPACE = re.compile(r"\s*")
# What we dare show of a line we cannot parse: a name that looks like a variable name. Anything
# else might be (part of) a secret.
_SHOWABLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,59}")
_KEY_TOKEN = re.compile(r"(?:export[^\S\n]+)?([^=\s#]*)")


def parse_env_file(content: bytes | str, path: str) -> EnvFile:
    """Parse the text of a db.env file; raise EnvFileError(path, line, problem) if it is not clean.
    ``content`` is the file's bytes, or its text read without newline translation (a ``str`` gets
    the same BOM and newline handling as bytes)."""
    path = str(path)
    text = _decode(content, path)
    entries: list[EnvEntry] = []
    first_line: dict[str, int] = {}
    resolved: dict[str, str | None] = {}  # what python-dotenv's resolve_variables calls new_values
    line = 1
    try:
        for binding in parse_stream(io.StringIO(text, newline="\n")):
            # python-dotenv numbers a statement from where its leading blank lines start; we want
            # the line the statement itself is on.
            leading = _LEADING_SPACE.match(binding.original.string).group()
            line = binding.original.line + leading.count("\n")
            if binding.error:
                raise EnvFileError(path, line, _cannot_parse(binding.original.string[len(leading):]))
            if binding.key is None:  # comment, blank lines, end of file
                continue
            key = binding.key
            if key in first_line:
                raise EnvFileError(path, line,
                                   f"duplicate key {_show(key)} (first set on line {first_line[key]})")
            value = binding.value
            if value is not None:
                # The same expansion dotenv_values(interpolate=True) does, with an empty
                # os.environ: single-quoted values are expanded too, because python-dotenv no
                # longer knows how a value was quoted.
                value = "".join(atom.resolve(resolved) for atom in parse_variables(value))
            resolved[key] = value
            first_line[key] = line
            entries.append(EnvEntry(key, value, line))
    except (EnvFileError, MemoryError):
        raise
    except Exception as exc:  # promise: nothing in a file escapes as anything but EnvFileError
        raise EnvFileError(path, line, f"cannot parse ({type(exc).__name__})") from exc
    return EnvFile(path, tuple(entries))


def _decode(content: bytes | str, path: str) -> str:
    if isinstance(content, str):
        text = content.removeprefix("\ufeff")
    else:
        data = bytes(content)
        # utf-8-sig drops one leading BOM. We drop it ourselves so that the error offset below
        # counts from the start of the file.
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        try:
            text = data[bom:].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = 1 + len(re.findall(rb"\r\n|\r|\n", data[: bom + exc.start]))
            raise EnvFileError(path, line, "not valid UTF-8") from None
    # Compose opens the file in text mode: universal newlines.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cannot_parse(statement: str) -> str:
    hint = "expected KEY=value, with matching quotes"
    token = _KEY_TOKEN.match(statement.split("\n", 1)[0]).group(1)
    if _SHOWABLE_KEY.fullmatch(token):
        return f"cannot parse the {token} line: {hint}"
    return f"cannot parse this line: {hint}"


def _show(key: str) -> str:
    """A key as it can stand in a one-line message (a quoted key may hold anything)."""
    if len(key) > 60:
        return repr(key[:57] + "...")
    return key if key.isprintable() and not any(c.isspace() for c in key) else repr(key)
