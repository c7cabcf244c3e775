"""Profiles (docs/profile.md) pointing the checker at lab deployments.

`LAB_PROFILES` is the table behind the committed `profiles/lab*.yaml` files and
`python -m lab up --all`; `profile_for()` builds the same content for any deployment, which
tests then adjust with overrides and write next to their temporary files.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from lab.api import USER_ENV, password_env

if TYPE_CHECKING:
    from lab.deployment import Lab

# Profile name -> the deployment it audits (profiles/<name>.yaml). The API stand-in's port is
# fixed for these, so the committed profiles can name its URL.
LAB_PROFILES = {
    "lab": {"project": "biz", "topology": "single", "engine": "mysql", "api_port": 19443},
    "lab-pg": {"project": "bizpg", "topology": "single", "engine": "pgsql", "api_port": 19444},
    "lab-mc": {"project": "bizmc", "topology": "multiconnect", "engine": "mysql",
               "api_port": 19445},
    "lab-mc-pg": {"project": "bizmcpg", "topology": "multiconnect", "engine": "pgsql",
                  "api_port": 19446},
    # Media on one host folder bind-mounted in every container, instead of a named volume.
    "lab-bind": {"project": "bizbind", "topology": "single", "engine": "mysql", "media": "bind",
                 "api_port": 19447},
}

REMOVE = object()   # an override value that deletes the key instead of setting it


def fixed_api_port(project: str) -> int | None:
    """The API port of a deployment of profiles/lab*.yaml (None for any other project)."""
    return next((entry["api_port"] for entry in LAB_PROFILES.values()
                 if entry["project"] == project), None)


def profile_for(lab: Lab, name: str | None = None) -> dict:
    """The profile auditing `lab`; without `name`, the checker names it after the file."""
    profile = {
        "target": "local",
        "deployment": {
            "topology": lab.topology,
            # Several lab deployments share the engine: the Compose project picks this one.
            "compose_project": lab.project,
            "db_env": str(lab.db_env_path),
            "compose_file": str(lab.compose_file),
        },
        # Containers call the database `db` (db.env); the auditor reaches the same server
        # on loopback.
        "database": {"host": lab.db_host, "port": lab.db_port},
        # The lab's stand-in of the client's API: login as the client's `admin`, with the
        # password `python -m lab api-env` exports. Its certificate is self-signed, made per
        # deployment as the client's default one is: no CA vouches for it, so no verification.
        "api": {"url": lab.api_url, "username_env": USER_ENV, "password_env": password_env(lab.project),
                "verify_tls": False},
    }
    return {"name": name, **profile} if name else profile


def merge(base: dict, overrides: dict) -> dict:
    """`base` deep-merged with `overrides` (dicts merge; REMOVE deletes; other values replace)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is REMOVE:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def write(profile: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(profile, sort_keys=False, default_flow_style=False))
    return path
