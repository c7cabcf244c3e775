"""Facts from the Docker engine: the deployment's containers, their media mounts, what the audit
reads inside each (one exec per container), the engine's other containers and recent removals."""

from __future__ import annotations

import dataclasses
import os

from ..transport.containers import ContainerFacts, DockerEngine
from ..transport.ssh import DOCKER_SOCKET
from .cached import fact, once, step
from .inside import InsideSnapshot, inside_argv, output_complete, parse_inside
from .media import MediaMount, media_mount
from .media_probe import MediaProbeReport, run_media_probe


class EngineFacts:
    @fact
    def docker(self) -> DockerEngine:
        """The profile's docker_host, else the target's own engine: for an ssh:// target its
        socket, forwarded through the host's SSH connection (no second connection)."""
        named = self.profile.docker_host
        if named and named != self.profile.target:
            return DockerEngine(named)
        if self.remote:
            socket = self.ssh.forward_socket(DOCKER_SOCKET)
            return DockerEngine(f"unix://{socket}", shown_as=f"{self.profile.target} (through SSH)")
        # as the docker CLI: DOCKER_HOST when set (rootless Docker: unix:///run/user/UID/docker.sock)
        return DockerEngine(os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")

    @fact
    def containers(self) -> list[ContainerFacts]:
        declared = self.profile.deployment.containers
        roles = None
        if declared is not None:
            roles = {"webapp": declared.webapp or [], "coreapp": declared.coreapp or [],
                     "master": declared.master or []}
        found = self.docker.wa_containers(self.profile.deployment.compose_project, roles)
        return [dataclasses.replace(c, host=self.label) for c in found] if self.label else found

    @fact(after="containers")
    def media_mounts(self) -> dict[str, MediaMount | None]:
        """Each container's mount at the media path (None: it has none)."""
        media_path = self.profile.deployment.media_path
        return {c.name: media_mount(c.mounts, media_path) for c in self.containers}

    @fact(after="containers")
    def volume_options(self) -> dict[str, dict]:
        """`docker volume inspect` options of each named volume mounted at the media path."""
        names = {m.source for m in self.media_mounts.values() if m and m.kind == "volume"}
        return {name: self.docker.volume(name).get("Options") or {} for name in sorted(names)}

    @fact
    def media_probe(self) -> MediaProbeReport:
        """The live round trip (VOL-004); the only thing an audit ever writes."""
        running = [c.name for c in self.containers if c.running]
        return run_media_probe(self.docker, running, self.profile.deployment.media_path, self.name)

    def inside(self, container) -> InsideSnapshot:
        """One exec per container gathers everything the logs and cron sections read in it."""
        def gather():
            tls = self._tls_paths() if container is self._tls_container() else {}
            argv = inside_argv(self.profile.deployment.log_dir, container.role == "webapp", list(tls.values()))
            exit_code, output = self.docker.exec(container.name, argv)
            if not output_complete(output):
                # the engine can drop a short exec's output (moby#27289, docker-py#2042):
                # the script only reads, so read again, once
                exit_code, output = self.docker.exec(container.name, argv)
            return parse_inside(container.name, output)
        return once(self, f"_inside_{container.name}", gather)

    @step(after="containers")
    def read_inside(self, prefetch) -> None:
        """Start the one exec of every running container, each as its own background step of the
        run's shared pool (whose size bounds the execs the engine sees at once)."""
        for container in self.containers:
            if container.running:
                prefetch.submit(lambda c=container: self.inside(c))

    @fact(after="containers")
    def engine_containers(self) -> list[dict]:
        """Every container on the engine (any deployment): what a cron entry may name."""
        return self.docker.listing()

    @fact(after="engine_containers")
    def destroyed_containers(self) -> dict[str, dict]:
        return self.docker.destroyed()
