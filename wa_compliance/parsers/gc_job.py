"""Does a cron command call the client's message GC endpoint with PUT?

API-driven garbage collection is `PUT /v1/services/message/gc`, usually scheduled from host
cron with curl or wget (sometimes httpie). Recognised, per simple command of the line:
- curl with `-X PUT`, `-XPUT`, `--request PUT`, `--request=PUT`, or `-T/--upload-file` (curl
  uploads with PUT over HTTP);
- wget with `--method=PUT` / `--method PUT`;
- httpie `http PUT URL` / `https PUT URL`;
and a URL argument whose path ends with /v1/services/message/gc (query string allowed).
A script the entry runs is not opened.

>>> gc_calls("curl -sk -X PUT -H 'Authorization: Bearer x' https://wa:9090/v1/services/message/gc")
('https://wa:9090/v1/services/message/gc',)
"""

from __future__ import annotations

import re
import shlex

GC_PATH = "/v1/services/message/gc"
_URL = re.compile(r"^(https?://[^/\s]+)?/v1/services/message/gc/?(\?.*)?$")
_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "$(", "`"}


class GcCommandError(ValueError):
    """The command is not valid shell (unbalanced quotes)."""


def gc_calls(command: str) -> tuple[str, ...]:
    """The GC endpoint URLs this command PUTs to; () when it calls none."""
    if GC_PATH not in command:
        return ()
    try:
        lexer = shlex.shlex(command.replace("$(", " ( ").replace("`", " ` "), posix=True, punctuation_chars=";&|()`")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError as exc:
        raise GcCommandError(f"{exc}") from None
    found = []
    for simple in _simple_commands(words):
        found += _put_urls(simple)
    return tuple(found)


def _simple_commands(words: list[str]) -> list[list[str]]:
    commands, current = [], []
    for word in words:
        if word in _SEPARATORS or set(word) <= set(";&|()`"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(word)
    if current:
        commands.append(current)
    return commands


def _put_urls(words: list[str]) -> list[str]:
    for index, word in enumerate(words):
        tool = word.rsplit("/", 1)[-1]
        if tool in ("curl", "wget", "http", "https"):
            arguments = words[index + 1:]
            urls = [a for a in arguments if _URL.match(a)]
            if urls and _is_put(tool, arguments):
                return urls
    return []


def _is_put(tool: str, arguments: list[str]) -> bool:
    if tool in ("http", "https"):
        return any(a.upper() == "PUT" for a in arguments[:3] if not a.startswith("-"))
    for index, argument in enumerate(arguments):
        following = arguments[index + 1].upper() if index + 1 < len(arguments) else ""
        if tool == "curl":
            if argument in ("-X", "--request") and following == "PUT":
                return True
            if argument.upper() == "--REQUEST=PUT" or argument in ("-T", "--upload-file"):
                return True
            combined = re.fullmatch(r"-[a-zA-Z]*X(\w*)", argument)     # -X PUT, -XPUT, -skX PUT
            if combined and (combined.group(1) or following).upper() == "PUT":
                return True
        if tool == "wget" and (argument.upper() == "--METHOD=PUT" or argument == "--method" and following == "PUT"):
            return True
    return False
