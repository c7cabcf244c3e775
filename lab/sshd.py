"""A private OpenSSH server on 127.0.0.1, for auditing the lab through `target: ssh://...`.

Everything lives in one folder the caller owns: host key, the client's key (made here,
authorised for root), sshd_config, a client ssh_config naming the server as Host `lab-ssh`,
known_hosts, and sshd's log, which records one "Accepted publickey" line per connection.

>>> server = SshServer(Path("/tmp/wa-ssh-lab"))            # doctest: +SKIP
>>> server.start(); server.target                           # doctest: +SKIP
'ssh://root@127.0.0.1:40122'
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from lab import ports
from lab.errors import LabError

SSHD = "/usr/sbin/sshd"
HOST_ALIAS = "lab-ssh"


class SshServer:
    def __init__(self, folder: Path, port: int | None = None, user: str = "root",
                 address: str = "127.0.0.1", client_key: Path | None = None,
                 log_level: str = "DEBUG1"):
        self.folder = Path(folder)
        self.port = port or ports.reserve(self.folder)
        self.user = user
        self.address = address
        self.log_level = log_level      # DEBUG1 logs each forwarded socket; VERBOSE costs less
        self._client_key = Path(client_key) if client_key else None   # shared by several servers
        self._process: subprocess.Popen | None = None

    # --- files -----------------------------------------------------------------------------
    @property
    def client_key(self) -> Path:
        return self._client_key or self.folder / "id_ed25519"

    @property
    def client_config(self) -> Path:
        """`ssh -F` / `pytest --ssh-config`: names the server `lab-ssh`, pins its key."""
        return self.folder / "ssh_config"

    @property
    def log(self) -> Path:
        return self.folder / "sshd.log"

    @property
    def target(self) -> str:
        return f"ssh://{self.user}@{self.address}:{self.port}"

    def accepted_connections(self) -> int:
        """Connections sshd authenticated since it started (LogLevel VERBOSE logs each)."""
        try:
            return len(re.findall(r"Accepted publickey for ", self.log.read_text()))
        except FileNotFoundError:
            return 0

    # --- life cycle ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Keys and configuration files, for `start` or for a process that runs sshd itself."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self._keys()
        self._write_configs()

    def start(self) -> None:
        self.prepare()
        # privilege separation needs this folder; Debian's package makes it only at boot
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        # -D: stays in the foreground, so the test owns the process; -e off: log to the file
        self._process = subprocess.Popen(
            [SSHD, "-D", "-f", str(self.folder / "sshd_config"), "-E", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LabError(f"sshd did not start: {self._process.stderr.read().decode()[:300]}"
                               f" (see {self.log})")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise LabError(f"sshd did not listen on {self.address}:{self.port} within 10s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _answers(self) -> bool:
        import socket
        try:
            with socket.create_connection((self.address, self.port), timeout=0.5) as connection:
                return connection.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def _keys(self) -> None:
        for key in (self.folder / "host_ed25519", self.client_key):
            key.parent.mkdir(parents=True, exist_ok=True)
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wa-lab",
                                "-f", str(key)], check=True, stdout=subprocess.DEVNULL)
        (self.folder / "authorized_keys").write_text(self.client_key.with_suffix(".pub").read_text())
        host_key = (self.folder / "host_ed25519.pub").read_text().split()
        (self.folder / "known_hosts").write_text(
            f"[{self.address}]:{self.port} {host_key[0]} {host_key[1]}\n")

    def _write_configs(self) -> None:
        folder = self.folder
        # sshd reads a user's keys as that user, who cannot enter this root-only folder: an
        # account other than root gets them from a command sshd runs as root
        keys_command = ("" if self.user == "root" else
                        f"AuthorizedKeysCommand /usr/bin/cat {folder}/authorized_keys\n"
                        "AuthorizedKeysCommandUser root\n")
        (folder / "sshd_config").write_text(f"""\
ListenAddress {self.address}
Port {self.port}
HostKey {folder}/host_ed25519
AuthorizedKeysFile {folder}/authorized_keys
{keys_command}PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel {self.log_level}
""")
        (folder / "ssh_config").write_text(f"""\
Host {HOST_ALIAS} {self.address}
    HostName {self.address}
    Port {self.port}
    User {self.user}
    IdentityFile {self.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {folder}/known_hosts
    StrictHostKeyChecking yes
""")
