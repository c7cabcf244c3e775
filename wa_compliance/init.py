"""`wa-compliance init`: a commented profile for the deployment running at a target.

It reads, as an audit does (one SSH connection for an ssh:// target, the engine through it):
the WhatsApp containers by image; their Compose labels (project, working directory, files);
the compose file's `env_file` for db.env; db.env's `WA_DB_HOSTNAME`/`WA_DB_PORT` (never its
password) for a comment; the Webapp's published port for the API URL; topology from
`WA_APP_MULTICONNECT` / `WA_MASTER_NODE`. Every value says where it came from; what it cannot
tell is a commented placeholder. It writes nothing on the target and prints no secret.

    wa-compliance init --target=ssh://ops@wa1 > profiles/prod1.yaml
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import yaml

from .envfile import parse_env_file
from .errors import EnvFileError, FactUnavailable, UsageError
from .facts.deployment import DeploymentFacts
from .profile import Profile
from .profile_schema import target as valid_target
from .transport.containers import COMPOSE_PROJECT_LABEL, ContainerFacts
from .transport.ssh import SshOptions, SshTarget

WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


@dataclass
class Found:
    """What init learnt, each value with where it came from."""
    target: str
    project: str | None
    containers: list[ContainerFacts]
    notes: dict[str, str] = field(default_factory=dict)        # key -> where it came from
    values: dict[str, object] = field(default_factory=dict)    # profile key (dotted) -> value


def discover(target: str, compose_project: str | None = None, ssh: SshOptions | None = None) -> Found:
    problem = valid_target(target)
    if problem:
        raise UsageError(f"--target={target} {problem}")
    facts = DeploymentFacts(Profile(name="init", path="init", target=target), ssh_options=ssh)
    try:
        everything = facts.docker.wa_containers()
        projects = sorted({c.compose_project or "" for c in everything})
        if not everything:
            raise UsageError(f"no WhatsApp Business API container (docker.whatsapp.biz/web or coreapp images) "
                             f"on {facts.docker.shown_as}")
        if compose_project is None and len(projects) > 1:
            listed = ", ".join(p or "(no Compose project)" for p in projects)
            raise UsageError(f"several deployments on {facts.docker.shown_as}: name one with --compose-project "
                             f"({listed})")
        chosen = compose_project if compose_project is not None else projects[0]
        containers = [c for c in everything if (c.compose_project or "") == chosen]
        if not containers:
            raise UsageError(f"no WhatsApp container of Compose project {chosen!r} on {facts.docker.shown_as} "
                             f"(there: {', '.join(p or '(none)' for p in projects)})")
        found = Found(target, chosen or None, containers)
        _topology(found)
        _compose(found, facts)
        _api(found)
        return found
    finally:
        facts.close()


def _topology(found: Found) -> None:
    multi = any(c.env.get("WA_APP_MULTICONNECT") == "1" or c.role == "master" for c in found.containers)
    found.values["deployment.topology"] = "multiconnect" if multi else "single"
    found.notes["deployment.topology"] = ("WA_APP_MULTICONNECT=1 / a Master container (WA_MASTER_NODE=1)"
                                          if multi else "no container has WA_APP_MULTICONNECT=1")
    if found.project:
        found.values["deployment.compose_project"] = found.project
        found.notes["deployment.compose_project"] = f"label {COMPOSE_PROJECT_LABEL}"


def _compose(found: Found, facts: DeploymentFacts) -> None:
    labels = found.containers[0].labels
    working_dir = labels.get(WORKING_DIR_LABEL)
    files = [f for f in (labels.get(CONFIG_FILES_LABEL) or "").split(",") if f]
    files = [f if posixpath.isabs(f) or not working_dir else posixpath.join(working_dir, f) for f in files]
    if files:
        found.values["deployment.compose_file"] = files[0]
        found.notes["deployment.compose_file"] = f"label {CONFIG_FILES_LABEL}" + (
            f" (also: {', '.join(files[1:])})" if len(files) > 1 else "")
    env_file = _env_file(facts, files, working_dir)
    if env_file:
        found.values["deployment.db_env"], found.notes["deployment.db_env"] = env_file
        _database_comment(found, facts, env_file[0])


def _env_file(facts, files, working_dir) -> tuple[str, str] | None:
    """The first `env_file` a service of the compose files names, resolved as Compose does
    (relative to the project's working directory)."""
    for path in files:
        try:
            snapshot = facts.host.read_file(path)
        except FactUnavailable:
            continue
        if not snapshot.readable:
            continue
        try:
            document = yaml.safe_load(snapshot.content.decode("utf-8", "replace")) or {}
        except yaml.YAMLError:
            continue
        for name, service in (document.get("services") or {}).items():
            entries = (service or {}).get("env_file") if isinstance(service, dict) else None
            entries = [entries] if isinstance(entries, str) else entries or []
            for entry in entries:
                entry = entry.get("path") if isinstance(entry, dict) else entry
                if isinstance(entry, str):
                    base = working_dir or posixpath.dirname(path)
                    resolved = posixpath.normpath(posixpath.join(base, entry))
                    return resolved, f"env_file of service {name} in {path}"
    return None


def _database_comment(found: Found, facts, path: str) -> None:
    """Where db.env says the database is (never its password): a hint for `database:`."""
    try:
        snapshot = facts.host.read_file(path)
        values = parse_env_file(snapshot.content, path).values if snapshot.readable else {}
    except (FactUnavailable, EnvFileError):
        values = {}
    host, port = values.get("WA_DB_HOSTNAME"), values.get("WA_DB_PORT")
    if host:
        found.notes["database"] = (f"db.env says the containers reach the database at {host}:{port or '?'}; "
                                   "give the address the auditing machine reaches it at")


def _api(found: Found) -> None:
    webapps = [c for c in found.containers if c.role == "webapp" and c.published]
    if not webapps:
        return
    host = "127.0.0.1" if found.target == "local" else SshTarget.parse(found.target).host
    found.values["api.url"] = f"https://{host}:{webapps[0].published[0]}"
    found.notes["api.url"] = f"the port {webapps[0].name} publishes (443 inside)"


def render(found: Found) -> str:
    """The profile's YAML text, commented."""
    values, notes = found.values, found.notes

    def line(key: str, indent: str = "  ") -> str:
        leaf = key.split(".")[-1]
        if key not in values:
            return f"{indent}# {leaf}: ...              # not found"
        text = yaml.safe_dump({leaf: values[key]}, default_flow_style=True, width=1000).strip()[1:-1]
        return f"{indent}{text}" + (f"    # {notes[key]}" if key in notes else "")

    names = {role: [c.name for c in found.containers if c.role == role] for role in ("webapp", "coreapp", "master")}
    shown = "; ".join(f"{role} {', '.join(n)}" for role, n in names.items() if n)
    lines = [
        "# Written by `wa-compliance init`: review it before the first audit (docs/profile.md).",
        f"# Found on {found.target}: {shown}.",
        f"target: {found.target}",
        "deployment:",
        line("deployment.topology"),
        line("deployment.compose_project") if "deployment.compose_project" in values
        else "  # compose_project: ...     # the containers carry no Compose project label",
        line("deployment.db_env") if "deployment.db_env" in values
        else "  # db_env: /opt/whatsapp/db.env   # no env_file found in the compose files: Meta's default",
        line("deployment.compose_file"),
        "  # containers: discovered by image at every audit (docker.whatsapp.biz/web, coreapp)",
        "# database:                  # " + notes.get("database", "how the auditing machine reaches the database"),
        "#   host: ...",
        "#   port: ...",
        "api:" if "api.url" in values else "# api:",
        line("api.url") if "api.url" in values else "#   url: https://...:9090      # no published Webapp port found",
        ("  " if "api.url" in values else "#   ") + "username_env: WA_API_USER      # the variables holding the API login",
        ("  " if "api.url" in values else "#   ") + "password_env: WA_API_PASSWORD",
        ("  " if "api.url" in values else "#   ") + "verify_tls: true               # false for the client's self-signed certificate",
        "# traffic:",
        "#   peak_rps: ...              # or prometheus: {url: http://prometheus:9090}",
    ]
    return "\n".join(lines) + "\n"
