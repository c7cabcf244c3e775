"""The hosts of an Ansible inventory as hosts to audit (`--inventory FILE [--limit PATTERN]`).

Each inventory host becomes one audited host named after it. Where it is comes from the
inventory, as Ansible would connect: `ansible_host` (default: the inventory name),
`ansible_user`, `ansible_port`, `ansible_ssh_private_key_file`; `ansible_connection=local`
audits this machine. What it is comes from a profile: the one the host variable
`wa_compliance_profile` names, else `profiles/<inventory name>.yaml` when it exists, else
the defaults of docs/profile.md (Meta's paths, containers discovered by image). Hosts whose
variable `wa_compliance_deployment` is the same form one deployment spread over them, audited
as a profile with `hosts:` named after that value (its profile and SSH key: its first host's).

>>> [p.target for p, _ in inventory_profiles("fleet.ini", "profiles")]      # doctest: +SKIP
['ssh://deploy@10.0.0.11:2222', 'ssh://deploy@10.0.0.12', 'local']
"""

from __future__ import annotations

import dataclasses
import shlex
import warnings
from pathlib import Path

from . import ansible_inventory
from .errors import UsageError
from .inventory import InventoryHost, read_inventory, select
from .profile import Host, Profile, load_profile, resolve_host
from .profile_schema import target as valid_target
from .transport.ssh import SshOptions

PROFILE_VARIABLE = "wa_compliance_profile"
DEPLOYMENT_VARIABLE = "wa_compliance_deployment"


def inventory_profiles(path: str, profiles_dir: str, limit: str | None = None,
                       ssh: SshOptions = SshOptions()) -> list[tuple[Profile, SshOptions]]:
    """(profile, SSH client options) per selected inventory host, in inventory order."""
    hosts = select(_read(path), limit)
    if not hosts:
        raise UsageError(f"--inventory={path}: no host" + (f" matches --limit={limit}" if limit else ""))
    chosen: list[tuple[Profile, SshOptions]] = []
    spread: dict[str, int] = {}        # deployment name -> its index in `chosen`
    for host in hosts:
        profile, options = _host_profile(host, path, profiles_dir, ssh)
        deployment = host.vars.get(DEPLOYMENT_VARIABLE)
        if deployment is None:
            chosen.append((profile, options))
            continue
        if not isinstance(deployment, str) or not deployment:
            raise UsageError(f"{path}: host {host.name}: {DEPLOYMENT_VARIABLE} must name a deployment")
        member = Host(target=profile.target, name=host.name)
        own = ((host.name, options),)       # its key, bastion and become: each host keeps its own
        if deployment in spread:
            first, first_options = chosen[spread[deployment]]
            chosen[spread[deployment]] = (dataclasses.replace(first, hosts=[*first.hosts, member]),
                                          dataclasses.replace(first_options, per_host=first_options.per_host + own))
        else:
            spread[deployment] = len(chosen)
            chosen.append((dataclasses.replace(profile, name=deployment, target="local", hosts=[member]),
                           dataclasses.replace(options, per_host=own)))
    return chosen


def _read(path: str) -> list[InventoryHost]:
    """As Ansible reads it when `ansible-inventory` is installed; else the built-in reader, which
    says what it leaves out."""
    executable = ansible_inventory.available()
    if executable:
        return ansible_inventory.ansible_hosts(path, executable)
    beside = [name for name in ("group_vars", "host_vars") if (Path(path).parent / name).is_dir()]
    if beside:
        warnings.warn(f"--inventory={path}: {' and '.join(beside)} beside it are not read without Ansible "
                      "(install ansible-core for ansible-inventory, or render: ansible-inventory --list)",
                      stacklevel=2)
    return read_inventory(path)


def _host_profile(host: InventoryHost, inventory: str, profiles_dir: str,
                  ssh: SshOptions) -> tuple[Profile, SshOptions]:
    named = host.vars.get(PROFILE_VARIABLE)
    if named is not None:
        if not isinstance(named, str) or not named:
            raise UsageError(f"{inventory}: host {host.name}: {PROFILE_VARIABLE} must name a profile")
        profile = load_profile(resolve_host(named, profiles_dir))
    elif _profile_file(host.name, profiles_dir):
        profile = load_profile(_profile_file(host.name, profiles_dir))
    else:
        profile = Profile(name=host.name, path=f"{inventory} ({host.name}, default profile)")
    profile = dataclasses.replace(profile, name=host.name, target=_target(host, inventory))
    key = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
    extra = [arg for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args")
             for arg in shlex.split(str(host.vars.get(name) or ""))]
    return profile, SshOptions(ssh.config_file, str(key) if key else ssh.identity_file, tuple(extra),
                               _become(host, inventory, ssh.become))


def _become(host: InventoryHost, inventory: str, otherwise: str | None) -> str | None:
    """The account `ansible_become` has commands run as (`ansible_become_user`, default root),
    through sudo; the host's variable wins over --sudo, as in Ansible."""
    variables = host.vars
    if "ansible_become" not in variables:
        return otherwise
    if not _boolean(variables["ansible_become"], f"{inventory}: host {host.name}: ansible_become"):
        return None
    method = variables.get("ansible_become_method", "sudo")
    if method != "sudo":
        raise UsageError(f"{inventory}: host {host.name}: ansible_become_method={method} cannot be used "
                         "(the audit becomes through sudo only)")
    user = variables.get("ansible_become_user") or "root"
    if not isinstance(user, str):
        raise UsageError(f"{inventory}: host {host.name}: ansible_become_user must name an account")
    return user


# Ansible's boolean(): these words in any case, and the numbers 1 and 0
_TRUE, _FALSE = {"y", "yes", "on", "1", "true", "t"}, {"n", "no", "off", "0", "false", "f"}


def _boolean(value, where: str) -> bool:
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise UsageError(f"{where}={value!r} is not a boolean (true or false)")


def _profile_file(name: str, profiles_dir: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = Path(profiles_dir) / f"{name}{suffix}"
        if "/" not in name and candidate.is_file():
            return candidate
    return None


def _target(host: InventoryHost, inventory: str) -> str:
    """Where Ansible would connect: 'local', or ssh://[user@]address[:port]."""
    variables = host.vars
    connection = variables.get("ansible_connection", "ssh")
    if connection == "local":
        return "local"
    if connection not in ("ssh", "smart", "paramiko"):
        raise UsageError(f"{inventory}: host {host.name}: ansible_connection={connection} cannot be audited "
                         "(ssh or local only)")
    address = str(variables.get("ansible_host") or host.name)
    user = variables.get("ansible_user") or variables.get("ansible_ssh_user")
    port = variables.get("ansible_port") or variables.get("ansible_ssh_port")
    if ":" in address:                 # an IPv6 address
        address = f"[{address}]"
    try:
        port = int(port) if port is not None else None
    except (TypeError, ValueError):
        raise UsageError(f"{inventory}: host {host.name}: ansible_port={port!r} is not a port number") from None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"{inventory}: host {host.name}: ansible_port={port} is not a port number")
    target = f"ssh://{f'{user}@' if user else ''}{address}{f':{port}' if port else ''}"
    problem = valid_target(target)
    if problem:
        raise UsageError(f"{inventory}: host {host.name}: target {target} {problem}")
    return target
