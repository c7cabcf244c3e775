"""What each kind of lab deployment is made of: Meta's compose file, services and their roles."""

from __future__ import annotations

from pathlib import Path

TOPOLOGIES = ("single", "multiconnect")
ENGINES = ("mysql", "pgsql")

# Verbatim copies of Meta's files (see lab/meta/README.md), vendored so the lab needs
# nothing outside the repository.
META_DIR = Path(__file__).resolve().parent / "meta"
_COMPOSE_SOURCES = {
    ("single", "mysql"): "docker-compose.yml",
    ("single", "pgsql"): "postgres/docker-compose.yml",
    ("multiconnect", "mysql"): "multiconnect-compose.yml",
    ("multiconnect", "pgsql"): "postgres/multiconnect-compose.yml",
}

# Every service of Meta's files except `db`: the lab's database is the host's real server.
SERVICE_ROLES = {
    "single": {"waweb": "webapp", "wacore": "coreapp"},
    "multiconnect": {
        "waweb": "webapp",
        "master1": "master", "master2": "master",
        "wacore1": "coreapp", "wacore2": "coreapp", "wacore3": "coreapp",
    },
}
ROLES = ("webapp", "coreapp", "master")

# Where the media storage comes from: Meta's named volume (as in Meta's files), or one host
# folder bind-mounted into every container (the lab's override replaces Meta's entry).
MEDIA_KINDS = ("volume", "bind")
MEDIA_PATH = "/usr/local/wamedia"
MEDIA_VOLUME = "whatsappMedia"      # the volume's name in Meta's files (Compose prefixes it)

DB_PORTS = {"mysql": 3306, "pgsql": 5432}
DB_ENGINE_NAMES = {"mysql": "MYSQL", "pgsql": "PGSQL"}   # WA_DB_ENGINE, as in Meta's db.env files


def compose_source(topology: str, engine: str) -> Path:
    """Meta's compose file for this topology and engine."""
    return META_DIR / _COMPOSE_SOURCES[(topology, engine)]


def services(topology: str) -> list[str]:
    return list(SERVICE_ROLES[topology])


def first_coreapp_service(topology: str) -> str:
    """The Coreapp service (not a Master) that media deviations change: wacore or wacore1."""
    return next(service for service, role in SERVICE_ROLES[topology].items() if role == "coreapp")
