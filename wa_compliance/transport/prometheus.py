"""The Prometheus HTTP API, read-only: `GET /api/v1/query_range`, nothing else.

>>> client = PrometheusClient("http://prometheus.internal:9090")
>>> client.range("sum(rate(api_requests_duration_ms_count[5m]))", start, end, 300)
[(1733450400.0, 182.4), ...]
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS
from .trace import logged

_PROXIES = urllib.request.getproxies()       # read once: see transport/api.py


class PrometheusClient:
    def __init__(self, url: str, verify_tls: bool = True, token: str | None = None,
                 basic: tuple[str, str] | None = None, timeout: float = COMMAND_SECONDS):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FactUnavailable(f"traffic.prometheus.url {url!r} is not an http(s) URL", "prometheus")
        self.url = url.rstrip("/")
        self.timeout = timeout
        context = ssl.create_default_context()
        if not verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(_PROXIES),
                                                   urllib.request.HTTPSHandler(context=context))
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif basic:
            self._headers["Authorization"] = "Basic " + base64.b64encode(":".join(basic).encode()).decode()

    def range(self, query: str, start: float, end: float, step: int) -> list[tuple[float, float]]:
        """The one series `query` gives from `start` to `end` (Unix seconds) every `step` s, as
        (time, value) pairs; NaN and infinite values are left out. No series: an empty list."""
        series = self.range_series(query, start, end, step)
        if len(series) > 1:
            raise FactUnavailable(f"Prometheus answered {len(series)} series for {query!r}: "
                                  "sum them in the query, or narrow them with traffic.prometheus.selector",
                                  "prometheus")
        return series[0][1] if series else []

    def range_series(self, query: str, start: float, end: float, step: int):
        """[(labels, [(time, value)...])...] of `query_range`."""
        parameters = urlencode({"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)})
        body = self._get(f"/api/v1/query_range?{parameters}")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or body.get("status") != "success" or not isinstance(data.get("result"), list):
            raise FactUnavailable(f"{self.url} answered an unexpected document to query_range", "prometheus")
        found = []
        for entry in data["result"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
                raise FactUnavailable(f"{self.url} answered a series without values", "prometheus")
            found.append((entry.get("metric") or {}, _points(entry["values"])))
        return found

    @logged(lambda self, path: f"GET {self.url}{path.split('?')[0]}")
    def _get(self, path: str):
        request = urllib.request.Request(self.url + path, headers=self._headers, method="GET")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(50_000_000)
        except urllib.error.HTTPError as exc:
            detail = _error_of(exc)
            if exc.code in (401, 403):
                raise FactUnavailable(f"{self.url} refused the audit's credentials (HTTP {exc.code})",
                                      "prometheus") from None
            raise FactUnavailable(f"{self.url} answered HTTP {exc.code}{detail}", "prometheus") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FactUnavailable(f"cannot reach Prometheus at {self.url}: {reason}", "prometheus") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise FactUnavailable(f"{self.url} answered something that is not JSON", "prometheus") from None


def _points(values) -> list[tuple[float, float]]:
    points = []
    for pair in values:
        try:
            at, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(at) and math.isfinite(value):
            points.append((at, value))
    return points


def _error_of(exc: urllib.error.HTTPError) -> str:
    """`: <Prometheus' own error line>` when it gave one (a bad query says why)."""
    try:
        error = json.loads(exc.read(10_000)).get("error")
    except (ValueError, AttributeError, OSError):
        return ""
    return f": {str(error)[:200]}" if error else ""
