"""One SSH connection per audited host: an OpenSSH master that every command and the Docker
engine's socket go through as channels.

Round trips are what an audit costs; opening an SSH connection per command (key exchange,
authentication) would multiply them. The master is started once, with a bounded connect
time, and ended when the audit closes; a host that does not answer is known after one
connect timeout, and every fact that needs it fails at once with the same line.

>>> SshTarget.parse("ssh://deploy@wa1.example.com:2222")
SshTarget(user='deploy', host='wa1.example.com', port=2222)
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import FactUnavailable, UsageError
from ..timeouts import CONNECT_SECONDS
from .children import ENVIRONMENT, last_line
from .trace import logged

# A dead link is noticed after 3 unanswered keep-alives instead of the kernel's TCP timeout.
_KEEPALIVE = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
# A master left behind by a killed run ends by itself once idle this long.
_ORPHAN_SECONDS = 600
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class SshTarget:
    user: str | None
    host: str
    port: int | None

    @classmethod
    def parse(cls, target: str) -> "SshTarget":
        """`ssh://[user@]host[:port]`; anything else is a usage error naming the target."""
        try:
            parts = urlsplit(target)
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"target {target!r}: {exc}") from None
        if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise UsageError(f"target {target!r}: expected ssh://[user@]host[:port]")
        return cls(parts.username, parts.hostname, port)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}"


@dataclass(frozen=True)
class SshOptions:
    """How the host is reached: testinfra's own `--ssh-config`, `--ssh-identity-file` and
    `--sudo`, or an inventory host's `ansible_ssh_private_key_file` and `ansible_become`."""

    config_file: str | None = None
    identity_file: str | None = None
    extra_args: tuple[str, ...] = ()      # an inventory's ansible_ssh_common_args / _extra_args (-J bastion)
    become: str | None = None             # the account host commands and the engine run as, through sudo
    # a deployment spread over an inventory's hosts: each host's own options, by host name
    per_host: tuple[tuple[str, "SshOptions"], ...] = ()

    def for_host(self, name: str) -> "SshOptions":
        """The options of one host of a deployment spread over several (these, if it has none)."""
        return dict(self.per_host).get(name, self)


class SshConnection:
    def __init__(self, target: str, options: SshOptions | None = None):
        self.target = SshTarget.parse(target)
        self.options = options or SshOptions()
        self._folder: str | None = None
        self._forwards: dict[str, str] = {}

    @property
    def control_path(self) -> str:
        assert self._folder, "open() first"
        return f"{self._folder}/master"

    def client_argv(self) -> list[str]:
        """Options every ssh invocation for this host shares (master and channels alike)."""
        argv = []
        if self.options.config_file:
            argv += ["-F", self.options.config_file]
        if self.options.identity_file:
            argv += ["-i", self.options.identity_file]
        if self.target.user:
            argv += ["-l", self.target.user]
        if self.target.port:
            argv += ["-p", str(self.target.port)]
        argv += list(self.options.extra_args)
        # BatchMode: never wait for a password or a host-key question nobody will answer
        argv += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_SECONDS}", *_KEEPALIVE]
        if self._folder:
            argv += ["-o", f"ControlPath={self.control_path}"]
        return argv

    @logged(lambda self: f"ssh master connection to {self.target}")
    def open(self) -> None:
        """Connect and authenticate once; the master then serves every channel."""
        if self._folder:
            return
        # a short private folder: Unix socket paths are limited to ~100 bytes
        self._folder = tempfile.mkdtemp(prefix="wa-ssh-")
        argv = ["ssh", *self.client_argv(), "-M", "-N", "-f",
                "-o", f"ControlPersist={_ORPHAN_SECONDS}", self.target.host]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENVIRONMENT,
                                  timeout=CONNECT_SECONDS * 2 + 5)
        except subprocess.TimeoutExpired:
            self._discard()
            raise FactUnavailable(f"cannot reach {self.target}: no answer within "
                                  f"{CONNECT_SECONDS * 2 + 5}s") from None
        if done.returncode != 0:
            self._discard()
            raise FactUnavailable(f"cannot reach {self.target}: {_last_line(done.stderr)}")

    def channel_args(self) -> str:
        """ssh options, as one string, that put a command in the open master's connection
        (testinfra's `ssh_extra_args`). ControlMaster=no: never become a master of its own."""
        self.open()
        return shlex.join([*self.client_argv(), "-o", "ControlMaster=no"])

    def command_argv(self, command: str) -> list[str]:
        """An ssh invocation that runs `command` on the host as a channel of the master."""
        self.open()
        return ["ssh", *self.client_argv(), "-o", "ControlMaster=no", self.target.host, command]

    def forward_socket(self, remote_path: str = DOCKER_SOCKET) -> str:
        """A local Unix socket whose connections reach `remote_path` on the host, through the
        master (needs `AllowStreamLocalForwarding`, sshd's default)."""
        self.open()
        if remote_path not in self._forwards:
            local = f"{self._folder}/fwd{len(self._forwards)}.sock"
            self._control("forward", "-L", f"{local}:{remote_path}")
            self._forwards[remote_path] = local
        return self._forwards[remote_path]

    def close(self) -> None:
        if not self._folder:
            return
        try:
            self._control("exit")
        except FactUnavailable:
            pass          # already gone: nothing to end
        self._discard()

    def _control(self, command: str, *extra: str) -> None:
        argv = ["ssh", *self.client_argv(), "-O", command, *extra, self.target.host]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENVIRONMENT,
                                  timeout=CONNECT_SECONDS)
        except subprocess.TimeoutExpired:
            raise FactUnavailable(f"the SSH connection to {self.target} stopped answering") from None
        if done.returncode != 0:
            raise FactUnavailable(f"SSH connection to {self.target}: {command} refused: "
                                  f"{_last_line(done.stderr)}")

    def _discard(self) -> None:
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None
        self._forwards.clear()


def _last_line(stderr: str) -> str:
    return (last_line(stderr) or "ssh failed without a message")[:200]
