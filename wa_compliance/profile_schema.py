"""Value rules of a profile (docs/profile.md), beyond the types the dataclasses declare.

A field rule takes a value already of the right type and returns what is wrong with it,
or None; the loader adds the key, line and offending value:

>>> FIELD_RULES["database.port"](0)
'must be between 1 and 65535'
>>> FIELD_RULES["api.password_env"]("WA_API_PASSWORD") is None
True

Rules are keyed by the key's path without list indexes (`waivers.check`); a rule for a list
applies to each item. A section rule sees the whole section, defaults filled in, and
returns the key to blame with the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

FieldRule = Callable[[Any], "str | None"]
SectionRule = Callable[[dict[str, Any]], "tuple[str, str] | None"]

_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_PORT = r"(?::(?P<port>[0-9]{1,5}))?"
_SSH = re.compile(rf"ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}{_PORT}")
_TCP = re.compile(rf"tcp://{_HOST}{_PORT}")
_UNIX = re.compile(r"unix:///[^\x00\s]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_COMPOSE_PROJECT = re.compile(r"[a-z0-9_-]+")      # Compose normalises the label to this
_CONTAINER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?")
_QUALIFIED_TABLE = re.compile(r"[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+")
_CHECK_ID = re.compile(r"[A-Z]+-[0-9]{3}")
_HHMM = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_WINDOW = re.compile(rf"({_HHMM})-({_HHMM})")


def _port_ok(match: re.Match[str] | None) -> bool:
    return bool(match) and (match["port"] is None or 1 <= int(match["port"]) <= 65535)


def target(value: str) -> str | None:
    if value == "local" or _port_ok(_SSH.fullmatch(value)):
        return None
    return "must be 'local' or 'ssh://[user@]host[:port]'"


def docker_host(value: str) -> str | None:
    if _UNIX.fullmatch(value) or _port_ok(_TCP.fullmatch(value)) or _port_ok(_SSH.fullmatch(value)):
        return None
    return "must be null, 'unix:///path', 'tcp://host[:port]' or 'ssh://[user@]host[:port]'"


def off_peak(value: str) -> str | None:
    if value == "auto":
        return None
    window = _WINDOW.fullmatch(value)
    if not window:
        return "must be 'HH:MM-HH:MM' (24-hour host time, e.g. '00:00-06:00') or auto"
    if window[1] == window[2]:
        return "must not start and end at the same time"
    return None


def http_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts and parts.scheme in ("http", "https") and parts.hostname:
        return None
    return "must be an http:// or https:// URL"


def absolute_path(value: str) -> str | None:
    return None if value.startswith("/") and "\x00" not in value else "must be an absolute path"


def env_name(value: str) -> str | None:
    if _ENV_NAME.fullmatch(value):
        return None
    return "must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), never hold the secret itself"


def matches(pattern: re.Pattern[str], problem: str) -> FieldRule:
    return lambda value: None if pattern.fullmatch(value) else problem


def not_blank(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def between(low: int, high: int) -> FieldRule:
    return lambda value: None if low <= value <= high else f"must be between {low} and {high}"


def at_least(low: float, problem: str) -> FieldRule:
    return lambda value: None if value >= low else problem


def positive(value: float) -> str | None:
    return None if value > 0 else "must be positive"


_CONTAINER_NAME = matches(_CONTAINER, "must be a container name or ID")

FIELD_RULES: dict[str, FieldRule] = {
    "name": matches(_PROFILE_NAME, "must be letters, digits, '.', '_' or '-' (it names the report folder)"),
    "target": target,
    "docker_host": docker_host,
    "deployment.topology": matches(re.compile("single|multiconnect"), "must be 'single' or 'multiconnect'"),
    "deployment.compose_project": matches(
        _COMPOSE_PROJECT, "must be a Compose project name (lowercase letters, digits, '-' and '_')"),
    "deployment.db_env": absolute_path,
    "deployment.compose_file": absolute_path,
    "deployment.media_path": absolute_path,
    "deployment.log_dir": absolute_path,
    "deployment.containers.webapp": _CONTAINER_NAME,
    "deployment.containers.coreapp": _CONTAINER_NAME,
    "deployment.containers.master": _CONTAINER_NAME,
    "database.host": matches(re.compile(r"\S+"), "must be a host name or IP address"),
    "database.port": between(1, 65535),
    "database.user": matches(re.compile(r"[^\s'\"`]{1,80}"), "must be a database user name"),
    "database.password_env": env_name,
    "database.messages_table": matches(
        _QUALIFIED_TABLE, "must be 'database.table' (letters, digits, '_' and '$')"),
    "api.url": http_url,
    "api.username_env": env_name,
    "api.password_env": env_name,
    "api.token_env": env_name,
    "traffic.peak_rps": at_least(0, "must not be negative"),
    "traffic.prometheus.url": http_url,
    "traffic.prometheus.query": not_blank,
    "traffic.prometheus.window": matches(re.compile(r"[1-9][0-9]{0,3}[hdw]"), "must be a duration such as 14d, 36h or 2w"),
    "traffic.prometheus.selector": matches(re.compile(r'[^{}]*\S[^{}]*'), "must be label matchers without braces, e.g. node=~\"6b2f.*\""),
    "traffic.prometheus.token_env": env_name,
    "traffic.prometheus.username_env": env_name,
    "traffic.prometheus.password_env": env_name,
    "schedule.off_peak": off_peak,
    "thresholds.large_table_rows": positive,
    "thresholds.very_large_table_rows": positive,
    "thresholds.api_gc_rps": positive,
    # a live log may outgrow its rotation size by this factor; below 1 it fails before rotation is due
    "thresholds.log_tolerance": at_least(1, "must be at least 1 (a multiple of the rotation size)"),
    "cron.users": matches(_USER, "must be a user name"),
    "cron.files": absolute_path,
    "waivers.check": matches(_CHECK_ID, "must be a check ID such as 'LOG-004'"),
    "waivers.reason": not_blank,
    "waivers.subject": not_blank,
}


def _thresholds(section: dict[str, Any]) -> tuple[str, str] | None:
    if section["very_large_table_rows"] < section["large_table_rows"]:
        return "very_large_table_rows", "must not be below thresholds.large_table_rows"
    return None


def _basic_auth(where: str) -> SectionRule:
    def rule(section: dict[str, Any]) -> tuple[str, str] | None:
        # basic-auth login needs both halves; a lone one is a half-finished edit
        user, password = section["username_env"], section["password_env"]
        if user and not password:
            return "username_env", f"needs {where}.password_env too (basic-auth login)"
        if password and not user:
            return "password_env", f"needs {where}.username_env too (basic-auth login)"
        return None
    return rule


def _database(section: dict[str, Any]) -> tuple[str, str] | None:
    # db.env's password belongs to db.env's user: another account brings its own
    if section["user"] and not section["password_env"]:
        return "user", "needs database.password_env too (the audit account's password)"
    return None


def field_rule(schema: str) -> FieldRule | None:
    """The rule of a key; a host's keys (hosts.target, hosts.deployment.db_env) follow the
    profile's own."""
    if schema == "hosts.name":
        return FIELD_RULES["name"]
    return FIELD_RULES.get(schema) or FIELD_RULES.get(schema.removeprefix("hosts."))


SECTION_RULES: dict[str, SectionRule] = {"thresholds": _thresholds, "api": _basic_auth("api"), "database": _database,
                                          "traffic.prometheus": _basic_auth("traffic.prometheus")}
