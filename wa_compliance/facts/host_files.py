"""Facts read from the host's files: the SSH connection to it, db.env, the Compose file."""

from __future__ import annotations

from ..composefile import ComposeFileError, MediaDeclaration, media_declarations
from ..envfile import EnvFile, parse_env_file
from ..errors import EnvFileError, FactUnavailable
from ..transport.host import FileSnapshot, HostTransport
from ..transport.ssh import SshConnection
from .cached import fact
from .media import parse_mounts

MOUNT_TABLE = "/proc/self/mounts"


class DbEnvUnparsable(FactUnavailable):
    """db.env is there but does not parse; `error` holds where and why (ENV-001 reports it)."""

    def __init__(self, error: EnvFileError, path: str):
        super().__init__(f"db.env does not parse: {error}", path)
        self.error = error


class HostFacts:
    @property
    def remote(self) -> bool:
        return self.profile.target != "local"

    @fact
    def ssh(self) -> SshConnection:
        """The one SSH connection to an ssh:// target; its failure is every remote fact's."""
        connection = SshConnection(self.profile.target, self.ssh_options)
        connection.open()
        return connection

    @fact
    def host(self) -> HostTransport:
        return HostTransport(self.profile.target, self.ssh if self.remote else None, self.ssh_options.become)

    @fact
    def host_files(self) -> dict[str, FileSnapshot]:
        """db.env, the compose file and the mount table, read in one round trip."""
        deployment = self.profile.deployment
        paths = [path for path in (deployment.db_env, deployment.compose_file, MOUNT_TABLE) if path]
        return self.host.read_files(list(dict.fromkeys(paths)))

    @fact
    def db_env_file(self) -> FileSnapshot:
        return self.host_files[self.profile.deployment.db_env]

    @fact
    def db_env(self) -> EnvFile:
        """The parsed db.env; checks that need it are `error` when it is absent or broken."""
        snapshot, path = self.db_env_file, self.profile.deployment.db_env
        if not snapshot.exists:
            raise FactUnavailable(f"db.env not found at {path} on {self.profile.target}", path)
        if snapshot.is_directory or not snapshot.readable:
            raise FactUnavailable(f"db.env at {path} is not a readable file", path)
        try:
            return parse_env_file(snapshot.content, path)
        except EnvFileError as exc:
            raise DbEnvUnparsable(exc, path) from None

    @fact
    def mount_table(self) -> list[tuple[str, str, str]]:
        """The host's mounts (source, mount point, type): where a bind path really lives."""
        snapshot = self.host_files[MOUNT_TABLE]
        if not snapshot.readable:
            raise FactUnavailable(f"cannot read the mount table on {self.profile.target}", MOUNT_TABLE)
        return parse_mounts(snapshot.content.decode("utf-8", "replace"))

    @fact
    def compose_file(self) -> FileSnapshot:
        if not self.profile.deployment.compose_file:
            raise FactUnavailable("the profile names no deployment.compose_file", "compose")
        return self.host_files[self.profile.deployment.compose_file]

    @fact
    def compose_media(self) -> list[MediaDeclaration]:
        snapshot, path = self.compose_file, self.profile.deployment.compose_file
        if not snapshot.exists or not snapshot.readable:
            raise FactUnavailable(f"compose file {path} is {'not readable' if snapshot.exists else 'missing'} on {self.profile.target}", path)
        try:
            return media_declarations(snapshot.content.decode("utf-8", "replace"), path,
                                      self.profile.deployment.media_path)
        except ComposeFileError as exc:
            raise FactUnavailable(f"compose file does not parse: {exc}", path) from None
