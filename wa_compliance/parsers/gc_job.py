"""Does a cron command call the client's message GC endpoint with PUT?

API-driven garbage collection is `PUT /v1/services/message/gc`, usually scheduled from host
cron with curl or wget (sometimes httpie). The command is read by the same shell reader as the
cleanup job (cleanup_command.command_sites): only a command that runs counts — through `sh -c`,
`bash -c`, `su -c`, `sudo`, `timeout`, `flock` and the other wrappers, in `$( )` or xargs —
while `echo curl ...`, a comment or a string is no call. Recognised, per command that runs:
- curl with `-X PUT`, `-XPUT`, `--request PUT`, `--request=PUT`, or `-T/--upload-file` (curl
  uploads with PUT over HTTP);
- wget with `--method=PUT` / `--method PUT`;
- httpie `http PUT URL` / `https PUT URL`;
and a URL argument whose path ends with /v1/services/message/gc (query string allowed; its host
may be a variable, `https://${WA_HOST}:9090/...` or `${API}/...`).

>>> [call.url for call in gc_calls("curl -sk -X PUT -H 'Authorization: Bearer x' https://wa:9090/v1/services/message/gc")]
['https://wa:9090/v1/services/message/gc']
>>> gc_calls("echo curl -X PUT https://wa:9090/v1/services/message/gc >> todo.log")
()
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .cleanup_command import CommandParseError, command_sites

GC_PATH = "/v1/services/message/gc"
_URL = re.compile(r"^(https?://[^/\s]+|\$\{\w+\})?/v1/services/message/gc/?(\?.*)?$")


class GcCommandError(ValueError):
    """The command is not valid shell (sh would refuse it too)."""


class GcCall(NamedTuple):
    url: str
    text: str                        # the fragment of the command that makes the call


def gc_calls(command: str) -> tuple[GcCall, ...]:
    """The PUTs to the GC endpoint this command makes; () when it makes none."""
    if GC_PATH not in command:
        return ()
    try:
        return tuple(GcCall(url, text) for words, text in command_sites(command) for url in _put_urls(words))
    except CommandParseError as exc:
        raise GcCommandError(str(exc)) from None


def _put_urls(words: tuple[str, ...]) -> list[str]:
    tool = words[0].rsplit("/", 1)[-1]
    if tool not in ("curl", "wget", "http", "https"):
        return []
    arguments = list(words[1:])
    urls = [a for a in arguments if _URL.match(a)]
    return urls if urls and _is_put(tool, arguments) else []


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
