"""Fields of the records that the audit's shell scripts print, on hosts and in containers.

Every program a script starts costs (the dynamic loader alone is ~1 ms on a VM, and an audit
runs these scripts in every container of every deployment): paths made of plain characters,
the usual case, travel as they are, and only other bytes go through `base64`.

>>> path_field(":/etc/crontab"), path_field("L2V0Yy9jcm9u")
('/etc/crontab', '/etc/cron')
"""

from __future__ import annotations

import base64

# `b64_setup` once in the script's own shell (not in a `$(...)`), before the first `b64`:
# `base64 -w 0` where the host's base64 has it, else its lines joined by `tr`.
SH_FUNCTIONS = r"""
b64_setup() {
    if [ "$(printf x | base64 -w 0 2>/dev/null)" = eA== ]; then b64_wrap="-w 0"; else b64_wrap=; fi
}
b64() {  # standard input as one line of base64
    if [ -n "$b64_wrap" ]; then base64 $b64_wrap; else base64 | tr -d '\n'; fi
    echo
}
name() {  # a path as a field: ':' and the path when made of plain characters, else base64
    case $1 in
    *[!A-Za-z0-9._/@%+,~-]*|'') printf %s "$1" | b64;;
    *) echo ":$1";;
    esac
}
"""


def path_field(word: str) -> str:
    """The path a `name` field holds."""
    if word.startswith(":"):
        return word[1:]
    return base64.b64decode(word, validate=True).decode("utf-8", "replace")
