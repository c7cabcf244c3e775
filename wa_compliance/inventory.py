"""Read a static Ansible inventory (INI or YAML) as Ansible's ``ini`` and ``yaml`` plugins do.

>>> hosts = parse_inventory(
...     "[web]\\n"
...     "web[01:02].example.com ansible_port=2222\\n"
...     "[web:vars]\\n"
...     "role = 'front'\\n",
...     "hosts.ini")
>>> [(host.name, host.vars, host.groups) for host in hosts]  # doctest: +NORMALIZE_WHITESPACE
[('web01.example.com', {'role': 'front', 'ansible_port': 2222}, ('all', 'web')),
 ('web02.example.com', {'role': 'front', 'ansible_port': 2222}, ('all', 'web'))]
>>> [host.name for host in select(hosts, "web*,!web02*")]
['web01.example.com']

What is Ansible's and what is ours:

* the format is told from the text: YAML when what ``yaml.safe_load`` gives (``SafeLoader``, no
  other loader) is a mapping of group names to mappings, INI otherwise;
* INI follows the ``ini`` plugin line by line: ``[group]``, ``[group:vars]``,
  ``[group:children]``, hosts before any section in ``ungrouped``, host lines split with
  ``shlex`` (an unquoted ``#`` ends the line), values typed with ``ast.literal_eval`` when it
  accepts them (tuples and sets become lists, as Ansible makes them), a ``[g:vars]`` or child
  group never declared refused;
* YAML follows the ``yaml`` plugin: ``hosts`` / ``vars`` / ``children`` per group, any other key
  refused (Ansible only warns: a typo must not pass);
* both: host ranges (``web[01:10:2]``, ``db-[a:c]``), ``host:port`` giving ``ansible_port``, and
  variables merged in Ansible's order: groups sorted by depth, then ``ansible_group_priority``,
  then name; host variables last;
* refused although Ansible would pass them: unknown keys in YAML groups, host names that are
  empty or hold whitespace or control characters, names that YAML types as numbers, ``!vault``
  values (SafeLoader knows no such tag).

Every problem is an InventoryError naming the file and, when known, the line.
"""

from __future__ import annotations

import ast
import re
import shlex
import string
import warnings
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import product
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from .errors import UsageError, yaml_problem

__all__ = ["InventoryError", "InventoryHost", "parse_inventory", "read_inventory", "select"]

# Far above any real inventory; they only stop a one-line range or a YAML alias bomb from eating
# the machine.
_MAX_HOSTS_PER_PATTERN = 100_000
_MAX_MEMBERSHIPS = 1_000_000
_MAX_YAML_GROUP_ENTRIES = 100_000

_YAML_TAG = "tag:yaml.org,2002:"
# Ansible's own patterns (plugins/inventory/ini.py): a section header, and a group name line.
_INI_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_INI_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
# host:port and [host]:port (parsing/utils/addresses.py); the host part must then look like a host
# name or an address, else the whole text is the name.
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_BRACKETED_HOST_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_PLAIN_HOST = re.compile(r"^(?:[\w.-]|\[[^\]]*\])+$")
_IP_ADDRESS = re.compile(r"^[0-9A-Fa-f:.]+$")
_DIGITS = re.compile(r"^[0-9]+$")
# First meaningful line of a file that was meant to be YAML (or JSON).
_YAML_LOOKING = re.compile(r"^(?:---|%YAML|\{|[^\s\[=#;][^=]*:(?:\s|$))")


class InventoryError(UsageError):
    """One line: 'PATH:LINE: problem' (LINE omitted when unknown).

    >>> str(InventoryError("hosts.ini", 3, "expected key=value, got 'port'"))
    "hosts.ini:3: expected key=value, got 'port'"
    >>> str(InventoryError("hosts.yml", None, "inventory has no hosts"))
    'hosts.yml: inventory has no hosts'
    """

    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class InventoryHost:
    name: str  # the inventory hostname
    vars: dict  # merged variables, typed as Ansible types them; shared values: treat as read-only
    groups: tuple[str, ...]  # every group, direct or through children, sorted, always with "all"


def read_inventory(path: str | Path) -> list[InventoryHost]:
    """Read an inventory file (UTF-8); hosts in first-seen order."""
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:
        raise InventoryError(shown, None, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_inventory(_decode(data, shown), shown)


def parse_inventory(text: str, source: str) -> list[InventoryHost]:
    """Parse inventory text; `source` names the file in errors. Raises only InventoryError."""
    source = str(source)
    try:
        return _parse(text, source)
    except InventoryError:
        raise
    except Exception as exc:  # promise: no input escapes as anything else; tests check it is never reached
        problem = f"internal error reading the inventory ({type(exc).__name__})"
        raise InventoryError(source, None, problem) from exc


def select(hosts: list[InventoryHost], limit: str | None) -> list[InventoryHost]:
    """Ansible's --limit, simple form, keeping the order of `hosts`.

    Patterns are separated by commas (or by colons when there is no comma); each matches host
    names and group names with fnmatch wildcards. `!p` excludes, `&p` intersects; with only
    exclusions, they apply to all hosts. Nothing matching gives [] (the caller says so). None or
    '' selects all.

    >>> hosts = [InventoryHost("a1", {}, ("all", "app")), InventoryHost("d1", {}, ("all", "db"))]
    >>> [h.name for h in select(hosts, "app:d*")], [h.name for h in select(hosts, "!app")]
    (['a1', 'd1'], ['d1'])
    """
    if limit is None or not limit.strip():
        return list(hosts)
    separator = "," if "," in limit else ":"
    patterns = [part.strip() for part in limit.split(separator) if part.strip()]
    if not patterns:
        return []
    wanted = [p for p in patterns if p[0] not in "!&"]
    required = [p[1:] for p in patterns if p[0] == "&"]
    excluded = [p[1:] for p in patterns if p[0] == "!"]
    return [host for host in hosts
            if (not wanted or any(_matches(host, p) for p in wanted))
            and all(_matches(host, p) for p in required) and not any(_matches(host, p) for p in excluded)]


def _matches(host: InventoryHost, pattern: str) -> bool:
    return fnmatchcase(host.name, pattern) or any(fnmatchcase(group, pattern) for group in host.groups)


# --- format detection ---------------------------------------------------------
def _parse(text: str, source: str) -> list[InventoryHost]:
    text = text.removeprefix("\ufeff")
    root, data, yaml_problem = _safe_load(text, source)
    if root is not None and (yaml_problem is not None or isinstance(data, dict)):
        inventory, walk_problem = _try_read_yaml(root, source)
        if yaml_problem is None and _is_yaml_inventory(data):
            if walk_problem is not None:
                raise walk_problem
            return inventory.build(source)
        # Not a YAML inventory, so INI gets its chance; should INI fail too, the YAML reason is
        # kept in case the file looks like YAML.
        if yaml_problem is None or yaml_problem.line is None:
            not_inventory = InventoryError(source, None, "not a YAML inventory")
            yaml_problem = walk_problem or yaml_problem or not_inventory
    elif yaml_problem is None and data is None and _looks_like_yaml(text):  # '---' and comments only
        raise InventoryError(source, None, "inventory has no hosts")
    try:
        return _read_ini(text, source).build(source)
    except InventoryError:
        if yaml_problem is not None and _looks_like_yaml(text):
            raise yaml_problem from None
        raise


def _safe_load(text: str, source: str) -> tuple[Node | None, object, InventoryError | None]:
    """The node tree, and the data yaml.safe_load returns (the same steps, same SafeLoader).
    Done by hand only to keep the nodes, whose marks give line numbers, and to parse the text once."""
    loader, root = None, None
    try:
        loader = yaml.SafeLoader(text)  # its reader already refuses some characters
        root = loader.get_single_node()
        return root, (None if root is None else loader.construct_document(root)), None
    except Exception as exc:  # YAMLError, but also ValueError (2020-13-01), RecursionError
        return root, None, _yaml_error(exc, text, source)
    finally:
        if loader is not None:
            loader.dispose()


def _is_yaml_inventory(data: dict) -> bool:
    return all(value is None or isinstance(value, dict) for value in data.values())


def _looks_like_yaml(text: str) -> bool:
    """Whether the first meaningful line is YAML-ish: then a YAML error explains more than an INI one."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and stripped[0] not in "#;":
            return bool(_YAML_LOOKING.match(stripped))
    return False


def _yaml_error(exc: Exception, text: str, source: str) -> InventoryError:
    line, problem = yaml_problem(exc, text)
    if isinstance(exc, yaml.MarkedYAMLError) and "!vault" in problem:
        problem += " (vault-encrypted values are not supported)"
    return InventoryError(source, line, problem)


def _decode(data: bytes, source: str) -> str:
    """UTF-8, a leading BOM dropped; like Ansible, bad bytes are forgiven in comment lines only."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if raw.lstrip()[:1] not in (b"#", b";"):
                problem = f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"
                raise InventoryError(source, number, problem) from None
            lines.append(raw.decode("utf-8", "replace"))
    return "".join(lines)


# --- what both formats build ----------------------------------------------------
class _Problem(Exception):
    """A problem whose line the caller knows."""


@dataclass
class _Group:
    vars: dict = field(default_factory=dict)
    priority: int = 1  # ansible_group_priority
    children: dict[str, int | None] = field(default_factory=dict)  # child -> line declaring it


@dataclass
class _Host:
    vars: dict = field(default_factory=dict)
    groups: dict[str, None] = field(default_factory=dict)  # direct groups, in order


class _Inventory:
    """Groups and hosts as a plugin adds them; build() merges them as Ansible does."""

    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {"all": _Group(), "ungrouped": _Group()}
        self.groups["all"].children["ungrouped"] = None
        self.hosts: dict[str, _Host] = {}
        self.memberships = 0

    def add_group(self, name: object) -> str:
        if not isinstance(name, str):
            raise _Problem(f"group name must be a string, got {_describe(name)} {_quote(name)}")
        if not name or any(c.isspace() for c in name):
            raise _Problem(f"invalid group name {_quote(name)}: empty or with whitespace")
        self.groups.setdefault(name, _Group())
        return name

    def add_child(self, parent: str, child: str, line: int | None) -> None:
        if parent == child:
            raise _Problem(f"group {_quote(child)} cannot be a child of itself")
        self.groups[parent].children.setdefault(child, line)

    def set_group_var(self, group: str, key: object, value: object) -> None:
        _check_var_name(key)
        if key == "ansible_group_priority":  # as Ansible: it orders groups, it is no variable
            try:
                self.groups[group].priority = int(value)
            except (TypeError, ValueError, OverflowError):
                raise _Problem(f"ansible_group_priority of group {_quote(group)} must be an integer, "
                               f"got {_quote(value)}") from None
        else:
            self.groups[group].vars[key] = value

    def add_host(self, name: str, group: str, port: int | None, variables: dict) -> None:
        self.memberships += 1
        if self.memberships > _MAX_MEMBERSHIPS:
            raise _Problem(f"more than {_MAX_MEMBERSHIPS} host entries: not a plausible inventory")
        host = self.hosts.setdefault(name, _Host())
        host.groups[group] = None
        if port:  # Ansible ignores port 0 too
            host.vars["ansible_port"] = port
        host.vars.update(variables)  # a later occurrence wins, key by key

    def build(self, source: str) -> list[InventoryHost]:
        if not self.hosts:
            raise InventoryError(source, None, "inventory has no hosts")
        parents = self._parents()
        order = self._topological_order(parents, source)
        depth, ancestors = {"all": 0}, {"all": frozenset()}
        for group in order[1:]:
            depth[group] = 1 + max(depth[p] for p in parents[group])
            ancestors[group] = frozenset().union(*(ancestors[p] | {p} for p in parents[group]))
        return [self._merged(name, host, depth, ancestors) for name, host in self.hosts.items()]

    def _parents(self) -> dict[str, set[str]]:
        parents: dict[str, set[str]] = {name: set() for name in self.groups}
        for name, group in self.groups.items():
            for child in group.children:
                parents[child].add(name)
        for name, found in parents.items():  # as Ansible: a group without parents is a child of 'all'
            if name != "all" and not found:
                found.add("all")
                self.groups["all"].children.setdefault(name, None)
        return parents

    def _topological_order(self, parents: dict[str, set[str]], source: str) -> list[str]:
        """Groups with every parent before its children ('all' first); a cycle is an error."""
        waiting = {name: len(found) for name, found in parents.items()}
        ready, order = ["all"] if not waiting["all"] else [], []
        while ready:
            name = ready.pop()
            order.append(name)
            for child in self.groups[name].children:
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)
        if len(order) < len(self.groups):
            raise self._cycle_error({n for n in self.groups if n not in set(order)}, parents, source)
        return order

    def _cycle_error(self, stuck: set[str], parents: dict[str, set[str]], source: str) -> InventoryError:
        # Every stuck group has a stuck parent: walking up them must come back somewhere.
        path, seen, name = [], {}, min(stuck)
        while name not in seen:
            seen[name] = len(path)
            path.append(name)
            name = min(p for p in parents[name] if p in stuck)
        cycle = list(reversed(path[seen[name]:]))
        first = cycle.index(min(cycle))  # told from its smallest name, the same whatever the file order
        cycle = cycle[first:] + cycle[:first + 1]
        lines = [self.groups[a].children[b] for a, b in zip(cycle, cycle[1:])]
        known = [line for line in lines if line]
        shown = " -> ".join(map(_quote, cycle))
        return InventoryError(source, max(known) if known else None, f"groups contain each other: {shown}")

    def _merged(self, name: str, host: _Host, depth: dict, ancestors: dict) -> InventoryHost:
        groups = {"all"}
        for group in host.groups:
            if group != "ungrouped":
                groups |= ancestors[group] | {group}
        if not groups - {"all", "ungrouped"}:  # as Ansible: ungrouped is for hosts in no other group
            groups.add("ungrouped")
        merged: dict = {}
        for group in sorted(groups, key=lambda g: (depth[g], self.groups[g].priority, g)):
            merged.update(self.groups[group].vars)
        merged.update(host.vars)
        return InventoryHost(name, merged, tuple(sorted(groups)))


def _check_var_name(key: object) -> None:
    if not isinstance(key, str):
        raise _Problem(f"variable name must be a string, got {_describe(key)} {_quote(key)}")
    if not key:
        raise _Problem("variable with an empty name")


def _quote(value: object, limit: int = 60) -> str:
    """repr, cut short: a message stays one readable line whatever the file holds."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def _describe(value: object) -> str:
    return {dict: "a mapping", list: "a list", type(None): "null", bool: "a boolean",
            int: "a number", float: "a number", str: "a string"}.get(type(value), type(value).__name__)


# --- host patterns (both formats) -----------------------------------------------
def _expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Host names and port of a host entry: 'web[1:3]:2222' -> web1..web3, 2222."""
    pattern_only, port = _split_port(pattern)
    if port is None and pattern.strip().endswith(":"):
        raise _Problem(f"invalid host {_quote(pattern)}: ':' is reserved for a port number")
    names = _expand_ranges(pattern_only)
    for name in names:
        _check_host_name(name)
    return names, port


def _split_port(pattern: str) -> tuple[str, int | None]:
    # [IPv6]:port first; a bracket that is a host range ("[1:3]:22") is left to host:port.
    bracketed = _BRACKETED_HOST_PORT.match(pattern)
    if bracketed and _IP_ADDRESS.match(bracketed.group(1)) and _is_ipv6(bracketed.group(1)):
        return bracketed.group(1), int(bracketed.group(2))
    found = _HOST_PORT.match(pattern)
    if found and _PLAIN_HOST.match(found.group(1)):
        return found.group(1), int(found.group(2))
    return pattern, None


def _is_ipv6(text: str) -> bool:
    return "::" in text or text.count(":") == 7


def _check_host_name(name: str) -> None:
    if not name or not name.isprintable() or " " in name:  # isprintable() is False for other whitespace
        raise _Problem(f"invalid host name {_quote(name)}: empty, or with whitespace or control characters")
    if name.strip() == "---":
        raise _Problem("host name '---' is a YAML document start: is this a broken YAML file?")


def _expand_ranges(pattern: str) -> list[str]:
    """Every [start:end(:stride)] expanded, left to right, as Ansible's expand_hostname_range."""
    pieces: list = []  # literal text and range values, alternating
    rest = pattern
    while "[" in rest:
        head, _, after = rest.partition("[")
        body, closed, rest = after.partition("]")
        if not closed:
            raise _Problem(f"host range in {_quote(pattern)} has no closing ']'")
        where = f"host range {_quote('[' + body + ']')} in {_quote(pattern)}"
        pieces += [[head], _range_values(body, where)]
    pieces.append([rest])
    count = 1
    for values in pieces:
        count *= values.size if isinstance(values, _NumberRange) else len(values)
    if count > _MAX_HOSTS_PER_PATTERN:
        raise _Problem(f"host range {_quote(pattern)} gives more than {_MAX_HOSTS_PER_PATTERN} hosts")
    return ["".join(parts) for parts in product(*pieces)]


def _range_values(body: str, where: str) -> list[str] | _NumberRange:
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise _Problem(f"{where} must be [start:end] or [start:end:stride]")
    start, end = bounds[0] or "0", bounds[1]  # as Ansible, an empty start is 0
    stride = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise _Problem(f"{where} has no end")
    if not _DIGITS.match(stride) or not int(stride):
        raise _Problem(f"{where}: stride must be a positive integer")
    if _DIGITS.match(start) and _DIGITS.match(end):
        return _numeric_range(start, end, int(stride), where)
    if len(start) == len(end) == 1 and start in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(start), string.ascii_letters.index(end)
        if first > last:
            raise _Problem(f"{where} starts after its end")
        return list(string.ascii_letters[first:last + 1:int(stride)])
    raise _Problem(f"{where}: start and end must be both numbers or both single letters")


def _numeric_range(start: str, end: str, stride: int, where: str) -> _NumberRange:
    # Ansible: a start with a leading zero sets the width, and the end must have it too.
    width = len(start) if start[0] == "0" and len(start) > 1 else 0
    if width and len(end) != width:
        raise _Problem(f"{where}: a zero-padded start and its end must have the same width")
    try:
        first, last = int(start), int(end)
    except ValueError:  # more digits than int() accepts
        raise _Problem(f"{where} is too large") from None
    if first > last:
        raise _Problem(f"{where} starts after its end")
    return _NumberRange(first, last, stride, width)


@dataclass(frozen=True)
class _NumberRange:
    """The numbers of a host range as text; sized before any is made (ranges may be huge)."""

    first: int
    last: int
    stride: int
    width: int

    @property
    def size(self) -> int:
        return (self.last - self.first) // self.stride + 1

    def __iter__(self):
        return (str(n).zfill(self.width) for n in range(self.first, self.last + 1, self.stride))


# --- INI ------------------------------------------------------------------------
@dataclass
class _Pending:
    """[g:vars], or g listed as a child, before g is declared (Ansible's pending_declarations)."""

    kind: str  # "vars" or "children"
    line: int
    parents: list[tuple[str, int]] = field(default_factory=list)


def _read_ini(text: str, source: str) -> _Inventory:
    inventory = _Inventory()
    pending: dict[str, _Pending] = {}
    group, kind = "ungrouped", "hosts"  # as if the file began with [ungrouped]
    for number, raw in enumerate(text.splitlines(), start=1):  # str.splitlines, as Ansible
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        try:
            header = _INI_SECTION.match(line)
            if header:
                group, kind = _open_section(inventory, pending, header, number)
            elif line.startswith("[") and line.endswith("]"):
                raise _Problem(f"invalid section header {_quote(line)}: "
                               "no spaces, at most one ':' and a suffix")
            elif kind == "hosts":
                _ini_host_line(inventory, group, line)
            elif kind == "vars":
                _ini_var_line(inventory, group, line)
            else:
                _ini_child_line(inventory, pending, group, line, number)
        except _Problem as problem:
            raise InventoryError(source, number, str(problem)) from None
    _check_pending(pending, source)
    return inventory


def _open_section(inventory: _Inventory, pending: dict, header: re.Match, number: int) -> tuple[str, str]:
    name, kind = header.group(1), header.group(2) or "hosts"
    if kind not in ("hosts", "vars", "children"):
        raise _Problem(f"section [{name}:{kind}] has an unknown suffix {_quote(kind)} "
                       "(expected vars or children)")
    if name not in inventory.groups:
        # [g] or [g:children] declares g; [g:vars] alone does not (checked at the end).
        if kind == "vars" and name not in pending:
            pending[name] = _Pending("vars", number)
        inventory.add_group(name)
    if name in pending and kind != "vars":
        declared = pending.pop(name)
        for parent, line in declared.parents:
            inventory.add_child(parent, name, line)
    return name, kind


def _ini_host_line(inventory: _Inventory, group: str, line: str) -> None:
    try:
        tokens = shlex.split(line, comments=True, posix=True)
    except ValueError as exc:
        raise _Problem(f"cannot split host line: {exc}") from None
    if not tokens:
        raise _Problem("expected a host name")
    names, port = _expand_host_pattern(tokens[0])
    variables = {}
    for token in tokens[1:]:
        key, equals, value = token.partition("=")
        if not equals:
            raise _Problem(f"expected key=value after the host name, got {_quote(token)}")
        _check_var_name(key)
        variables[key] = _ini_value(value)
    for name in names:
        inventory.add_host(name, group, port, variables)


def _ini_var_line(inventory: _Inventory, group: str, line: str) -> None:
    key, equals, value = line.partition("=")
    if not equals:
        raise _Problem(f"expected key=value in [{group}:vars], got {_quote(line)}")
    inventory.set_group_var(group, key.strip(), _ini_value(value.strip()))


def _ini_child_line(inventory: _Inventory, pending: dict, group: str, line: str, number: int) -> None:
    found = _INI_GROUP_NAME.match(line)
    if not found:
        raise _Problem(f"expected a group name in [{group}:children], got {_quote(line)}")
    child = found.group(1)
    if child in inventory.groups:
        inventory.add_child(group, child, number)
    else:
        pending.setdefault(child, _Pending("children", number)).parents.append((group, number))


def _check_pending(pending: dict[str, _Pending], source: str) -> None:
    for name, declared in pending.items():  # the first one, as Ansible
        if declared.kind == "vars":
            problem = (f"[{name}:vars] is for group {_quote(name)}, "
                       f"which no [{name}] or [{name}:children] declares")
        else:
            parent = declared.parents[0][0]
            problem = f"[{parent}:children] lists group {_quote(name)}, which no [{name}] section declares"
        raise InventoryError(source, declared.line, problem)


def _ini_value(text: str) -> object:
    """Ansible's INI typing: a Python literal when ast.literal_eval takes it, else the text itself."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except Exception:  # ValueError, SyntaxError, but also TypeError ({[1]: 2}) and friends: not a literal
        return text
    return _as_ansible_types(value)


def _as_ansible_types(value: object) -> object:
    """What Ansible keeps of a literal: tuples and sets as lists, bytes as text, `...` and complex as text."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_as_ansible_types(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_ansible_types(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is ... or isinstance(value, complex):
        return "..." if value is ... else str(value)
    return value


# --- YAML -----------------------------------------------------------------------
def _try_read_yaml(root: Node, source: str) -> tuple[_Inventory | None, InventoryError | None]:
    # A fresh constructor: the one that built `data` may have stopped half way.
    constructor = yaml.SafeLoader("")
    try:
        reader = _YamlReader(constructor, source)
        reader.document(root)
        return reader.inventory, None
    except InventoryError as exc:
        return None, exc
    except (yaml.YAMLError, RecursionError) as exc:  # from merging or constructing
        return None, _yaml_error(exc, "", source)
    finally:
        constructor.dispose()


class _YamlReader:
    """Walks the node tree as the yaml plugin walks the data, so errors carry their line."""

    def __init__(self, loader: yaml.SafeLoader, source: str):
        self.loader, self.source = loader, source
        self.inventory = _Inventory()
        self.entries_read = 0
        self.open_entries: set[int] = set()  # group entries being read: an alias may contain itself

    def fail(self, node: Node, problem: str) -> InventoryError:
        return InventoryError(self.source, node.start_mark.line + 1, problem)

    def document(self, root: Node | None) -> None:
        if root is None or _is_null(root):
            return
        if not isinstance(root, MappingNode):
            raise self.fail(root, "a YAML inventory must be a mapping of group names")
        for name, key_node, value_node in self.pairs(root):
            if name == "plugin" and isinstance(value_node, ScalarNode) and not _is_null(value_node):
                raise self.fail(key_node, "this is an inventory plugin configuration, not a static inventory")
            self.group(name, key_node, value_node)

    def group(self, name: str, key_node: Node, entry: Node | None) -> None:
        self.entries_read += 1
        if self.entries_read > _MAX_YAML_GROUP_ENTRIES:
            raise self.fail(key_node, f"more than {_MAX_YAML_GROUP_ENTRIES} group entries (YAML aliases?)")
        self.call(key_node, self.inventory.add_group, name)
        if entry is None or _is_null(entry):  # None: named bare, as in "children: web"
            return
        if not isinstance(entry, MappingNode):
            raise self.fail(entry, f"group {_quote(name)} must be a mapping of hosts, vars and children, "
                                   f"got {_describe(self.construct(entry))}")
        if id(entry) in self.open_entries:
            raise self.fail(key_node, f"group {_quote(name)} contains itself through a YAML alias")
        self.open_entries.add(id(entry))
        try:
            for key, key_node, value_node in self.pairs(entry):
                if key == "hosts":
                    self.hosts(name, value_node)
                elif key == "vars":
                    self.group_vars(name, value_node)
                elif key == "children":
                    self.children(name, value_node)
                else:
                    raise self.fail(key_node, f"group {_quote(name)}: unknown key {_quote(key)} "
                                              "(expected hosts, vars or children)")
        finally:
            self.open_entries.discard(id(entry))

    def hosts(self, group: str, node: Node) -> None:
        for pattern, key_node, vars_node in self.names_or_mapping(node, f"hosts of group {_quote(group)}"):
            names, port = self.call(key_node, _expand_host_pattern, pattern)
            variables = self.variables(vars_node, f"variables of host {_quote(pattern)}")
            for name in names:
                self.call(key_node, self.inventory.add_host, name, group, port, variables)

    def group_vars(self, group: str, node: Node) -> None:
        for key, value in self.variables(node, f"vars of group {_quote(group)}").items():
            self.call(node, self.inventory.set_group_var, group, key, value)

    def children(self, group: str, node: Node) -> None:
        for child, key_node, entry in self.names_or_mapping(node, f"children of group {_quote(group)}"):
            self.group(child, key_node, entry)
            self.call(key_node, self.inventory.add_child, group, child, key_node.start_mark.line + 1)

    def names_or_mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node | None]]:
        """hosts: and children: take a mapping, or (as Ansible allows) one bare name."""
        if _is_null(node):
            return []
        if isinstance(node, MappingNode):
            return self.pairs(node)
        value = self.construct(node)
        if isinstance(node, ScalarNode) and isinstance(value, str):
            return [(value, node, None)]
        raise self.fail(node, f"{what} must be a mapping, got {_describe(value)}")

    def variables(self, node: Node | None, what: str) -> dict:
        if node is None or _is_null(node):
            return {}
        value = self.construct(node)
        if not isinstance(value, dict):
            raise self.fail(node, f"{what} must be a mapping, got {_describe(value)}")
        for key in value:
            self.call(node, _check_var_name, key)
        return value

    def pairs(self, node: MappingNode) -> list[tuple[str, Node, Node]]:
        """A mapping's entries as safe_load gives them: '<<' merged, a repeated key keeping its last value."""
        self.loader.flatten_mapping(node)
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.construct(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"names must be strings, got {_describe(key)} {_quote(key)} "
                                          "(quote it)")
            entries[key] = (key_node, value_node)
        return [(key, key_node, value_node) for key, (key_node, value_node) in entries.items()]

    def construct(self, node: Node) -> object:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # a scalar PyYAML cannot build: 2020-13-01, an int past int()'s limit
            raise self.fail(node, f"invalid value: {' '.join(str(exc).split())}") from None

    def call(self, node: Node, action, *args):
        try:
            return action(*args)
        except _Problem as problem:
            raise self.fail(node, str(problem)) from None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _YAML_TAG + "null"
