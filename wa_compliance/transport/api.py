"""The client's REST API, read-only: one login, then GETs.

SECURITY.md: an audit never calls `/v1/services/message/gc` and never changes settings. The only
methods this module can send are the login's POST (which changes nothing on the client) and
GET; anything else is refused here, before any byte leaves.

>>> api = ApiClient("https://127.0.0.1:9090", verify_tls=True)
>>> api.login_basic("admin", secret)
>>> api.get_json("/v1/settings/application")["settings"]["application"]["pass_through"]
False
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS
from . import tls
from .trace import logged

LOGIN = "/v1/users/login"
ALLOWED = {("POST", LOGIN), ("GET", None)}
# The proxy settings (HTTPS_PROXY, NO_PROXY...) as the run started. urllib would read them by
# iterating os.environ at every request, from the background threads that gather facts, while
# pytest sets and deletes PYTEST_CURRENT_TEST in it: a KeyError now and then.
_PROXIES = urllib.request.getproxies()


class ApiRefused(FactUnavailable):
    """The API answered but refused (401/403): wrong credentials or token."""


class ApiClient:
    def __init__(self, url: str, verify_tls: bool = True, timeout: float = COMMAND_SECONDS):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FactUnavailable(f"api.url {url!r} is not an http(s) URL", "api")
        self.url = url.rstrip("/")
        self.timeout = timeout
        # verify_tls: false is for the client's default self-signed certificate
        context = tls.verifying() if verify_tls else tls.unverified()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(_PROXIES),
                                                   urllib.request.HTTPSHandler(context=context))
        self._token: str | None = None
        self.requests: list[tuple[str, str]] = []      # (method, path) sent, for evidence

    def use_token(self, token: str) -> None:
        self._token = token

    def login_basic(self, username: str, password: str) -> None:
        """POST /v1/users/login with Basic auth: the client answers a Bearer token."""
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        body = self._send("POST", LOGIN, {"Authorization": f"Basic {basic}"})
        try:
            self._token = body["users"][0]["token"]
        except (KeyError, IndexError, TypeError):
            raise FactUnavailable(f"{self.url}{LOGIN} answered without a token", "api") from None

    def get_json(self, path: str) -> dict:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return self._send("GET", path, headers)

    def get_text(self, path: str) -> str:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return self._send("GET", path, headers, decode=False)

    @logged(lambda self, method, path, *_, **__: f"{method} {self.url}{path.split('?')[0]}")
    def _send(self, method: str, path: str, headers: dict, decode: bool = True):
        if (method, path) not in ALLOWED and (method, None) not in ALLOWED:
            raise AssertionError(f"the audit never sends {method} {path}")   # SECURITY.md
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Accept": "application/json", **headers},
                                         data=b"{}" if method == "POST" else None)
        self.requests.append((method, path))
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            error = ApiRefused if exc.code in (401, 403) else FactUnavailable
            raise error(f"{method} {self.url}{path} answered {exc.code} {exc.reason}", "api") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FactUnavailable(f"cannot reach the client's API at {self.url}: {reason}", "api") from None
        if not decode:
            return raw.decode("utf-8", "replace")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):     # not JSON, or nested deeper than the decoder goes
            raise FactUnavailable(f"{method} {self.url}{path} did not answer JSON", "api") from None

