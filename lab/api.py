"""The lab's stand-in of the client's REST API (lab/README.md, R-GC): per deployment, an HTTPS
server on 127.0.0.1 (lab/api_server.py) running in the background, so that GC-002..005 read
real settings and request counters over a real login.

Everything lives in the deployment's `.lab/`: the configuration (`api.json`), the generated
password and token-signing key (0600), the self-signed certificate made once with the
`openssl` CLI, the running server's pid and configuration (`api-server.json`), its log, and
the request log (`api-requests.jsonl`). The server reads its configuration when it starts:
a change of configuration restarts it; the same configuration reuses the running one.
"""

from __future__ import annotations

import re

import json
import secrets
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from lab import api_server
from lab.commands import matching_processes, process_matches, run, stop_processes
from lab.dbenv import write_private
from lab.errors import LabError
from lab.state import PASSWORD_ALPHABET, PASSWORD_LENGTH

HOST = api_server.HOST
USERNAME = api_server.USERNAME
# The environment variables the lab profiles name for the login (`python -m lab api-env`).
USER_ENV = "WA_LAB_API_USER"
PASSWORD_ENV_PREFIX = "WA_LAB_API_PASSWORD_"


def password_env(project: str) -> str:
    """One variable per deployment (each has its own password), as a fleet's profiles would
    name one secret per host: WA_LAB_API_PASSWORD_BIZMC."""
    return PASSWORD_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", project.upper())
TOKEN_TTL_SECONDS = 7 * 24 * 3600     # the client's tokens expire after 7 days
PAYLOADS = ("old", "new", "no_gc")
COMPLIANT_RPS = 20.0                   # well under the 120 rps above which GC goes through the API
CERT_DAYS = 3650
START_SECONDS = 30
STOP_SECONDS = 10
SERVER_SCRIPT = Path(api_server.__file__)


@dataclass(frozen=True)
class ApiConfig:
    """What the stand-in answers. The default is compliant with R-GC: automatic GC (messages)
    on, pass_through off (the client's default since v2.29.1), at 20 rps."""
    payload: str = "new"                # "new": garbagecollector_enable; "old": db_garbage...;
                                        # "no_gc": neither (the answer lacks the setting)
    pass_through: bool = False
    automatic_gc: bool = True
    rps: float = COMPLIANT_RPS          # simulated traffic the request counters grow by
    down: bool = False                  # the server is stopped
    token_ttl_seconds: int = TOKEN_TTL_SECONDS

    def __post_init__(self):
        if self.payload not in PAYLOADS:
            raise LabError(f"API payload {self.payload!r}: choose one of {', '.join(PAYLOADS)}")
        if not all(isinstance(flag, bool) for flag in (self.pass_through, self.automatic_gc,
                                                       self.down)):
            raise LabError("API pass_through, automatic_gc and down are true or false")
        if not (isinstance(self.rps, (int, float)) and self.rps >= 0):
            raise LabError(f"API rps {self.rps!r}: a number of requests per second, >= 0")
        if not (isinstance(self.token_ttl_seconds, int) and self.token_ttl_seconds > 0):
            raise LabError(f"API token_ttl_seconds {self.token_ttl_seconds!r}: seconds, > 0")

    def describe(self) -> str:
        on = {True: "on", False: "off"}
        text = (f"{self.payload} payload, pass_through {on[self.pass_through]}, automatic GC "
                f"{on[self.automatic_gc]}, {self.rps:g} rps")
        return f"{text}, server stopped" if self.down else text


def free_port() -> int:
    """A port nothing listens on now, for a deployment without a fixed one."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class ApiServer:
    """One deployment's stand-in: its files in `state_dir` and its background process.

    `port` may be None for a deployment not brought up yet: only starting needs it.
    """

    def __init__(self, state_dir: Path, port: int | None, version: str, node: str):
        self.state_dir = state_dir.absolute()      # the server's command line names it
        self.port, self.version, self.node = port, version, node

    def _file(self, name: str) -> Path:
        return self.state_dir / name

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self._port()}"

    def _port(self) -> int:
        if self.port is None:
            raise LabError(f"no API port yet for {self.state_dir.parent} (run up first)")
        return self.port

    @property
    def cert_file(self) -> Path:
        """The self-signed certificate (for 127.0.0.1), to verify the stand-in against."""
        return self._file(api_server.CERT_FILE)

    # --- secrets ---------------------------------------------------------------------------
    def password(self) -> str | None:
        try:
            return self._file(api_server.PASSWORD_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def ensure_secrets(self) -> None:
        """The password, token key and certificate: made once, then kept."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.password() is None:
            password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
            write_private(self._file(api_server.PASSWORD_FILE), password + "\n")
        if not self._file(api_server.TOKEN_KEY_FILE).exists():
            write_private(self._file(api_server.TOKEN_KEY_FILE), secrets.token_hex(32) + "\n")
        if not (self.cert_file.exists() and self._file(api_server.KEY_FILE).exists()):
            self._make_certificate()

    def _make_certificate(self) -> None:
        key, cert = self._file(".api-key.tmp"), self._file(".api-cert.tmp")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-sha256", "-days", str(CERT_DAYS), "-subj", f"/CN={HOST}",
             "-addext", f"subjectAltName=IP:{HOST}", "-keyout", str(key), "-out", str(cert)],
            timeout=30)
        key.chmod(0o600)
        key.replace(self._file(api_server.KEY_FILE))
        cert.replace(self.cert_file)

    def mint_token(self) -> str:
        """A Bearer token as the login hands out (for a host job's token file), made without
        a request: tokens are signed with the deployment's key."""
        key = self._file(api_server.TOKEN_KEY_FILE).read_bytes().strip()
        return api_server.issue_token(key, self.config().token_ttl_seconds)[0]

    # --- configuration ---------------------------------------------------------------------
    def config(self) -> ApiConfig:
        """The configuration asked for (compliant when none was written yet)."""
        try:
            written = json.loads(self._file(api_server.CONFIG_FILE).read_text())
        except FileNotFoundError:
            return ApiConfig()
        return ApiConfig(**{f.name: written[f.name] for f in fields(ApiConfig)
                            if f.name in written})

    def configure(self, config: ApiConfig) -> None:
        """Write `config` and bring the server to it: stopped, or running with it."""
        self.ensure_secrets()
        server_config = self._server_config(config)
        path = self._file(api_server.CONFIG_FILE)
        text = json.dumps(server_config, indent=2) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        if config.down:
            self.stop()
        else:
            self._ensure_running(server_config)

    def update(self, **changes) -> ApiConfig:
        """Change some settings of the current configuration, e.g. `update(rps=200)`."""
        config = replace(self.config(), **changes)
        self.configure(config)
        return config

    def _server_config(self, config: ApiConfig) -> dict:
        return {"port": self._port(), "version": self.version, "node": self.node, **asdict(config)}

    # --- the process -----------------------------------------------------------------------
    def _record(self) -> dict | None:
        try:
            return json.loads(self._file(api_server.SERVER_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The running server's pid (None: not running)."""
        record = self._record()
        if record and self._alive(record["pid"]):
            return record["pid"]
        return None

    def _ours(self, arguments: list[bytes]) -> bool:
        """This deployment's server: its state folder and the script's name in argv (another
        checkout of this repository runs the same server from another path)."""
        return str(self.state_dir).encode() in arguments and any(
            argument.endswith(SERVER_SCRIPT.name.encode()) for argument in arguments)

    def _alive(self, pid: int) -> bool:
        return process_matches(pid, self._ours)

    def _ensure_running(self, server_config: dict) -> None:
        record = self._record()
        if record and record["config"] == server_config and self._alive(record["pid"]):
            return
        self.stop()
        self._start()

    def _start(self) -> None:
        """Run the server script: it exits once listening, leaving its child serving."""
        log = self._file(api_server.SERVER_LOG)
        try:
            with open(log, "a") as output:
                result = subprocess.run(
                    [sys.executable, str(SERVER_SCRIPT), str(self.state_dir)],
                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, cwd="/",
                    timeout=START_SECONDS, start_new_session=True)   # no terminal's Ctrl-C
        except subprocess.TimeoutExpired:
            raise LabError(f"the API stand-in did not start within {START_SECONDS}s "
                           f"(see {log})") from None
        if result.returncode != 0 or self.pid() is None:
            lines = log.read_text().strip().splitlines() or ["no output"]
            raise LabError(f"the API stand-in did not start on {self.url}: {lines[-1]}")

    def _servers(self) -> list[int]:
        """The server processes: the recorded one, and any whose record was lost (e.g. a crash
        between starting and recording)."""
        return matching_processes(self._ours)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until it is gone."""
        stop_processes(self._servers(), self._ours, STOP_SECONDS, "the API stand-in")
        self._file(api_server.SERVER_FILE).unlink(missing_ok=True)

    # --- the request log -------------------------------------------------------------------
    def requests(self) -> list[dict]:
        """Every request recorded since the last clear, oldest first."""
        try:
            text = self._file(api_server.REQUEST_LOG).read_text()
        except FileNotFoundError:
            return []
        # Only whole lines: the server may be writing the last one.
        return [json.loads(line) for line in text.split("\n")[:-1] if line]

    def clear_requests(self) -> None:
        path = self._file(api_server.REQUEST_LOG)
        if path.exists():
            path.write_text("")       # truncated in place: the server keeps appending to it
