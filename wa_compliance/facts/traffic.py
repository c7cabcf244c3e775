"""Traffic (requests/second) from the client's own request counter (`GET /metrics`).

A counter only gives a rate between two readings: the audit reads it twice, a few seconds
apart. That is the rate *now*, not the peak SPEC's rule is about, and the report says so; a
declared `traffic.peak_rps` in the profile always wins.
"""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from ..errors import FactUnavailable

METRICS_PATH = "/metrics?format=prometheus"
METRICS_SAMPLE_SECONDS = 2.0
# The client's count of API requests served (Meta's /metrics reference: a counter per method and
# result). `web_requests` there is a gauge of requests in progress, not a count.
REQUEST_COUNTERS = ("api_requests_duration_ms_count",)


def requests_served(text: str) -> float:
    """The sum of every request counter's samples in a Prometheus text exposition."""
    total, seen = 0.0, False
    try:
        for family in text_string_to_metric_families(text):
            if family.type == "counter" and family.name.removesuffix("_total") in REQUEST_COUNTERS:
                for sample in family.samples:
                    if sample.name.removesuffix("_total") in REQUEST_COUNTERS:
                        total += sample.value
                        seen = True
    except ValueError as exc:
        raise FactUnavailable(f"GET /metrics did not answer Prometheus text: {exc}", "api") from None
    if not seen:
        raise FactUnavailable(f"GET /metrics has no request counter ({', '.join(REQUEST_COUNTERS)})", "api")
    return total


def sample_request_rate(api, seconds: float = METRICS_SAMPLE_SECONDS) -> float:
    first, started = requests_served(api.get_text(METRICS_PATH)), time.monotonic()
    time.sleep(seconds)
    second, elapsed = requests_served(api.get_text(METRICS_PATH)), time.monotonic() - started
    # our own GET counts as a request: do not count the audit as traffic
    return max(second - first - 1, 0) / elapsed
