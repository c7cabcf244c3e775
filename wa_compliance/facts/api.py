"""Facts from the client's own API: the login, the application settings, the request rate.

The rate comes from the client's request counter (`GET /metrics`). A counter only gives a rate
between two readings: the audit reads it once as it starts and again when a GC check needs the
rate, at least MIN_WINDOW_SECONDS later (the audit's own work is most of that wait). That is the
rate *now*, not the peak the rule is about, and the report says so; a declared
`traffic.peak_rps` in the profile always wins.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

from ..errors import FactUnavailable
from ..transport.api import ApiClient
from .cached import fact

METRICS_PATH = "/metrics?format=prometheus"
# ±1 request over 1 s is ±1 rps: ample next to the 120 rps the rule turns on.
MIN_WINDOW_SECONDS = 1.0
# The client's count of API requests served (Meta's /metrics reference: a counter per method and
# result). `web_requests` there is a gauge of requests in progress, not a count.
REQUEST_COUNTERS = ("api_requests_duration_ms_count",)


class ApiFacts:
    @fact
    def api(self) -> ApiClient:
        """Logged in once per audit (a ready token, or Basic credentials from the environment)."""
        settings = self.profile.api
        if not settings.url:
            raise FactUnavailable("no api.url in the profile", "api")
        if self.remote:
            self.ssh    # an unreachable host costs one connect timeout, not one per service
        client = ApiClient(settings.url, settings.verify_tls)
        token = os.environ.get(settings.token_env) if settings.token_env else None
        if token:
            client.use_token(token)
            return client
        user = os.environ.get(settings.username_env) if settings.username_env else None
        password = os.environ.get(settings.password_env) if settings.password_env else None
        if not (user and password):
            names = " and ".join(n for n in (settings.username_env, settings.password_env) if n) or "api.username_env/api.password_env"
            raise FactUnavailable(f"no API credentials: set {names} in the environment", "api")
        client.login_basic(user, password)
        return client

    @fact(after="api")
    def application_settings(self) -> dict:
        """GET /v1/settings/application: its `application` object."""
        body = self.api.get_json("/v1/settings/application")
        try:
            return dict(body["settings"]["application"])
        except (KeyError, TypeError, ValueError):
            raise FactUnavailable("GET /v1/settings/application answered without settings.application", "api") from None

    @fact(after="api")
    def first_counter_reading(self) -> CounterReading:
        """The API's request counter as early as possible: the audit's own work is the wait."""
        if self.profile.traffic.peak_rps is not None:
            raise FactUnavailable("traffic.peak_rps is declared: the request counter is not read", "api")
        return read_counter(self.api)

    @fact
    def metrics_rps(self) -> float:
        """Current request rate from the API's own counter, between two readings at least
        MIN_WINDOW_SECONDS apart."""
        return rate_since(self.api, self.first_counter_reading)


def requests_served(text: str) -> float:
    """The sum of every request counter's samples in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families   # only when traffic is read
    total, seen = 0.0, False
    try:
        for family in text_string_to_metric_families(text):
            if family.type == "counter" and family.name.removesuffix("_total") in REQUEST_COUNTERS:
                for sample in family.samples:
                    if sample.name.removesuffix("_total") in REQUEST_COUNTERS:
                        total += sample.value
                        seen = True
                        if not (sample.value >= 0 and math.isfinite(total)):    # NaN, ±Inf, below zero
                            raise FactUnavailable(f"GET /metrics counts {sample.value} requests: not a count", "api")
    except ValueError as exc:
        said = " ".join(str(exc).split())     # the parser quotes the text as is: one line
        raise FactUnavailable(f"GET /metrics did not answer Prometheus text: {said}", "api") from None
    if not seen:
        raise FactUnavailable(f"GET /metrics has no request counter ({', '.join(REQUEST_COUNTERS)})", "api")
    return total


@dataclass(frozen=True)
class CounterReading:
    served: float      # requests the client has served, by its counter
    at: float          # time.monotonic() when it answered
    sent: int          # requests this audit had sent to the API before asking


def read_counter(api) -> CounterReading:
    sent = len(api.requests)
    return CounterReading(requests_served(api.get_text(METRICS_PATH)), time.monotonic(), sent)


def rate_since(api, first: CounterReading, min_seconds: float = MIN_WINDOW_SECONDS) -> float:
    """Requests per second served since `first`, the audit's own requests left out."""
    wait = min_seconds - (time.monotonic() - first.at)
    if wait > 0:
        time.sleep(wait)
    second = read_counter(api)
    # what the audit itself sent since the first reading (that GET included) is not traffic
    own = second.sent - first.sent
    return max(second.served - first.served - own, 0) / (second.at - first.at)
