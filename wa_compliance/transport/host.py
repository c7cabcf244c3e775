"""Commands and files on the audited host, through testinfra (local or ssh://).

>>> host = HostTransport("local")
>>> host.read_file("/etc/hostname").exists
True
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import subprocess
from dataclasses import dataclass

from testinfra.backend import parse_hostspec
from testinfra.backend.local import LocalBackend
from testinfra.backend.ssh import SshBackend
from testinfra.host import Host

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS, CONNECT_SECONDS
from .children import ENVIRONMENT, last_line, telling_line
from .ssh import SshConnection
from .trace import logged

# One round trip gathers each file's existence, ownership, mode and content; base64 keeps
# arbitrary bytes (BOM, CRLF, invalid UTF-8) intact through the transport. A file that cannot
# be looked at fails alone.
_READ_FILES = r"""
for f; do
    echo "file $f"
    if [ ! -e "$f" ]; then echo missing; continue; fi
    stat -L -c 'stat %a %u %g %U %F' -- "$f" || { echo failed; continue; }
    if [ -d "$f" ]; then echo directory; continue; fi
    if [ -r "$f" ]; then echo readable; base64 < "$f"; else echo unreadable; fi
done
echo end
"""


@dataclass(frozen=True)
class FileSnapshot:
    """What the audit saw of one file on the host."""

    path: str
    exists: bool
    readable: bool = False
    is_directory: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    owner: str | None = None
    content: bytes | None = None


# A script run through sudo says this first: what does not is sudo's own refusal.
_BECAME = "wa-became"


class HostTransport:
    def __init__(self, target: str, ssh: SshConnection | None = None, become: str | None = None):
        """`ssh`: the host's open master connection, which every command then goes through.
        `become`: the account every command runs as, through `sudo -n` (never a password)."""
        self.target = target
        self.become = become
        if ssh is None:
            backend = _Local()
        else:
            spec, options = parse_hostspec(str(ssh.target))     # as testinfra.get_host reads it
            backend = _Ssh(spec, **{**options, "controlpersist": 0, "timeout": CONNECT_SECONDS,
                                    "ssh_extra_args": ssh.channel_args()})
        self._host = Host(backend)
        backend.set_host(self._host)

    @logged(lambda self, script, *args: f"{self.target}: sh, {len(args)} argument(s)")
    def run(self, script: str, *args: str):
        """Run a POSIX sh script with arguments, bounded by `timeout` on the host."""
        sudo, words = "", (script, *args)
        if self.become:
            sudo, words = "sudo -n -u %s -- ", (self.become, f"echo {_BECAME}\n{script}", *args)
        command = f"timeout {COMMAND_SECONDS} {sudo}sh -c %s sh" + " %s" * len(args)
        try:
            result = self._host.run(command, *words)
        except RuntimeError as exc:   # testinfra's ssh backend: ssh itself failed (exit 255)
            raise FactUnavailable(f"cannot reach {self.target}: {_ssh_failure(exc)}") from None
        except OSError as exc:
            raise FactUnavailable(f"cannot run commands on {self.target}: {exc}") from None
        if result.rc == 124:
            raise FactUnavailable(f"a command on {self.target} took longer than {COMMAND_SECONDS}s")
        return self._became(result) if self.become else result

    def _became(self, result):
        """The script's own result, without the line that says sudo ran it."""
        marker = f"{_BECAME}\n".encode()
        if not result.stdout_bytes.startswith(marker):
            said = telling_line(result.stderr) or f"status {result.rc}"
            raise FactUnavailable(f"sudo -n -u {self.become} on {self.target} refused: {said[:200]}")
        return dataclasses.replace(result, _stdout=result.stdout_bytes[len(marker):])

    def read_file(self, path: str) -> FileSnapshot:
        return self.read_files([path])[path]

    @logged(lambda self, paths: f"{self.target}: read {', '.join(paths)}")
    def read_files(self, paths: list[str]) -> dict[str, FileSnapshot]:
        """Several files in one round trip (db.env, the compose file, the mount table)."""
        result = self.run(_READ_FILES, *paths)
        lines = result.stdout.splitlines()
        if not lines or lines[-1] != "end":
            said = " ".join(result.stderr.split())[:200] or "no output"
            raise FactUnavailable(f"cannot read {', '.join(paths)} on {self.target}: {said}", paths[0])
        found: dict[str, list[str]] = {}
        current = None
        for line in lines[:-1]:
            if line.startswith("file ") and line[5:] in paths and line[5:] not in found:
                current = found.setdefault(line[5:], [])
            elif current is not None:
                current.append(line)
        return {path: self._snapshot(path, found.get(path, []), result.stderr) for path in paths}

    def _snapshot(self, path: str, lines: list[str], stderr: str) -> FileSnapshot:
        if not lines or lines[0] == "failed" or (lines[0] != "missing" and len(lines) < 2):
            raise FactUnavailable(f"cannot read {path} on {self.target}: {stderr.strip()[:200]}", path)
        if lines[0] == "missing":
            return FileSnapshot(path, exists=False)
        _, mode, uid, gid, owner, *_ = lines[0].split(" ")
        stat = dict(path=path, exists=True, mode=int(mode, 8), uid=int(uid), gid=int(gid), owner=owner)
        if lines[1] == "directory":
            return FileSnapshot(is_directory=True, **stat)
        if lines[1] == "unreadable":
            return FileSnapshot(readable=False, **stat)
        try:
            content = base64.b64decode("".join(lines[2:]), validate=True)
        except binascii.Error:
            raise FactUnavailable(f"cannot read {path} on {self.target}: garbled transfer", path) from None
        return FileSnapshot(readable=True, content=content, **stat)


class _SteadyEnvironment:
    """testinfra's backends, starting their programs with the environment given (children.py)."""

    def run_local(self, command: str, *args: str):
        command = self.encode(self.quote(command, *args))
        child = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=ENVIRONMENT)
        stdout, stderr = child.communicate()
        return self.result(child.returncode, command, stdout, stderr)


class _Local(_SteadyEnvironment, LocalBackend):
    pass


class _Ssh(_SteadyEnvironment, SshBackend):
    pass


def _ssh_failure(exc: RuntimeError) -> str:
    """The last line ssh printed, from the CommandResult testinfra wraps in RuntimeError."""
    stderr = getattr(exc.args[0], "stderr", "") if exc.args else ""
    return (last_line(str(stderr)) or "the SSH connection was lost (ssh exited with status 255)")[:200]
