"""An Ansible inventory as Ansible itself reads it: `ansible-inventory -i FILE --list`, when
Ansible is installed. It applies what the built-in reader (inventory.py) cannot: `group_vars/`
and `host_vars/` beside the inventory, dynamic inventory plugins and scripts, vault with the
user's own setup. Its JSON is read here into the same hosts as the built-in reader gives.

`--list` does not render Jinja: a variable the audit uses that still holds `{{ ... }}` is said so
(its raw text would be used as an address or a path).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings

from .errors import UsageError
from .inventory import InventoryHost

# what the audit reads from a host's variables
USED_VARIABLES = ("ansible_host", "ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port",
                  "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_connection",
                  "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_become",
                  "ansible_become_user", "ansible_become_method",
                  "wa_compliance_profile", "wa_compliance_deployment")
TIMEOUT = 120


def available() -> str | None:
    return shutil.which("ansible-inventory")


def ansible_hosts(path: str, executable: str) -> list[InventoryHost]:
    """Every host of the inventory, in Ansible's group order, with its merged variables."""
    try:
        done = subprocess.run([executable, "-i", path, "--list"], capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                              env=None)
    except subprocess.TimeoutExpired:
        raise UsageError(f"--inventory={path}: ansible-inventory did not answer within {TIMEOUT}s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or ["no output"]
        raise UsageError(f"--inventory={path}: ansible-inventory failed: {lines[-1].strip()[:300]}")
    try:
        data = json.loads(done.stdout)
    except ValueError:
        raise UsageError(f"--inventory={path}: ansible-inventory answered something that is not JSON") from None
    return hosts_of(data, path)


def hosts_of(data: dict, path: str = "inventory") -> list[InventoryHost]:
    """The hosts of `ansible-inventory --list` JSON: each with its variables (`_meta.hostvars`)
    and every group it belongs to, directly or through children, always with `all`."""
    if not isinstance(data, dict):
        raise UsageError(f"--inventory={path}: ansible-inventory's answer is not a mapping")
    hostvars = (data.get("_meta") or {}).get("hostvars") or {}
    order: list[str] = []
    groups_of: dict[str, set[str]] = {}

    def visit(group: str, ancestors: tuple[str, ...]) -> None:
        entry = data.get(group) or {}
        if group in ancestors or not isinstance(entry, dict):
            return
        for host in entry.get("hosts") or []:
            if host not in groups_of:
                order.append(host)
                groups_of[host] = set()
            groups_of[host].update((*ancestors, group))
        for child in entry.get("children") or []:
            visit(child, (*ancestors, group))

    visit("all", ())
    hosts = [InventoryHost(name, dict(hostvars.get(name) or {}), tuple(sorted(groups_of[name] | {"all"})))
             for name in order]
    for host in hosts:
        templated = [key for key in USED_VARIABLES if "{{" in str(host.vars.get(key, ""))]
        if templated:
            warnings.warn(f"--inventory={path}: host {host.name}: {', '.join(templated)} hold a Jinja template, "
                          "which ansible-inventory --list leaves unrendered: its raw text is used", stacklevel=2)
    return hosts
