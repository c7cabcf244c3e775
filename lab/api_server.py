"""A stand-in of the WhatsApp Business API client's REST API, for one lab deployment (lab/README.md).

Started by lab/api.py as `python lab/api_server.py <deployment>/.lab`, never by hand. It reads
its configuration and secrets from that directory, listens on 127.0.0.1 only, forks into the
background, and records the child's pid and configuration in `api-server.json`. Standard
library only, and run as a file rather than as a module: it needs nothing of the lab.

What it answers, as the client does (shapes from Meta's on-premises API reference):
- `POST /v1/users/login` (HTTP Basic): a Bearer token valid 7 days, or 401 with the client's
  error envelope;
- `GET /v1/settings/application` (Bearer): the older payload (`db_garbagecollector_enable`)
  or the newer one (`garbagecollector_enable.messages/.media`);
- `GET /metrics` (Bearer; `?format=prometheus` for the text exposition): `web_uptime` and the
  per-method request counters `api_requests_duration_ms_count/_sum`, to which a simulated
  traffic of `rps` requests per second since the start is added (as `POST_v1_messages`);
- `PUT /v1/services/message/gc` and any `PATCH` (Bearer): 200, and nothing changes.
Every request is appended to `api-requests.jsonl` (time, method, path, status, auth scheme:
never a credential), so tests can prove what an audit sent.

Tokens are signed (HMAC with the deployment's key) rather than remembered, as the client's
are: they survive the restarts a reconfiguration makes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import secrets
import ssl
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
USERNAME = "admin"                        # the client's built-in account
# Files in the deployment's .lab/ directory: lab/api.py writes the inputs.
CONFIG_FILE = "api.json"
PASSWORD_FILE = "api_password"
TOKEN_KEY_FILE = "api_token_key"
CERT_FILE = "api-cert.pem"
KEY_FILE = "api-key.pem"
REQUEST_LOG = "api-requests.jsonl"
SERVER_FILE = "api-server.json"           # pid and configuration of the running server
SERVER_LOG = "api-server.log"

SOCKET_SECONDS = 10                       # a silent client loses its connection, not a thread
MAX_BODY = 1 << 20
SIMULATED_METHOD = "POST_v1_messages"     # what the simulated traffic is made of
SIMULATED_RESULT = "201"
SIMULATED_MS = 25                         # its made-up mean duration
EXPIRY_FORMAT = "%Y-%m-%d %H:%M:%S+00:00"  # the client's `expires_after`
AUTO_DOWNLOAD = ["image", "video", "voice", "sticker", "audio", "document"]


# --- tokens ------------------------------------------------------------------------------------
def issue_token(key: bytes, ttl_seconds: int) -> tuple[str, int]:
    """A Bearer token and its expiry (epoch seconds): `<expiry>.<nonce>.<signature>`."""
    expires = int(time.time()) + ttl_seconds
    body = f"{expires}.{secrets.token_urlsafe(18)}"
    return f"{body}.{_signature(key, body)}", expires


def token_refusal(key: bytes, token: str) -> str | None:
    """Why `token` is refused, or None when it is valid."""
    body, _, signature = token.rpartition(".")
    if not body or not hmac.compare_digest(signature, _signature(key, body)):
        return "Invalid token"
    return "Token expired" if int(body.split(".")[0]) <= time.time() else None


def _signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- what the client answers -------------------------------------------------------------------
class StandIn:
    """The client as seen through its API: configuration, credentials, counters, request log."""

    def __init__(self, state_dir: Path, config: dict):
        self.config = config
        self.password = (state_dir / PASSWORD_FILE).read_text().strip()
        self.token_key = (state_dir / TOKEN_KEY_FILE).read_bytes().strip()
        self.request_log = state_dir / REQUEST_LOG
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.served: dict[tuple[str, str], list[float]] = {}   # (method, result) -> [count, ms]
        self.in_flight = 0

    def answer(self, method: str, route: str, query: dict, authorization: str) -> tuple:
        """(status, JSON object or text) for one request."""
        if (method, route) == ("POST", "/v1/users/login"):
            return self.login(authorization)
        endpoint = {
            ("GET", "/v1/settings/application"): self.application_settings,
            ("GET", "/metrics"): lambda: self.metrics(query.get("format") == ["prometheus"]),
            ("PUT", "/v1/services/message/gc"): self.message_gc,
        }.get((method, route))
        if endpoint is None and method == "PATCH":
            endpoint = self.accepted         # setting updates: the stand-in keeps its own
        if endpoint is None:
            return 404, self.error(1006, "Resource not found", f"Unknown path: {method} {route}")
        refusal = self.bearer_refusal(authorization)
        if refusal:
            return 401, self.error(1005, "Access denied", refusal)
        return endpoint()

    def meta(self) -> dict:
        return {"api_status": "stable", "version": self.config["version"]}

    def error(self, code: int, title: str, details: str) -> dict:
        return {"meta": self.meta(), "errors": [{"code": code, "title": title, "details": details}]}

    def login(self, authorization: str) -> tuple:
        if not self.basic_matches(authorization):
            return 401, self.error(1005, "Access denied", "Invalid username or password")
        token, expires = issue_token(self.token_key, self.config["token_ttl_seconds"])
        expiry = datetime.fromtimestamp(expires, timezone.utc).strftime(EXPIRY_FORMAT)
        return 200, {"users": [{"token": token, "expires_after": expiry}], "meta": self.meta()}

    def basic_matches(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user.encode(), USERNAME.encode())
                & hmac.compare_digest(password.encode(), self.password.encode()))

    def bearer_refusal(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Missing Bearer token (log in with POST /v1/users/login)"
        return token_refusal(self.token_key, token.strip())

    def application_settings(self) -> tuple:
        return 200, {"settings": {"application": self.application()}, "meta": self.meta()}

    def application(self) -> dict:
        """The application settings: the GC flag in the older or the newer payload."""
        config = self.config
        if config["payload"] == "old":
            gc = {"db_garbagecollector_enable": config["automatic_gc"]}
        elif config["payload"] == "no_gc":
            gc = {}
        else:
            gc = {"garbagecollector_enable": {"messages": config["automatic_gc"], "media": False}}
        return {
            "callback_backoff_delay_ms": 3000,
            "callback_persist": True,
            **gc,
            "heartbeat_interval": 5,
            "max_callback_backoff_delay_ms": 900000,
            "media": {"auto_download": AUTO_DOWNLOAD},
            "pass_through": config["pass_through"],
            "sent_status": False,
            "unhealthy_interval": 30,
            "wa_id": "15550100001",
            # Never called: the stand-in sends no callbacks.
            "webhooks": {"url": "https://webhooks.wa-lab.invalid/whatsapp",
                         "max_concurrent_requests": 6},
        }

    def message_gc(self) -> tuple:
        return 200, {"services": {"message": {"gc": {"status": "processing"}}},
                     "meta": self.meta()}

    def accepted(self) -> tuple:
        return 200, {"meta": self.meta()}

    # --- /metrics ---
    def metrics(self, prometheus: bool) -> tuple:
        families = self.metric_families()
        if prometheus:
            return 200, prometheus_text(families)
        return 200, {"metrics": families, "meta": self.meta()}

    def metric_families(self) -> dict:
        """Meta's JSON shape: name -> {type, help, data: [{labels, value}]}."""
        uptime = time.monotonic() - self.started
        served = self.served_with_simulated(uptime)
        node = {"node": self.config["node"]}

        def per_method(index: int) -> list[dict]:
            return [{"labels": {**node, "result": result, "method": method},
                     "value": int(values[index])}
                    for (method, result), values in sorted(served.items())]
        return {
            "web_uptime": {"type": "gauge",
                           "help": "Number of seconds since web server has started",
                           "data": [{"labels": node, "value": int(uptime)}]},
            "web_requests": {"type": "gauge", "help": "Number of ongoing requests", "data": [
                {"labels": {**node, "state": "read"}, "value": 0},
                {"labels": {**node, "state": "handle-request"}, "value": self.in_flight}]},
            "api_requests_duration_ms_count": {"type": "counter",
                                               "help": "Total number of API requests",
                                               "data": per_method(0)},
            "api_requests_duration_ms_sum": {"type": "counter",
                                             "help": "Total number of durations of API requests",
                                             "data": per_method(1)},
        }

    def served_with_simulated(self, uptime: float) -> dict[tuple[str, str], list[float]]:
        """The requests really served plus `rps` simulated ones per second since the start."""
        simulated = math.floor(self.config["rps"] * uptime)
        with self.lock:
            served = {key: list(values) for key, values in self.served.items()}
        count, total_ms = served.get((SIMULATED_METHOD, SIMULATED_RESULT), [0, 0])
        served[(SIMULATED_METHOD, SIMULATED_RESULT)] = [count + simulated,
                                                        total_ms + simulated * SIMULATED_MS]
        return served

    # --- bookkeeping ---
    def begin(self) -> None:
        with self.lock:
            self.in_flight += 1

    def record(self, method: str, path: str, route: str, status: int, scheme: str | None,
               milliseconds: float) -> None:
        """Count the request for /metrics and append it to the request log."""
        label = f"{method}_{route.strip('/').replace('/', '_')}"
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                 "method": method, "path": path, "status": status, "auth": scheme}
        with self.lock:
            self.in_flight -= 1
            counted = self.served.setdefault((label, str(status)), [0, 0])
            counted[0] += 1
            counted[1] += milliseconds
            with open(self.request_log, "a") as log:
                log.write(json.dumps(entry) + "\n")


def prometheus_text(families: dict) -> str:
    """The Prometheus text exposition (format 0.0.4) of Meta's JSON shape."""
    lines = []
    for name, family in families.items():
        lines += [f"# HELP {name} {family['help']}", f"# TYPE {name} {family['type']}"]
        for point in family["data"]:
            labels = ",".join(f'{key}="{value}"' for key, value in point["labels"].items())
            lines.append(f"{name}{{{labels}}} {point['value']}")
    return "\n".join(lines) + "\n"


# --- HTTP over TLS -----------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    server_version = "WhatsApp-Business-API-lab-stand-in"
    timeout = SOCKET_SECONDS

    def dispatch(self) -> None:
        stand_in: StandIn = self.server.stand_in
        started = time.monotonic()
        stand_in.begin()
        parts = urlsplit(self.path)
        route = parts.path.rstrip("/") or "/"
        authorization = self.headers.get("Authorization", "")
        status = 500
        try:
            self.read_body()
            status, payload = stand_in.answer(self.command, route, parse_qs(parts.query),
                                              authorization)
            self.respond(status, payload)
        finally:
            scheme = authorization.partition(" ")[0] or None     # the scheme only, never the value
            stand_in.record(self.command, self.path, route, status, scheme,
                            (time.monotonic() - started) * 1000)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = dispatch

    def read_body(self) -> None:
        """Read (and ignore) a request body, bounded: the stand-in acts on none."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(max(length, 0), MAX_BODY))

    def respond(self, status: int, payload) -> None:
        if isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; version=0.0.4; charset=utf-8"
        else:
            body, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Silent: api-requests.jsonl is the log (the default line would go to stderr)."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, port: int, stand_in: StandIn, tls: ssl.SSLContext):
        super().__init__((HOST, port), Handler)
        self.stand_in, self.tls = stand_in, tls

    def finish_request(self, request, client_address) -> None:
        """TLS handshake in the request's own thread, with a timeout: a client that never
        completes it cannot block the accepting loop."""
        request.settimeout(SOCKET_SECONDS)
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request, client_address) -> None:
        """One line per failed connection (a client hanging up mid-answer), not a traceback."""
        error = sys.exc_info()[1]
        print(f"{datetime.now(timezone.utc).isoformat()} {client_address[0]}: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    state_dir = Path(argv[1])
    config = json.loads((state_dir / CONFIG_FILE).read_text())
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(state_dir / CERT_FILE, state_dir / KEY_FILE)
    try:
        server = Server(config["port"], StandIn(state_dir, config), tls)
    except OSError as error:
        print(f"cannot listen on {HOST}:{config['port']}: {error.strerror}", file=sys.stderr)
        return 2
    # Listening already: the parent records the child and returns, so the lab knows the
    # outcome when this process exits; the child serves, adopted by init.
    child = os.fork()
    if child:
        _write_server_file(state_dir, child, config)
        return 0
    server.serve_forever()
    return 0


def _write_server_file(state_dir: Path, pid: int, config: dict) -> None:
    record = {"pid": pid, "config": config,
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    partial = state_dir / f".{SERVER_FILE}.tmp"
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(state_dir / SERVER_FILE)      # readers never see half a file


if __name__ == "__main__":
    sys.exit(main(sys.argv))
