"""What a Compose file declares for the media volume, service by service (for VOL-005).

>>> text = open("lab/meta/docker-compose.yml").read()
>>> [(d.service, d.role, d.entry) for d in media_declarations(text, "docker-compose.yml", "/usr/local/wamedia")]
[('wacore', 'coreapp', 'whatsappMedia:/usr/local/wamedia'), ('waweb', 'webapp', 'whatsappMedia:/usr/local/wamedia')]
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .errors import WaComplianceError
from .facts.media import same_path

IMAGE_ROLES = {"docker.whatsapp.biz/web": "webapp", "docker.whatsapp.biz/coreapp": "coreapp"}


class ComposeFileError(WaComplianceError):
    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")


@dataclass(frozen=True)
class MediaDeclaration:
    service: str
    role: str                   # webapp | coreapp | master
    line: int                   # where the service starts
    entry: str | None           # the volume entry at the media path, as written; None: not declared
    read_only: bool = False


# libyaml's loader when PyYAML was built with it (it reads a compose file ~10x faster; a fleet
# audit reads one per deployment), the pure-Python one otherwise: the same YAML either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str):
    """The node tree (for line numbers) and the data, from one parse."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def media_declarations(text: str, path: str, media_path: str) -> list[MediaDeclaration]:
    """One declaration per WhatsApp service (by image), whether or not it mounts the media path."""
    try:
        root, document = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if isinstance(exc, yaml.reader.ReaderError):     # a character YAML refuses (NUL...): its message spans lines
            character = chr(exc.character) if isinstance(exc.character, int) else exc.character
            line, problem = str(text)[:exc.position].count("\n") + 1, f"character {character!r} is not allowed"
        else:
            line, problem = mark.line + 1 if mark else None, " ".join(str(getattr(exc, "problem", exc)).split())
        raise ComposeFileError(path, line, f"invalid YAML: {problem}") from None
    except (ValueError, RecursionError, TypeError) as exc:
        raise ComposeFileError(path, None, f"invalid YAML: {exc}") from None
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        raise ComposeFileError(path, None, "no 'services' mapping")
    lines = _service_lines(root)
    declarations = []
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        role = _role(service)
        if role is None:
            continue
        entry, read_only = _media_entry(service.get("volumes"), media_path)
        declarations.append(MediaDeclaration(str(name), role, lines.get(str(name), 0), entry, read_only))
    return declarations


def _role(service: dict) -> str | None:
    # The tag holds Compose variables with ':' of their own (`v${WA_API_VERSION:?...}`):
    # the repository is what comes before the first ':' or '@'.
    repository = str(service.get("image") or "").split(":", 1)[0].split("@", 1)[0]
    role = IMAGE_ROLES.get(repository)
    if role == "coreapp" and _environment(service.get("environment")).get("WA_MASTER_NODE") == "1":
        return "master"
    return role


def _environment(environment) -> dict[str, str]:
    if isinstance(environment, dict):
        return {str(k): str(v) for k, v in environment.items()}
    if isinstance(environment, list):
        return dict(str(item).split("=", 1) for item in environment if "=" in str(item))
    return {}


def _media_entry(volumes, media_path: str) -> tuple[str | None, bool]:
    """The entry mounting the media path (short `src:dst[:mode]` or long syntax) and if it is read-only."""
    for volume in volumes if isinstance(volumes, list) else []:
        if isinstance(volume, str):
            parts = volume.split(":")
            target = parts[1] if len(parts) > 1 else parts[0]
            if same_path(target, media_path):
                modes = parts[2].split(",") if len(parts) > 2 else []
                return volume, "ro" in modes
        elif isinstance(volume, dict) and same_path(str(volume.get("target", "")), media_path):
            shown = f"{volume.get('source', '')}:{volume.get('target')}"
            return shown, volume.get("read_only") in (True, "true", "yes")
    return None, False


def _service_lines(root) -> dict[str, int]:
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "services" and isinstance(value, yaml.MappingNode):
            return {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return {}
