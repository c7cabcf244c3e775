"""Facts from the Docker engine: the deployment's containers, their media mounts, what the audit
reads inside each (one exec per container), the engine's other containers and recent removals."""

from __future__ import annotations

import dataclasses
import os
import shlex

from ..transport.containers import ContainerFacts, DockerEngine
from ..transport.relay import CommandRelay
from ..transport.ssh import DOCKER_SOCKET
from ..errors import FactUnavailable
from .cached import fact, once, step
from .inside import InsideSnapshot, inside_argv, output_complete, parse_inside
from .media import MediaMount, media_mount
from .media_probe import (MediaProbeReport, exec_until, lost_output, plan_media_probe, read_first, record_read,
                          record_write, run_media_probe, split_read, split_written, write_arrived, written_first)


class EngineFacts:
    @fact
    def docker(self) -> DockerEngine:
        """The profile's docker_host, else the target's own engine: for an ssh:// target its
        socket, forwarded through the host's SSH connection (no second connection); as the
        account `become` names, `docker system dial-stdio` run through sudo."""
        named = self.profile.docker_host
        if named and named != self.profile.target:
            return DockerEngine(named)
        if self.ssh_options.become:
            command = ["sudo", "-n", "-u", self.ssh_options.become, "--", "docker", "system", "dial-stdio"]
            relay = CommandRelay(self.ssh.command_argv(shlex.join(command)) if self.remote else command)
            return DockerEngine(f"unix://{relay.path}", relay=relay,
                                shown_as=f"{self.profile.target} ({'through SSH, ' if self.remote else ''}"
                                         f"as {self.ssh_options.become} through sudo)")
        if self.remote:
            socket = self.ssh.forward_socket(DOCKER_SOCKET)
            account = self.ssh.target.user or "the SSH account"
            return DockerEngine(f"unix://{socket}", shown_as=f"{self.profile.target} (through SSH)",
                                when_reset=f"sshd on the host would not open {DOCKER_SOCKET} for {account} "
                                           "(not in the docker group? or audit with ansible_become / --sudo)")
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

    # VOL-004's probes are written by the execs that read inside the containers when the run
    # reads both (start_gathering says so): 2N-1 execs for N containers instead of 3N-1
    probes_ride_inside = False

    @fact(after="containers")
    def probe_plan(self) -> MediaProbeReport:
        """VOL-004's probes, one per running container, named before any is written."""
        running = [c.name for c in self.containers if c.running]
        return plan_media_probe(running, self.profile.deployment.media_path, self.name)

    @fact
    def media_probe(self) -> MediaProbeReport:
        """The live round trip (VOL-004); the only thing an audit ever writes."""
        if not self.probes_ride_inside:
            return run_media_probe(self.docker, self.probe_plan)
        running = {c.name: c for c in self.containers if c.running}

        def written_inside(probe):
            try:
                self.inside(running[probe.writer])
            except FactUnavailable:
                pass                # the read's failure is the inside checks' to report; the write's is recorded
        return run_media_probe(self.docker, self.probe_plan, written_inside)

    def inside(self, container) -> InsideSnapshot:
        """One exec per container gathers everything the logs and cron sections read in it (and
        writes VOL-004's probe, when it rides along; the pivot's also reads the others')."""
        def gather():
            tls = self._tls_paths() if container is self._tls_container() else {}
            argv = inside_argv(self.profile.deployment.log_dir, container.role == "webapp", list(tls.values()))
            plan = self.probe_plan if self.probes_ride_inside else None
            probe = plan.probes.get(container.name) if plan else None
            reads = None
            if probe is not None and probe is plan.pivot:
                self._others_written(container)
                reads = plan.pivot_reads()
                argv = read_first(argv, reads)
            if probe is not None:
                argv = written_first(argv, probe)
            try:
                output = self._exec_complete(container, argv, probe is not None, reads is not None)
            except FactUnavailable as exc:
                if probe is not None:
                    record_write(plan, probe, exc)
                if reads is not None:
                    record_read(plan, container.name, reads, exc)
                raise
            if probe is not None:
                code, written, output = split_written(output)
                record_write(plan, probe, (code, written))
            if reads is not None:
                read, output = split_read(output)
                record_read(plan, container.name, reads, lost_output(container.name) if read is None else read)
            return parse_inside(container.name, output)
        return once(self, f"_inside_{container.name}", gather)

    def _others_written(self, pivot) -> None:
        """The pivot reads the others' probes: their execs (which write them) come first."""
        for other in self.containers:
            if other is not pivot and other.name in self.probe_plan.probes:
                try:
                    self.inside(other)
                except FactUnavailable:
                    pass                # recorded as the probe's write error

    def _exec_complete(self, container, argv, probe_first: bool, read_first: bool) -> str:
        """The script reads, or writes a probe that it then finds already there: when the engine
        loses part of its output, it is run again (exec_until)."""
        def arrived(output: str) -> bool:
            if probe_first:
                if not write_arrived(output):
                    return False
                output = split_written(output)[2]
            if read_first:
                read, output = split_read(output)
                if read is None:
                    return False
            return output_complete(output)
        return exec_until(self.docker, container.name, argv, arrived)[1]

    @step(after="containers")
    def read_inside(self, prefetch) -> None:
        """Start the one exec of every running container, each as its own background step of the
        run's shared pool (whose size bounds the execs the engine sees at once)."""
        for container in self.containers:
            if container.running:
                prefetch.submit(lambda c=container: self.inside(c))

    @fact(after="containers")
    def engine_containers(self) -> list[dict]:
        """Every container on the engine (any deployment): what a cron entry may name. Listed
        once per engine and run."""
        return self.shared.get(("engine_containers", self.docker.base_url), self.docker.listing)

    @fact(after="engine_containers")
    def destroyed_containers(self) -> dict[str, dict]:
        return self.shared.get(("destroyed_containers", self.docker.base_url), self.docker.destroyed)
