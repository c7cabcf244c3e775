"""The traffic history from Prometheus (facts/history.py) and the GC rules that follow it:
the peak as a 99th percentile, the off-peak window, the GC calls as the client recorded them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_compliance.errors import FactUnavailable
from wa_compliance.facts.gc import ApiJob, GcFacts, Known, SizeClass
from wa_compliance.facts.history import GcCall, TrafficHistory, _quantile, queries, read_history
from wa_compliance.facts.traffic import OffPeak
from wa_compliance.model import Outcome
from wa_compliance.parsers.schedule import parse_window
from wa_compliance.rules import gc as rules
from wa_compliance.transport.prometheus import _points

END = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)


def busy_by_day(hour: int) -> float:
    return 200.0 if 9 <= hour < 18 else 20.0


class FakePrometheus:
    """Answers query_range from functions of time: the reduction is what is under test."""
    url = "http://prometheus.test:9090"

    def __init__(self, requests=busy_by_day, messages=None, gc_times=("03:00",), empty=False):
        self.requests, self.messages, self.gc_times, self.empty = requests, messages, gc_times, empty
        self.asked = []

    def range(self, query, start, end, step):
        self.asked.append(query)
        if self.empty:
            return []
        points = []
        for at in range(int(start), int(end) + 1, step):
            moment = dt.datetime.fromtimestamp(at, dt.timezone.utc)
            if "PUT_v1_services_message_gc" in query:
                called = any(moment - dt.timedelta(seconds=step) < moment.replace(
                    hour=int(t[:2]), minute=int(t[3:]), second=0) <= moment for t in self.gc_times)
                points.append((at, 1.0 if called else 0.0))
            elif "POST_v1_messages" in query:
                points.append((at, (self.messages or self.requests)(moment.hour) * 0.6))
            else:
                points.append((at, self.requests(moment.hour)))
        return points


def history(**kwargs) -> TrafficHistory:
    return read_history(FakePrometheus(**kwargs), "14d", None, None, dt.timedelta(0), now=END)


def test_the_peak_is_the_busy_hours_rate_and_the_window_the_quiet_hours():
    found = history()
    assert found.peak == pytest.approx(200) and found.highest == 200
    assert found.hourly_mean[3] == pytest.approx(20) and found.hourly_peak[14] == 200
    assert str(found.off_peak()) == "00:00-06:00"
    assert found.points == 14 * 288 + 1 and found.last == END


def test_a_short_burst_does_not_make_the_peak():
    def quiet_with_burst(hour):
        return 50.0
    prometheus = FakePrometheus(requests=quiet_with_burst)
    original = prometheus.range

    def with_burst(query, start, end, step):
        points = original(query, start, end, step)
        if "POST" not in query and "PUT" not in query:
            points[100:104] = [(at, 1000.0) for at, _ in points[100:104]]     # 20 minutes
        return points
    prometheus.range = with_burst
    found = read_history(prometheus, "14d", None, None, dt.timedelta(0), now=END)
    assert found.peak == pytest.approx(50) and found.highest == 1000


def test_the_off_peak_window_wraps_midnight_where_the_quiet_hours_are():
    found = history(requests=lambda hour: 10.0 if hour >= 22 or hour < 4 else 150.0)
    assert str(found.off_peak()) == "22:00-04:00"


def test_daily_gc_calls_are_found_once_each_at_their_time():
    found = history(gc_times=("03:00",))
    assert len(found.gc_calls) == 14
    assert {f"{call.at:%H:%M}" for call in found.gc_calls} == {"02:57"}


def test_no_series_is_one_clear_line():
    with pytest.raises(FactUnavailable, match="holds no request rate"):
        history(empty=True)


def test_the_selector_narrows_every_query():
    asked = queries('node=~"6b2f.*"', None)
    assert asked["requests"] == 'sum(rate(api_requests_duration_ms_count{node=~"6b2f.*"}[5m]))'
    assert 'node=~"6b2f.*",method="PUT_v1_services_message_gc",result=~"2.."' in asked["gc"]


@given(st.lists(st.tuples(st.one_of(st.floats(), st.text(), st.none()), st.one_of(st.floats(), st.text(), st.none())),
                max_size=20))
def test_any_values_prometheus_answers_give_only_finite_points(values):
    for at, value in _points(values):
        assert at == at and value == value and abs(value) != float("inf")


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200))
def test_the_quantile_lies_between_the_smallest_and_the_largest(values):
    ordered = sorted(values)
    assert ordered[0] <= _quantile(ordered, 0.99) <= ordered[-1]


def facts(peak=200.0, is_peak=True, calls=(), jobs=(), window="00:00-06:00", with_history=True):
    recorded = None
    if with_history:
        recorded = TrafficHistory("http://p:9090", "14d", (), 4033, END - dt.timedelta(days=14), END, peak, peak, END,
                                  (0.0,) * 24, (0.0,) * 24, (0.0,) * 24, tuple(GcCall(at) for at in calls))
    return GcFacts(size=SizeClass.NORMAL, rows=None, pass_through=Known(False, "api"), auto_gc=Known(False, "api"),
                   rps=Known(peak, "test"), jobs=tuple(jobs), rps_is_peak=is_peak, history=recorded,
                   off_peak=OffPeak(parse_window(window), "schedule.off_peak"))


def daily(hour, minute=0, days=13, stop_days_ago=0):
    """A call at hour:minute every day of the window, none in the last `stop_days_ago` days."""
    calls = [(END - dt.timedelta(days=d)).replace(hour=hour, minute=minute) for d in range(days, -1, -1)]
    return [call for call in calls if call <= END - dt.timedelta(days=stop_days_ago)]


def test_gc_called_daily_off_peak_by_the_integration_passes_without_any_host_job():
    decision = rules.api_gc_scheduled(facts(calls=daily(3)))
    assert decision.verdict is Outcome.PASS and "14 successful GC calls" in decision.message, decision.message


def test_gc_at_the_busiest_hour_fails_naming_the_calls():
    decision = rules.api_gc_scheduled(facts(calls=daily(14, 30)))
    assert decision.verdict is Outcome.FAIL and "outside the off-peak window 00:00-06:00" in decision.message


def test_gc_stopped_days_ago_fails_naming_the_gap():
    decision = rules.api_gc_scheduled(facts(calls=daily(3, stop_days_ago=3)))
    assert decision.verdict is Outcome.FAIL and "since the last call" in decision.message


def test_no_recorded_call_fails_even_with_a_host_job():
    job = ApiJob("/etc/cron.d/wa-gc:2", daily=True, off_peak=True, description="at 03:00 every day")
    decision = rules.api_gc_scheduled(facts(calls=(), jobs=[job]))
    assert decision.verdict is Outcome.FAIL and "no successful PUT" in decision.message
    assert "/etc/cron.d/wa-gc:2 is scheduled but never ran" in decision.message


def test_a_quiet_rate_now_never_decides_gc_004_nor_gc_005():
    quiet_now = facts(peak=40.0, is_peak=False, with_history=False)
    for decision in (rules.api_gc_scheduled(quiet_now), rules.api_gc_discouraged(quiet_now)):
        assert decision.verdict is Outcome.SKIP and "peak traffic unknown" in decision.message
    assert "assumed ≤ 120 rps" in rules.automatic_gc_enabled(quiet_now).message
    busy_now = facts(peak=200.0, is_peak=False, with_history=False)
    assert rules.api_gc_scheduled(busy_now).verdict is Outcome.FAIL       # above: proof enough


def test_a_history_with_a_gap_uses_what_is_there_and_says_where_it_starts():
    prometheus = FakePrometheus()
    original = prometheus.range

    def with_gap(query, start, end, step):
        cut = end - 5 * 86400                   # Prometheus was down for the first 9 days
        return [(at, value) for at, value in original(query, start, end, step) if at >= cut]
    prometheus.range = with_gap
    found = read_history(prometheus, "14d", None, None, dt.timedelta(0), now=END)
    assert found.first == END - dt.timedelta(days=5) and found.peak == pytest.approx(200)
    assert len(found.gc_calls) == 5


def test_hours_are_the_hosts():
    quiet_utc_night = FakePrometheus(requests=lambda hour: 5.0 if hour < 6 else 100.0)
    found = read_history(quiet_utc_night, "14d", None, None, dt.timedelta(hours=2), now=END)
    assert str(found.off_peak()) == "02:00-08:00"          # 00:00-06:00 UTC, on a host at UTC+2
