"""Driving `docker-compose` (v1, Debian's) on a deployment directory, and finding its containers.

Compose runs on Meta's file unmodified plus `lab-override.yml`, which sets
`network_mode: none` on the services the lab starts. Why: lab containers talk to nothing
(the database is the host's, reached by the auditor on loopback), and Meta's files publish
`9090:443` for waweb in every variant, so two deployments with networking could not run side by
side on one engine. Without a network the port mappings stay in the container's config (as
checks may read them) but bind nothing.

In a bind-media deployment the override also gives every service a `volumes` entry for the
media path: Compose v1 merges `volumes` lists by container path, so that entry replaces
Meta's named volume while Meta's file stays byte-identical. Media deviations use the same
trick on one service, from their own copies of the inputs (see lab/deviations/volumes.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.commands import run
from lab.errors import LabError
from lab.topology import MEDIA_PATH

OVERRIDE_FILE = "lab-override.yml"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_TIMEOUT = 180


def media_entry(source: str, read_only: bool = False) -> str:
    """A service's `volumes` entry putting `source` (a volume name or an absolute host path)
    at the media path."""
    return f"{source}:{MEDIA_PATH}" + (":ro" if read_only else "")


def render_override(services: Sequence[str], media: Mapping[str, str] | None = None,
                    volumes: Sequence[str] = (), note: str | None = None) -> str:
    """The lab's override: no network for `services`; `media` maps a service to the
    `volumes` entry replacing Meta's at the media path; `volumes` are named volumes to declare.
    `note` says, in a first comment line, what a deviation changed."""
    media = media or {}
    lines = [f"# {note}"] if note else []
    lines += [
        "# wa-lab: Meta's compose file is used unmodified; this takes the lab's containers off",
        "# the network (they talk to nothing, and Meta's files all publish 9090:443, which would",
        "# stop a second deployment from starting) and, in a bind-media deployment, bind-mounts",
        "# one host folder at the media path in place of Meta's named volume.",
        "version: '3'",   # Compose v1 refuses to merge files of different versions
    ]
    if volumes:
        lines.append("volumes:")
        lines += [f"  {name}:\n    driver: local" for name in volumes]
    lines.append("services:")
    for service in services:
        lines += [f"  {service}:", "    network_mode: none"]
        if service in media:
            # JSON quoting is valid YAML and safe for any host path.
            lines += ["    volumes:", f"      - {json.dumps(media[service])}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Container:
    name: str
    service: str
    state: str      # running, exited, created...
    image: str


class ComposeProject:
    def __init__(self, directory: Path, project: str, compose_file: str, version: str):
        self.directory = directory
        self.project = project
        self.compose_file = compose_file
        self.version = version

    def _compose(self, *arguments: str, files: Sequence[str] | None = None) -> None:
        """Run Compose on `files` (relative to the deployment directory; default: Meta's file
        and the lab's override). The project directory stays the deployment directory even
        when the first file lives elsewhere, so `env_file: db.env` still means ours."""
        file_options = [option for name in (files or (self.compose_file, OVERRIDE_FILE))
                        for option in ("-f", name)]
        # Meta's files require WA_API_VERSION (`${WA_API_VERSION:?...}`), even for `down`.
        run(["docker-compose", "--ansi", "never", "-p", self.project,
             "--project-directory", str(self.directory), *file_options, *arguments],
            cwd=self.directory, env={"WA_API_VERSION": self.version}, timeout=COMPOSE_TIMEOUT)

    def up(self, services: list[str], files: Sequence[str] | None = None) -> None:
        """Create or recreate (when their configuration, db.env included, changed) and start;
        from other Compose `files` than the deployment's own when given."""
        self._compose("up", "-d", "--no-deps", *services, files=files)

    def recreate(self, services: list[str]) -> None:
        self._compose("up", "-d", "--no-deps", "--force-recreate", *services)

    def down(self) -> None:
        """Remove containers, network and volumes; then sweep by label whatever is left,
        which also covers a project whose directory is already gone."""
        if (self.directory / self.compose_file).exists():
            try:
                self._compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
            except LabError:
                pass    # e.g. db.env deleted by a deviation: Compose refuses; the sweep won't
        remove_project_objects(self.project)

    def containers(self) -> list[Container]:
        return project_containers(self.project)


def project_containers(project: str) -> list[Container]:
    result = run(["docker", "ps", "-a", "--filter", f"label={PROJECT_LABEL}={project}", "--format",
                  f'{{{{.Names}}}}\t{{{{.Label "{SERVICE_LABEL}"}}}}\t{{{{.State}}}}\t{{{{.Image}}}}'],
                 timeout=30)
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    return sorted((Container(*row) for row in rows), key=lambda container: container.name)


def remove_project_objects(project: str) -> None:
    """Remove every container, volume and network labelled with this Compose project."""
    label = f"label={PROJECT_LABEL}={project}"
    for listing, removal in (
        (["docker", "ps", "-aq"], ["docker", "rm", "-f", "-v"]),
        (["docker", "volume", "ls", "-q"], ["docker", "volume", "rm", "-f"]),
        (["docker", "network", "ls", "-q"], ["docker", "network", "rm"]),
    ):
        ids = run([*listing, "--filter", label], timeout=30).stdout.split()
        if ids:
            run([*removal, *ids], timeout=60)
