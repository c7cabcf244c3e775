"""The deployment's traffic history, from the Prometheus that scrapes the Webapp's /metrics
(`traffic.prometheus`): its peak, its 24-hour profile, the off-peak window and the GC calls the
client itself recorded.

Three `query_range` reads over the window at a 5-minute step, side by side: the request rate
(the client's `api_requests_duration_ms_count` counter summed over the deployment's series, or
the profile's `query`), the outgoing messages (`method="POST_v1_messages"`) and the successful
message GC calls (`method="PUT_v1_services_message_gc"`, `result` 2xx). Everything else is
computed here, so what the report says can be checked against Prometheus with the same queries.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import FactUnavailable
from ..parsers.schedule import Window, parse_window
from ..transport.prometheus import PrometheusClient

STEP = 300                                  # the 5-minute rate the source's peak is read at
COUNTER = "api_requests_duration_ms_count"
GC_METHOD = "PUT_v1_services_message_gc"
MESSAGES_METHOD = "POST_v1_messages"
PEAK_QUANTILE = 0.99                        # a daily peak counts, a one-off burst does not
OFF_PEAK_HOURS = 6
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class GcCall:
    at: dt.datetime                         # host time, to the 5-minute step


@dataclass(frozen=True)
class TrafficHistory:
    url: str
    window: str                             # "14d"
    queries: tuple[str, ...]
    points: int                             # 5-minute rates read
    first: dt.datetime | None               # the oldest rate read (a shorter history says so)
    last: dt.datetime | None                # the newest: "since the last call" counts to here
    peak: float                             # the 99th percentile of the 5-minute rate
    highest: float
    highest_at: dt.datetime | None
    hourly_mean: tuple[float, ...]          # requests/s by hour of day (host time), 24 values
    hourly_peak: tuple[float, ...]
    messages_hourly: tuple[float, ...]      # outgoing messages/s by hour of day
    gc_calls: tuple[GcCall, ...] = field(default_factory=tuple)

    def describe_peak(self) -> str:
        when = f" at {self.highest_at:%Y-%m-%d %H:%M}" if self.highest_at else ""
        return (f"Prometheus {self.url}: 99th percentile of the 5-minute request rate over {self.window} "
                f"(highest {self.highest:.1f} rps{when})")

    def off_peak(self) -> Window:
        """The 6 contiguous hours with the fewest outgoing messages (wrapping midnight)."""
        values = self.messages_hourly if any(self.messages_hourly) else self.hourly_mean
        start = min(range(24), key=lambda h: (sum(values[(h + i) % 24] for i in range(OFF_PEAK_HOURS)), h))
        return parse_window(f"{start:02d}:00-{(start + OFF_PEAK_HOURS) % 24:02d}:00")


def window_seconds(window: str) -> int:
    """'14d' -> 1209600 (the profile's rule already checked the form)."""
    match = re.fullmatch(r"([0-9]+)([hdw])", window)
    return int(match[1]) * _UNITS[match[2]]


def queries(selector: str | None, query: str | None) -> dict[str, str]:
    inside = f"{selector}," if selector else ""
    return {
        "requests": query or f"sum(rate({COUNTER}{{{selector or ''}}}[5m]))",
        "messages": f'sum(rate({COUNTER}{{{inside}method="{MESSAGES_METHOD}"}}[5m]))',
        "gc": f'sum(increase({COUNTER}{{{inside}method="{GC_METHOD}",result=~"2.."}}[5m]))',
    }


def read_history(client: PrometheusClient, window: str, selector: str | None, query: str | None,
                 utc_offset: dt.timedelta, now: dt.datetime | None = None) -> TrafficHistory:
    """Read the three series side by side and reduce them; FactUnavailable when Prometheus
    cannot answer, or holds no request rate for this deployment."""
    now = now or dt.datetime.now(dt.timezone.utc)
    end = math.floor(now.timestamp() / STEP) * STEP
    start = end - window_seconds(window)
    asked = queries(selector, query)
    with ThreadPoolExecutor(3, thread_name_prefix="prometheus") as pool:
        futures = {name: pool.submit(client.range, text, start, end, STEP) for name, text in asked.items()}
        series = {name: future.result() for name, future in futures.items()}
    requests = series["requests"]
    if not requests:
        raise FactUnavailable(f"Prometheus {client.url} holds no request rate for {asked['requests']!r} over "
                              f"{window}: is it scraping the Webapp's /metrics (and is the selector right)?",
                              "prometheus")
    zone = dt.timezone(utc_offset)
    local = [(dt.datetime.fromtimestamp(at, zone), value) for at, value in requests]
    rates = sorted(value for _, value in local)
    highest_at, highest = max(local, key=lambda point: point[1])
    return TrafficHistory(
        url=client.url, window=window, queries=tuple(asked.values()), points=len(rates), first=local[0][0],
        last=local[-1][0],
        peak=_quantile(rates, PEAK_QUANTILE), highest=highest, highest_at=highest_at,
        hourly_mean=_by_hour(local, _mean), hourly_peak=_by_hour(local, max),
        messages_hourly=_by_hour([(dt.datetime.fromtimestamp(at, zone), v) for at, v in series["messages"]], _mean),
        gc_calls=_calls(series["gc"], zone))


def _quantile(ordered: list[float], q: float) -> float:
    """As PromQL's quantile_over_time: linear between the closest ranks."""
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _by_hour(points, reduce) -> tuple[float, ...]:
    hours: list[list[float]] = [[] for _ in range(24)]
    for at, value in points:
        hours[at.hour].append(value)
    return tuple(round(reduce(values), 3) if values else 0.0 for values in hours)


def _calls(points, zone) -> tuple[GcCall, ...]:
    """One call per run of 5-minute steps where the counter rose (a call counted at the step
    whose window holds it, once: a single call spans no more than one step here)."""
    calls, previous = [], None
    for at, value in points:
        if value >= 0.5 and previous is None:
            calls.append(GcCall(dt.datetime.fromtimestamp(at - STEP / 2, zone).replace(second=0, microsecond=0)))
            previous = at
        elif value < 0.5:
            previous = None
    return tuple(calls)
