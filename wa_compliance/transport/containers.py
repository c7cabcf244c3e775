"""The deployment's containers, through the Docker engine API (docker SDK).

>>> engine = DockerEngine("unix:///var/run/docker.sock")
>>> [c.name for c in engine.wa_containers(compose_project="biz")]
['biz_wacore_1', 'biz_waweb_1']
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import docker
import docker.errors

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS
from .relay import CommandRelay
from .trace import logged

WEBAPP_IMAGE = "docker.whatsapp.biz/web"
COREAPP_IMAGE = "docker.whatsapp.biz/coreapp"
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
ROLES = ("webapp", "coreapp", "master")


@dataclass(frozen=True)
class ContainerFacts:
    """One Webapp, Coreapp or Master container as `docker inspect` shows it."""

    name: str
    id: str
    role: str                      # webapp | coreapp | master
    image: str
    status: str                    # running, exited, restarting, created, paused, dead
    exit_code: int | None
    finished_at: str | None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    mounts: tuple[dict, ...] = ()
    host: str = ""                 # the host it runs on, in a deployment spread over several
    published: tuple[int, ...] = ()    # host ports its ports are published on

    @property
    def subject(self) -> str:
        """How results name it: `wa-b/biz_wacore_1` when the deployment spans hosts."""
        return f"{self.host}/{self.name}" if self.host else self.name

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def compose_project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT_LABEL)

    @property
    def compose_service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE_LABEL)

    def state_line(self) -> str:
        """'biz_wacore_1 is not running (exited 137, 5 minutes ago)'."""
        detail = self.status
        if self.status == "exited":
            detail = f"exited {self.exit_code}"
            ago = _ago(self.finished_at)
            if ago:
                detail += f", {ago}"
        return f"{self.subject} is not running ({detail})"


def _published(bindings: dict) -> tuple[int, ...]:
    """Host ports of `HostConfig.PortBindings` ({"443/tcp": [{"HostIp": "", "HostPort": "9090"}]})."""
    ports = set()
    for entries in bindings.values():
        for entry in entries if isinstance(entries, list) else []:
            port = entry.get("HostPort") if isinstance(entry, dict) else None
            if isinstance(port, str) and port.isdigit():
                ports.add(int(port))
    return tuple(sorted(ports))


def role_of(image: str, env: dict[str, str]) -> str | None:
    """Webapp/Coreapp by image name, Master by WA_MASTER_NODE=1 (docs/profile.md); a tag or a digest
    (`docker.whatsapp.biz/web@sha256:...`, a pinned deployment) does not matter."""
    repository = image.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    if repository == WEBAPP_IMAGE:
        return "webapp"
    if repository == COREAPP_IMAGE:
        return "master" if env.get("WA_MASTER_NODE") == "1" else "coreapp"
    return None


class DockerEngine:
    def __init__(self, base_url: str, shown_as: str | None = None, relay: CommandRelay | None = None,
                 when_reset: str | None = None):
        """`shown_as`: how messages name the engine (a forwarded socket's path means nothing
        to the reader; "ssh://deploy@wa1" does). `relay`: the engine is reached through it
        (`base_url` is its socket); what its program said when it failed explains a failure.
        `when_reset`: what a connection reset at once means (a forwarded socket: sshd refused
        to open the engine's)."""
        self.base_url = base_url
        self.shown_as = shown_as or base_url
        self._relay = relay
        self._when_reset = when_reset
        try:
            self._client = docker.DockerClient(base_url=base_url, timeout=COMMAND_SECONDS,
                                               use_ssh_client=base_url.startswith("ssh://"))
            # requests would look for proxy settings by iterating os.environ at every call,
            # from the threads that gather facts while pytest edits it (PYTEST_CURRENT_TEST):
            # a KeyError now and then. The engine (a socket, local or forwarded) takes no proxy.
            self._client.api.trust_env = False
        except docker.errors.DockerException as exc:
            if relay is not None:
                relay.close()
            raise FactUnavailable(f"cannot reach the Docker engine at {self.shown_as}: {self._cause(exc)}") from None

    @logged(lambda self, *_: f"list and inspect the WhatsApp containers on {self.shown_as}")
    def wa_containers(self, compose_project: str | None = None,
                      declared: dict[str, list[str]] | None = None) -> list[ContainerFacts]:
        """Discovered by image (optionally narrowed to one Compose project), or as declared."""
        try:
            if declared:
                return self._declared(declared)
            return self._discovered(compose_project)
        except (docker.errors.DockerException, OSError) as exc:  # OSError: socket timeouts and refusals
            raise FactUnavailable(f"cannot list containers on {self.shown_as}: {self._cause(exc)}") from None

    def _discovered(self, compose_project):
        filters = {"label": f"{COMPOSE_PROJECT_LABEL}={compose_project}"} if compose_project else None
        # sparse listing is one API call; full inspect only for WhatsApp containers
        listed = self._client.containers.list(all=True, sparse=True, filters=filters)
        candidates = [c for c in listed if _may_be_whatsapp(c.attrs.get("Image", ""))]
        facts = [self._facts(self._client.api.inspect_container(c.id)) for c in candidates]
        return sorted((f for f in facts if f.role), key=lambda f: (ROLES.index(f.role), f.name))

    def _declared(self, declared):
        facts = []
        for role, names in declared.items():
            for name in names or ():
                try:
                    attrs = self._client.api.inspect_container(name)
                except docker.errors.NotFound:
                    raise FactUnavailable(f"container {name} named in the profile does not exist", name) from None
                facts.append(self._facts(attrs, role))
        return facts

    def _facts(self, attrs: dict, role: str | None = None) -> ContainerFacts:
        """One container's `docker inspect`. The engine is outside the tool: a shape other than
        Docker's is FactUnavailable here, not a crash in some check later."""
        name = attrs.get("Name") if isinstance(attrs, dict) else None
        shown = name.lstrip("/") if isinstance(name, str) and name.strip("/") else "a container"

        def unexpected(what: str) -> FactUnavailable:
            return FactUnavailable(f"docker inspect of {shown!r} on {self.shown_as}: {what} is not what Docker answers",
                                   shown)

        def field(parent: dict, key: str, kind: type, default=None):
            value = parent.get(key)
            if value is not None and not isinstance(value, kind):
                raise unexpected(f"{key} ({type(value).__name__})")
            return default if value is None else value

        if not isinstance(attrs, dict):
            raise unexpected(f"the answer ({type(attrs).__name__})")
        config, state = field(attrs, "Config", dict, {}), field(attrs, "State", dict, {})
        items, labels = field(config, "Env", list, []), field(config, "Labels", dict, {})
        mounts = field(attrs, "Mounts", list, [])
        if not all(isinstance(text, str) for text in [*items, *labels, *labels.values()]):
            raise unexpected("Config.Env or Config.Labels")
        if not all(isinstance(mount, dict) for mount in mounts):
            raise unexpected("Mounts")
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in items)
        image = field(config, "Image", str, "")
        if image.startswith("sha256:"):
            try:
                image = self._tag_of(image)
            except (AttributeError, TypeError, KeyError, IndexError):
                image = None
            if not isinstance(image, str):
                raise unexpected(f"the inspect of image {config['Image']!r}")
        return ContainerFacts(
            name=field(attrs, "Name", str, "").lstrip("/"), id=field(attrs, "Id", str, ""),
            role=role or role_of(image, env), image=image,
            status=field(state, "Status", str, "unknown"), exit_code=field(state, "ExitCode", int),
            finished_at=field(state, "FinishedAt", str), env=env, labels=labels, mounts=tuple(mounts),
            published=_published(field(field(attrs, "HostConfig", dict, {}), "PortBindings", dict, {})))

    @logged(lambda self: f"list every container on {self.shown_as}")
    def listing(self) -> list[dict]:
        """Every container on the engine, running or not, in one call: what cron entries may name."""
        try:
            listed = self._client.containers.list(all=True, sparse=True)
        except (docker.errors.DockerException, OSError) as exc:
            raise FactUnavailable(f"cannot list containers on {self.shown_as}: {self._cause(exc)}") from None
        return [{"name": (c.attrs.get("Names") or ["/"])[0].lstrip("/"), "id": c.id,
                 "image": c.attrs.get("Image", ""), "labels": c.attrs.get("Labels") or {},
                 "status": c.attrs.get("State", "")} for c in listed]

    def destroyed(self, within_days: int = 90) -> dict[str, dict]:
        """Containers removed lately, from the engine's event buffer: ID -> name and labels.

        The engine keeps only its most recent events, since its last start; what is here tells
        which container a stale ID in a cron entry belonged to, what is missing proves nothing.
        """
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        try:
            events = self._client.events(since=now - within_days * 86400, until=now, decode=True,
                                         filters={"type": "container", "event": "destroy"})
            found = {}
            for event in events:
                actor = event.get("Actor") or {}
                found[actor.get("ID", "")] = actor.get("Attributes") or {}
            return found
        except (docker.errors.DockerException, OSError) as exc:
            raise FactUnavailable(f"cannot read the engine's events on {self.shown_as}: {self._cause(exc)}") from None

    def volume(self, name: str) -> dict:
        """`docker volume inspect`: driver and options tell local disk from network storage."""
        try:
            return self._client.api.inspect_volume(name)
        except (docker.errors.DockerException, OSError) as exc:
            raise FactUnavailable(f"cannot inspect volume {name} on {self.shown_as}: {self._cause(exc)}", name) from None

    @logged(lambda self, container, argv, *_: f"docker exec {container} ({argv[0]}) on {self.shown_as}")
    def exec(self, container: str, argv: list[str], whole=None) -> tuple[int | None, str]:
        """One `docker exec`: its exit code and output (stdout and stderr together). When
        `whole(output)` says the script printed its last line, its exit code is not asked for
        (None): one request less per exec, the engine's answer to it included."""
        api = self._client.api
        try:
            exec_id = api.exec_create(container, argv)["Id"]
            output = api.exec_start(exec_id).decode("utf-8", "replace")
            if whole is not None and whole(output):
                return None, output
            state = api.exec_inspect(exec_id)
            # the output stream can close before the process ends, or even starts (moby#27289):
            # wait until the engine has its exit code
            deadline = time.monotonic() + COMMAND_SECONDS
            while (state.get("Running") or state.get("ExitCode") is None) and time.monotonic() < deadline:
                time.sleep(0.02)
                state = api.exec_inspect(exec_id)
            exit_code = state["ExitCode"]
            if exit_code is None:
                raise FactUnavailable(f"docker exec in {container} on {self.shown_as} did not end within "
                                      f"{COMMAND_SECONDS}s", container)
        except (docker.errors.DockerException, OSError) as exc:
            raise FactUnavailable(f"docker exec in {container} on {self.shown_as} failed: {self._cause(exc)}",
                                  container) from None
        return exit_code, output

    def close(self) -> None:
        self._client.close()
        if self._relay is not None:
            self._relay.close()

    def _cause(self, exc: Exception) -> str:
        """Why a call failed: what the relay's program said (`sudo: a password is required`),
        else the error's root cause."""
        if self._relay and self._relay.failure:
            return self._relay.failure
        if self._when_reset and isinstance(_root_os_error(exc), ConnectionResetError):
            return self._when_reset
        return _short(exc)

    def _tag_of(self, image_id: str) -> str:
        try:
            tags = self._client.api.inspect_image(image_id).get("RepoTags") or []
        except docker.errors.DockerException:
            return image_id
        return tags[0] if tags else image_id


def _may_be_whatsapp(listed_image: str) -> bool:
    # The listing shows the image ID instead of its name once the tag has moved
    # (e.g. after pulling a newer build): those must be inspected to be judged.
    return listed_image.startswith("docker.whatsapp.biz/") or bool(_IMAGE_ID.fullmatch(listed_image))


_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def _ago(timestamp: str | None) -> str | None:
    """Docker's '2026-11-28T17:20:01.123456789Z' as '5 minutes ago'."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", timestamp or "")
    if not match or timestamp.startswith("0001-"):
        return None
    try:
        when = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:        # no such date (month 13, year 0): say nothing rather than something wrong
        return None
    seconds = int((dt.datetime.now(dt.timezone.utc) - when).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return f"{max(seconds, 0)} seconds ago"


def _short(exc: Exception) -> str:
    """The root cause in words: 'Connection refused', not requests' nested tuple of reprs."""
    cause = _root_os_error(exc)
    if cause is not None and cause.strerror:
        return cause.strerror
    text = str(exc)
    return " ".join(text.split())[:200] if text else type(exc).__name__


def _root_os_error(exc: BaseException, depth: int = 0) -> OSError | None:
    """The innermost OSError with an errno, through causes, contexts and exception arguments."""
    if depth > 8 or exc is None:
        return None
    for inner in (exc.__cause__, exc.__context__, *[a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]):
        found = _root_os_error(inner, depth + 1) if inner is not None else None
        if found is not None:
            return found
    return exc if isinstance(exc, OSError) and exc.errno else None
