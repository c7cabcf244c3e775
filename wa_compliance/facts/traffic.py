"""Facts of the deployment's traffic over time: its Prometheus history, the host's clock, and
the off-peak window the cleanup and GC jobs are judged against."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from ..errors import FactUnavailable
from ..parsers.schedule import Window, parse_window
from ..transport.prometheus import PrometheusClient
from .cached import fact
from .history import OFF_PEAK_HOURS, TrafficHistory, read_history

DEFAULT_OFF_PEAK = "00:00-06:00"


@dataclass(frozen=True)
class OffPeak:
    window: Window
    source: str                 # where it came from, for the messages


class TrafficFacts:
    @fact
    def prometheus(self) -> PrometheusClient:
        settings = self.profile.traffic.prometheus
        if not settings.url:
            raise FactUnavailable("the profile names no traffic.prometheus.url", "prometheus")
        token = os.environ.get(settings.token_env) if settings.token_env else None
        basic = None
        if settings.username_env:
            basic = (os.environ.get(settings.username_env) or "", os.environ.get(settings.password_env) or "")
        return PrometheusClient(settings.url, settings.verify_tls, token=token, basic=basic)

    @fact
    def host_utc_offset(self) -> dt.timedelta:
        """The host's UTC offset now: hours of day in the history are the host's (DST is not
        followed back through the window)."""
        result = self.host.run("date +%z")
        match = re.fullmatch(r"([+-])([0-9]{2})([0-9]{2})", result.stdout.strip())
        if result.rc != 0 or not match:
            return dt.timedelta(0)
        sign = -1 if match[1] == "-" else 1
        return sign * dt.timedelta(hours=int(match[2]), minutes=int(match[3]))

    @fact(after="prometheus")
    def traffic_history(self) -> TrafficHistory:
        settings = self.profile.traffic.prometheus
        try:
            offset = self.host_utc_offset
        except FactUnavailable:
            offset = dt.timedelta(0)
        return read_history(self.prometheus, settings.window, settings.selector, settings.query, offset)

    @fact
    def off_peak(self) -> OffPeak:
        """`schedule.off_peak`; `auto`: the 6 quietest hours of the history, or the default when
        Prometheus cannot be read (said so)."""
        declared = self.profile.schedule.off_peak
        if declared != "auto":
            return OffPeak(parse_window(declared), "schedule.off_peak")
        try:
            history = self.traffic_history
        except FactUnavailable as exc:
            return OffPeak(parse_window(DEFAULT_OFF_PEAK), f"schedule.off_peak is auto, but {exc}: "
                                                          f"the default {DEFAULT_OFF_PEAK} applies")
        return OffPeak(history.off_peak(), f"auto: the {OFF_PEAK_HOURS} hours with the fewest outgoing messages "
                                           f"(hourly mean over {history.window}, {history.url})")
