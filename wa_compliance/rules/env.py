"""Rules of the database environment (R-ENV), as plain functions over db.env values.

>>> engine_problems("mariadb")
["WA_DB_ENGINE is 'mariadb'; accepted values: MYSQL, PGSQL"]
"""

from __future__ import annotations

import difflib
import re

REQUIRED = ("WA_DB_ENGINE", "WA_DB_HOSTNAME", "WA_DB_PORT", "WA_DB_USERNAME", "WA_DB_PASSWORD")
DOCUMENTED = REQUIRED + ("WA_DB_NAME_PREFIX", "WA_DB_CONNECTION_IDLE_TIMEOUT")
# Also read by the client, as Meta's own templates set them (AWS task definitions,
# dbupgrade-compose.yml): not typos.
ALSO_KNOWN = ("WA_DB_SSL_CA", "WA_DB_SSL_CERT", "WA_DB_SSL_KEY", "WA_DB_PERSISTENT", "WA_DB_UPGRADE")
KNOWN = DOCUMENTED + ALSO_KNOWN

ENGINES = ("MYSQL", "PGSQL")
# Identifier limits: MySQL 64 characters, PostgreSQL 63 bytes (NAMEDATALEN - 1).
DB_NAME_LIMIT = {"MYSQL": 64, "PGSQL": 63}
# The client appends its own database names to the prefix; we reserve room for
# the longest of them (an assumption stated in the README).
CLIENT_DB_NAME_RESERVE = 16
SAMPLE_PASSWORDS = ("testpass",)
MIN_PASSWORD_LENGTH = 12
SUPERUSERS = {"MYSQL": ("root",), "PGSQL": ("root", "postgres")}


def missing_required(values: dict[str, str | None]) -> list[str]:
    return [key for key in REQUIRED if not (values.get(key) or "").strip()]


def engine_problems(engine: str | None) -> list[str]:
    if engine is None or engine.upper() not in ENGINES:
        found = "not set" if engine is None else f"{engine!r}"
        return [f"WA_DB_ENGINE is {found}; accepted values: {', '.join(ENGINES)}"]
    return []


def port_problems(port: str | None) -> list[str]:
    if port is None:
        return ["WA_DB_PORT is not set"]
    if not re.fullmatch(r"[0-9]+", port) or not 1 <= int(port) <= 65535:
        return [f"WA_DB_PORT is {port!r}, expected an integer 1-65535"]
    return []


def idle_timeout_problems(timeout: str, engine: str | None) -> list[str]:
    problems = []
    if (engine or "").upper() != "MYSQL":
        problems.append(f"WA_DB_CONNECTION_IDLE_TIMEOUT is set but WA_DB_ENGINE is {engine!r}: it only has an effect with MySQL")
    if not re.fullmatch(r"[0-9]+", timeout) or int(timeout) == 0:
        problems.append(f"WA_DB_CONNECTION_IDLE_TIMEOUT is {timeout!r}, expected a positive integer (milliseconds)")
    elif int(timeout) < 1000:
        problems.append(f"WA_DB_CONNECTION_IDLE_TIMEOUT is {timeout} ms, under one second: probably meant as seconds ({int(timeout) * 1000} ms?)")
    return problems


def prefix_problems(prefix: str, engine: str | None) -> list[str]:
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9_]*", prefix):
        bad = sorted({c for c in prefix if not (c.isascii() and (c.isalnum() or c == "_"))})
        problems.append(f"WA_DB_NAME_PREFIX {prefix!r} contains {' '.join(map(repr, bad))}: only letters, digits and _ are allowed")
    limit = DB_NAME_LIMIT.get((engine or "").upper(), min(DB_NAME_LIMIT.values()))
    room = limit - CLIENT_DB_NAME_RESERVE
    if len(prefix.encode()) > room:
        problems.append(f"WA_DB_NAME_PREFIX is {len(prefix.encode())} characters: with the client's own database names "
                        f"it exceeds the {limit}-character identifier limit (keep it to {room})")
    return problems


def unknown_variables(keys) -> dict[str, str | None]:
    """Unknown WA_DB_* keys, each with the closest known name (or None)."""
    unknown = {}
    for key in keys:
        if key.startswith("WA_DB_") and key not in KNOWN:
            close = difflib.get_close_matches(key, KNOWN, n=1, cutoff=0.6)
            unknown[key] = close[0] if close else None
    return unknown


def password_problems(password: str | None) -> list[str]:
    if not password:
        return ["WA_DB_PASSWORD is empty"]
    problems = []
    if password in SAMPLE_PASSWORDS:
        problems.append("WA_DB_PASSWORD is the sample value from Meta's published db.env")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"WA_DB_PASSWORD has {len(password)} characters, fewer than {MIN_PASSWORD_LENGTH}")
    return problems


def env_drift(file_values: dict[str, str | None], container_env: dict[str, str]) -> list[str]:
    """How a container's live WA_DB_* variables differ from db.env; never shows the password."""
    differences = []
    keys = sorted({k for k in file_values if k.startswith("WA_DB_")} | {k for k in container_env if k.startswith("WA_DB_")})
    for key in keys:
        in_file, live = file_values.get(key), container_env.get(key)
        if key in file_values and in_file is None:
            continue      # a bare KEY line: Compose took it from its caller's environment
        if in_file == live:
            continue
        if key not in container_env:
            differences.append(f"{key} is in db.env but not in the container")
        elif key not in file_values:
            differences.append(f"{key} is in the container but not in db.env")
        elif key == "WA_DB_PASSWORD":
            differences.append("WA_DB_PASSWORD differs")
        else:
            differences.append(f"{key} is {live!r} in the container, {in_file!r} in db.env")
    return differences


def sharing_namespace(name: str, namespaces: dict[str, tuple]) -> list[str]:
    """The other deployments with the same (database server, WA_DB_NAME_PREFIX) as `name`: their
    databases collide. A deployment whose namespace is unknown shares with nobody.

    >>> sharing_namespace("a", {"a": (("MYSQL", "", "db1", 3306), "p_"), "b": (("MYSQL", "", "db1", 3306), "p_")})
    ['b']
    """
    mine = namespaces.get(name)
    return [other for other, namespace in namespaces.items() if mine is not None and other != name
            and namespace == mine]


def host_disagreements(values_by_host: dict[str, dict[str, str]]) -> list[str]:
    """Each WA_DB_* variable the hosts' db.env files do not agree on, naming the hosts; the
    password is compared but never shown.

    >>> host_disagreements({"wa-a": {"WA_DB_PORT": "3306", "WA_DB_PASSWORD": "x"},
    ...                     "wa-b": {"WA_DB_PORT": "3307", "WA_DB_PASSWORD": "y"}})
    ["WA_DB_PASSWORD differs: wa-a's is not wa-b's", "WA_DB_PORT: '3306' on wa-a, '3307' on wa-b"]
    """
    keys = sorted({key for values in values_by_host.values() for key in values if key.startswith("WA_DB_")})
    problems = []
    for key in keys:
        hosts_by_value: dict[str | None, list[str]] = {}
        for host, values in values_by_host.items():
            hosts_by_value.setdefault(values.get(key), []).append(host)
        if len(hosts_by_value) == 1:
            continue
        if key == "WA_DB_PASSWORD":
            groups = [", ".join(hosts) for hosts in hosts_by_value.values()]
            problems.append(f"{key} differs: " + " is not ".join(f"{group}'s" for group in groups))
        else:
            problems.append(f"{key}: " + ", ".join(
                f"{'unset' if value is None else repr(value)} on {', '.join(hosts)}"
                for value, hosts in hosts_by_value.items()))
    return problems
