"""Profiles (docs/profile.md): one YAML file per audited deployment, loaded strictly.

>>> profile = load_profile("profiles/lab.yaml")
>>> profile.deployment.db_env
'/srv/wa-lab/biz/db.env'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from wa_compliance import profile_schema
from wa_compliance.errors import ProfileError, UsageError, yaml_problem

PROFILE_SUFFIXES = (".yaml", ".yml")
NOT_IN_ALL = "# wa-compliance: not in @all"      # a profile's first line keeping it out of --host=@all

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_KIND = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
         dt.date: "a date (YYYY-MM-DD)"}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IP_ADDRESS = re.compile(r"[0-9]+(\.[0-9]+){3}")
_INVALID = object()        # a scalar PyYAML itself cannot construct (2026-02-30, !!int abc)


@dataclass(frozen=True)
class Containers:
    webapp: list[str] | None = None
    coreapp: list[str] | None = None
    master: list[str] | None = None


@dataclass(frozen=True)
class Deployment:
    topology: str = "single"                      # single | multiconnect
    compose_project: str | None = None
    db_env: str = "/opt/whatsapp/db.env"
    compose_file: str | None = None
    media_path: str = "/usr/local/wamedia"
    log_dir: str = "/var/log/whatsapp"
    containers: Containers | None = None          # None: discovered


@dataclass(frozen=True)
class DeploymentOverrides:
    """A host's own values of `deployment.*` (None: the profile's)."""
    topology: str | None = None
    compose_project: str | None = None
    db_env: str | None = None
    compose_file: str | None = None
    media_path: str | None = None
    log_dir: str | None = None
    containers: Containers | None = None


@dataclass(frozen=True)
class Host:
    """One host of a deployment spread over several (`hosts:`)."""
    target: str
    name: str | None = None            # default: the target's host name up to its first dot
    docker_host: str | None = None
    deployment: DeploymentOverrides = field(default_factory=DeploymentOverrides)


@dataclass(frozen=True)
class Database:
    host: str | None = None
    port: int | None = None
    user: str | None = None            # an audit account instead of db.env's (needs password_env)
    password_env: str | None = None
    messages_table: str | None = None


@dataclass(frozen=True)
class Api:
    url: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class Prometheus:
    """The Prometheus that scrapes the Webapp's /metrics: the deployment's traffic history."""
    url: str | None = None
    query: str | None = None          # default: the client's request counter, summed
    window: str = "14d"
    selector: str | None = None       # PromQL label matchers narrowing the series to this deployment
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class Traffic:
    peak_rps: float | None = None
    prometheus: Prometheus = field(default_factory=Prometheus)


@dataclass(frozen=True)
class Schedule:
    off_peak: str = "00:00-06:00"


@dataclass(frozen=True)
class Settings:
    pass_through: bool | None = None
    db_garbagecollector_enable: bool | None = None


@dataclass(frozen=True)
class Thresholds:
    large_table_rows: int = 2_000_000
    very_large_table_rows: int = 10_000_000
    api_gc_rps: float = 120
    log_tolerance: float = 1.5


@dataclass(frozen=True)
class Cron:
    users: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Waiver:
    check: str
    reason: str
    expires: dt.date
    subject: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    path: str                                     # the file it was read from
    target: str = "local"                         # local | ssh://user@host[:port]
    docker_host: str | None = None
    hosts: list[Host] = field(default_factory=list)
    deployment: Deployment = field(default_factory=Deployment)
    database: Database = field(default_factory=Database)
    api: Api = field(default_factory=Api)
    traffic: Traffic = field(default_factory=Traffic)
    schedule: Schedule = field(default_factory=Schedule)
    settings: Settings = field(default_factory=Settings)
    thresholds: Thresholds = field(default_factory=Thresholds)
    cron: Cron = field(default_factory=Cron)
    waivers: list[Waiver] = field(default_factory=list)

    def host_profiles(self) -> dict[str, "Profile"]:
        """The profile as each host is audited, by host name: its target, engine and
        `deployment.*` overrides, the rest shared. One host without a name: `target:`."""
        if not self.hosts:
            return {"": self}
        found = {}
        for host in self.hosts:
            overrides = {k: v for k, v in dataclasses.asdict(host.deployment).items() if v is not None}
            if host.deployment.containers is not None:
                overrides["containers"] = host.deployment.containers
            found[host_name(host)] = dataclasses.replace(
                self, target=host.target, docker_host=host.docker_host, hosts=[],
                deployment=dataclasses.replace(self.deployment, **overrides))
        return found


def host_name(host: Host) -> str:
    """`name:`, else the target's host name up to its first dot (an IP address whole)."""
    if host.name:
        return host.name
    if host.target == "local":
        return "local"
    hostname = urlsplit(host.target).hostname or host.target
    return hostname if _IP_ADDRESS.fullmatch(hostname) or ":" in hostname else hostname.split(".")[0]


def load_profile(path: str | Path) -> Profile:
    """Read one profile strictly: any problem is a ProfileError naming file, line and key.

    >>> load_profile("profiles/examples/single-instance.yaml").deployment.topology
    'single'
    """
    shown = str(path)
    root = _compose(_read_text(path, shown), shown)
    if root is None or _is_null(root):
        raise ProfileError(shown, 1, "profile is empty; write at least 'target: local' (see docs/profile.md)")
    if not isinstance(root, MappingNode) or root.tag != _YAML + "map":
        raise ProfileError(shown, _line(root), f"a profile must be a mapping of keys, got {_describe(root)}")
    values = _Reader(shown).section(Profile, root, "", "")
    values.setdefault("name", Path(path).stem)
    _check_hosts(values, root, shown)
    profile = Profile(path=shown, **values)
    if profile.schedule.off_peak == "auto" and not profile.traffic.prometheus.url:
        line = next((_line(v) for k, v in root.value if k.value == "schedule"), 1)
        raise ProfileError(shown, line, "schedule.off_peak: auto needs traffic.prometheus.url "
                                        "(the window is read from the deployment's traffic history)")
    return profile


def _check_hosts(values: dict, root: MappingNode, shown: str) -> None:
    """`hosts:` replaces `target:` and `docker_host:` (each host has its own); names unique."""
    if not values.get("hosts"):
        return
    nodes = {key.value: (key, value) for key, value in root.value}
    for key in ("target", "docker_host"):
        if key in values:
            raise ProfileError(shown, _line(nodes[key][0]), f"{key} and hosts are exclusive: "
                               f"give each host its own (hosts[N].{key})")
    seen: dict[str, int] = {}
    for index, (host, node) in enumerate(zip(values["hosts"], nodes["hosts"][1].value)):
        name = host_name(host)
        if name in seen:
            raise ProfileError(shown, _line(node), f"hosts[{index}] is named {name!r} like "
                               f"hosts[{seen[name]}]: give one of them a name:")
        seen[name] = index


def available_profiles(profiles_dir: str | Path) -> list[str]:
    """Names of the profiles in profiles_dir (top level only), sorted.

    >>> available_profiles("profiles/examples")
    ['multiconnect', 'single-instance']
    """
    try:
        entries = list(Path(profiles_dir).iterdir())
    except OSError:
        return []
    return sorted({entry.stem for entry in entries
                   if entry.suffix in PROFILE_SUFFIXES and not entry.name.startswith(".")
                   and entry.is_file()})


def fleet_profiles(profiles_dir: str | Path) -> list[str]:
    """`--host=@all`: the profiles of profiles_dir but those whose first line is `NOT_IN_ALL`
    (the lab's: `--host=lab` names them, `@all` means the user's own deployments)."""
    def in_all(name: str) -> bool:
        try:
            path = resolve_host(name, profiles_dir)
            with open(path, encoding="utf-8-sig", errors="replace") as text:
                return not text.readline().startswith(NOT_IN_ALL)
        except (OSError, UsageError):
            return True
    return [name for name in available_profiles(profiles_dir) if in_all(name)]


def resolve_host(name: str, profiles_dir: str | Path) -> Path:
    """The profile file for `--host=NAME`: profiles_dir/NAME.yaml (or .yml), else NAME as a path.

    >>> resolve_host("multiconnect", "profiles/examples")
    PosixPath('profiles/examples/multiconnect.yaml')
    """
    directory = Path(profiles_dir)
    plain = bool(name) and "/" not in name and name not in (".", "..")
    if plain:
        for suffix in PROFILE_SUFFIXES:
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    as_path = Path(name)
    if name and as_path.suffix in PROFILE_SUFFIXES and as_path.is_file():
        return as_path
    available = ", ".join(available_profiles(directory)) or "none"
    if name and as_path.exists():
        problem = f"{name} is not a .yaml or .yml file"
    else:
        problem = f"no {directory / f'{name}.yaml' if plain else as_path}"
    raise UsageError(f"unknown host {name!r}: {problem} (available: {available})")


def _read_text(path: str | Path, shown: str) -> str:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ProfileError(shown, None, "no such profile file") from None
    except IsADirectoryError:
        raise ProfileError(shown, None, "is a directory, not a profile file") from None
    except (OSError, ValueError) as exc:
        raise ProfileError(shown, None, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ProfileError(shown, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _compose(text: str, shown: str) -> Node | None:
    """The YAML node tree: safe composition only, nothing is constructed or executed."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError) as exc:
        raise ProfileError(shown, *yaml_problem(exc, text)) from None


class _Reader:
    """Walks the node tree against the dataclasses, so every error carries its line."""

    def __init__(self, shown: str):
        self.shown = shown

    def fail(self, node: Node, problem: str) -> typing.NoReturn:
        raise ProfileError(self.shown, _line(node), problem)

    def section(self, cls: type, node: Node, where: str, schema: str) -> dict:
        """Keyword arguments for cls from a mapping node (null: an empty section)."""
        prefix, schema_prefix = (f"{where}.", f"{schema}.") if where else ("", "")
        inside = f" in {where}" if where else ""
        fields = _fields(cls)
        values, lines = {}, {}
        pairs = [] if _is_null(node) else node.value
        for key_node, value_node in pairs:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, f"keys must be plain names, got {_describe(key_node)}{inside}")
            if key_node.tag == _YAML + "merge":
                self.fail(key_node, f"merge keys ('<<') are not supported{inside}; write the keys out")
            key = key_node.value
            if key not in fields:
                self.fail(key_node, f"unknown key {_quote(key)}{inside} ({_suggest(key, fields)})")
            if key in lines:
                self.fail(key_node, f"duplicate key {_quote(key)}{inside} (first set on line {lines[key]})")
            lines[key] = _line(key_node)
            values[key] = self.value(fields[key], value_node, prefix + key, schema_prefix + key)
        missing = [name for name in _required(cls) if name not in values]
        if missing:
            names = " and ".join(", ".join(map(repr, missing)).rsplit(", ", 1))
            needs = " and ".join(", ".join(_required(cls)).rsplit(", ", 1))
            self.fail(node, f"{where} is missing {names} (a {cls.__name__.lower()} needs {needs})")
        rule = profile_schema.SECTION_RULES.get(schema)
        blame = rule(_with_defaults(cls, values)) if rule else None
        if blame:
            key, problem = blame
            value_nodes = {k.value: v for k, v in pairs}
            self.fail(value_nodes.get(key, node), f"{prefix}{key} {problem}")
        return values

    def value(self, tp: typing.Any, node: Node, where: str, schema: str) -> typing.Any:
        optional, tp = _unwrap_optional(tp)
        if _is_null(node) and optional:
            return None
        if isinstance(node, (MappingNode, SequenceNode)) and node.tag not in (_YAML + "map", _YAML + "seq"):
            self.fail(node, f"{where} has an unsupported YAML tag {_short_tag(node.tag)}")
        if dataclasses.is_dataclass(tp):
            if not (_is_null(node) or isinstance(node, MappingNode)):
                self.fail(node, f"{where} must be a mapping, got {_describe(node)}")
            return tp(**self.section(tp, node, where, schema))
        if typing.get_origin(tp) is list:
            if _is_null(node):
                return []
            if not isinstance(node, SequenceNode):
                self.fail(node, f"{where} must be a list, got {_describe(node)}")
            (item_tp,) = typing.get_args(tp)
            return [self.value(item_tp, item, f"{where}[{i}]", schema) for i, item in enumerate(node.value)]
        value = _coerce(tp, _construct(node))
        if value is _INVALID:
            hint = " (quote it to keep it as text)" if tp is str and _is_plain_scalar(node) else ""
            self.fail(node, f"{where} must be {_KIND[tp]}, got {_describe(node)}{hint}")
        rule = profile_schema.field_rule(schema)
        problem = rule(value) if rule else None
        if problem:
            self.fail(node, f"{where} {problem}, got {_describe(node)}")
        return value


@functools.cache
def _fields(cls: type) -> dict[str, typing.Any]:
    """Keys a section accepts, with their types; a profile's `path` is where it was read."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if (cls, f.name) != (Profile, "path")}


def _required(cls: type) -> list[str]:
    if cls is Profile:              # `name` defaults to the file stem
        return []
    return [f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def _with_defaults(cls: type, values: dict) -> dict:
    defaults = {f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(cls)}
    return {**defaults, **values}


def _unwrap_optional(tp: typing.Any) -> tuple[bool, typing.Any]:
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return True, inner
    return False, tp


def _construct(node: Node) -> typing.Any:
    if not isinstance(node, ScalarNode) or node.tag not in _SCALAR_TAGS:
        return _INVALID
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except Exception:  # noqa: BLE001 — untrusted text: whatever PyYAML chokes on is a wrong value
        return _INVALID


def _coerce(tp: type, value: typing.Any) -> typing.Any:
    """value as tp, or _INVALID: bool is not a number, a datetime is not a date."""
    if tp is str:
        return value if isinstance(value, str) else _INVALID
    if tp is int or tp is bool:
        return value if type(value) is tp else _INVALID
    if tp is float:
        try:
            number = float(value) if type(value) in (int, float) else math.nan
        except OverflowError:
            number = math.nan
        return number if math.isfinite(number) else _INVALID
    if tp is dt.date:
        if type(value) is dt.date:
            return value
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return _INVALID
        return _INVALID
    raise TypeError(f"no YAML reading for {tp!r}")      # a schema change this loader does not know


def _suggest(key: str, valid: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _YAML + "null"


def _is_plain_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.style is None and node.tag in _SCALAR_TAGS - {_YAML + "null"}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def _describe(node: Node) -> str:
    """The offending value as the operator wrote it, on one line."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _YAML + "str":
        return _quote(node.value)
    if node.tag == _YAML + "null":
        return "null"
    if node.tag not in _SCALAR_TAGS:
        return f"{_short_tag(node.tag)} {_quote(node.value)}"
    text = node.value
    return text if len(text) <= 60 and text.isprintable() else _quote(text)
