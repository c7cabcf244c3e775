"""The request history lab/prometheus.py backfills, without a server: the OpenMetrics text
promtool reads is valid, its counters never decrease, every sample carries the client's labels,
and the rates, GC calls and burst are where the History puts them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from lab.errors import LabError
from lab.prometheus import (BURST, BUSY_BY_DAY, DEFAULT_NODE, GC_AT_BUSIEST_HOUR, GC_METHOD,
                            GC_STOPPED, METRIC, PRESETS, QUIET, Burst, History, preset)

# A Monday noon; the window of a 14-day history starts on a Monday too.
END = datetime(2026, 11, 30, 12, 0, 30, tzinfo=timezone.utc)
SATURDAY = datetime(2026, 11, 28, tzinfo=timezone.utc)


def samples(history: History, end: datetime = END) -> list:
    families = list(text_string_to_metric_families(history.openmetrics(end)))
    assert [(f.name, f.type) for f in families] == [(METRIC, "unknown")]
    return families[0].samples


def by_series(history: History, end: datetime = END) -> dict:
    series = {}
    for sample in samples(history, end):
        key = (sample.labels["method"], sample.labels["result"])
        series.setdefault(key, []).append((int(sample.timestamp.sec), sample.value))
    return series


def rate_between(points: list, begin: datetime, end: datetime) -> float:
    values = dict(points)
    return (values[int(end.timestamp())] - values[int(begin.timestamp())]) / (
        end - begin).total_seconds()


def test_the_text_is_valid_openmetrics_with_the_clients_labels_on_every_sample():
    history = replace(BUSY_BY_DAY, days=2)
    found = samples(history)
    assert found and all(s.name == METRIC for s in found)
    assert all(set(s.labels) == {"method", "node", "result"} for s in found)
    assert {s.labels["node"] for s in found} == {DEFAULT_NODE}
    assert {(s.labels["method"], s.labels["result"]) for s in found} == {
        ("POST_v1_messages", "201"), ("GET_v1_contacts", "200"), ("GET_v1_health", "200"),
        (GC_METHOD, "200")}
    text = history.openmetrics(END)
    assert text.endswith("# EOF\n") and "# TYPE api_requests_duration_ms_count unknown" in text


def test_samples_every_minute_over_the_window_ending_at_the_whole_minute_before_end():
    series = by_series(replace(QUIET, days=2))
    start, last = int((END - timedelta(days=2, seconds=30)).timestamp()), int(
        (END - timedelta(seconds=30)).timestamp())
    for points in series.values():
        times = [t for t, _ in points]
        assert times == list(range(start, last + 1, 60))
        assert points[0][1] == 0


def test_counters_never_decrease_and_hold_whole_requests():
    for points in by_series(replace(BURST, days=3)).values():
        values = [v for _, v in points]
        assert values == sorted(values) and all(v == int(v) for v in values)


def test_the_busy_day_shape_and_its_weekend_at_half():
    series = by_series(replace(BUSY_BY_DAY, step_seconds=300))   # as exact, and quicker
    total = {}
    for points in series.values():
        for t, v in points:
            total[t] = total.get(t, 0) + v
    points = sorted(total.items())
    friday = SATURDAY - timedelta(days=1)

    def rate(day, hour):
        begin = day + timedelta(hours=hour)
        return rate_between(points, begin, begin + timedelta(hours=1))
    assert [round(rate(friday, h)) for h in range(6)] == [20] * 6
    weekday = [rate(friday, h) for h in range(24)]
    assert max(weekday) == pytest.approx(200, abs=0.01)
    assert weekday.index(max(weekday)) == 14                # busiest: 14:00-15:00
    weekend = [rate(SATURDAY, h) for h in range(24)]
    assert weekend == pytest.approx([r / 2 for r in weekday], abs=0.01)
    assert rate(SATURDAY + timedelta(days=1), 14) == pytest.approx(100, abs=0.01)


def test_the_total_splits_over_methods_by_their_shares():
    series = by_series(replace(BUSY_BY_DAY, days=1))
    begin = END.replace(hour=9, second=0)
    end = begin + timedelta(hours=1)
    shares = {method: rate_between(points, begin, end) / BUSY_BY_DAY.weekday_rps[9]
              for (method, _), points in series.items() if method != GC_METHOD}
    assert shares == pytest.approx({"POST_v1_messages": 0.6, "GET_v1_contacts": 0.25,
                                    "GET_v1_health": 0.15}, abs=0.001)


def test_one_gc_call_a_day_at_its_time():
    gc = by_series(replace(BUSY_BY_DAY, step_seconds=300))[(GC_METHOD, "200")]
    assert gc[-1][1] == 14                                  # 14 days, 03:00 each
    steps = [(t, v) for (t, v), (_, before) in zip(gc[1:], gc) if v != before]
    assert len(steps) == 14 and all(v - before == 1 for (_, v), (_, before)
                                    in zip(steps[1:], steps))
    assert {datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M") for t, _ in steps} == {
        "03:00"}


def test_gc_at_the_busiest_hour_and_gc_stopped():
    calls = GC_AT_BUSIEST_HOUR.gc_call_times(END)
    assert len(calls) == 14 and {c.strftime("%H:%M") for c in calls} == {"14:30"}
    stopped = GC_STOPPED.gc_call_times(END)
    assert len(stopped) == 11
    assert END - stopped[-1] > timedelta(days=3)
    assert GC_STOPPED.series(END)[(GC_METHOD, "200")][-1][1] == 11


def test_quiet_has_no_gc_series_and_peaks_at_fifty():
    assert (GC_METHOD, "200") not in by_series(replace(QUIET, days=1))
    assert max(QUIET.weekday_rps) == 50 and QUIET.weekday_rps.index(50) == 14
    assert max(QUIET.weekend_rps) == 25


def test_the_burst_adds_messages_for_twenty_minutes_at_a_thousand_rps():
    history = replace(BURST, step_seconds=300)
    begin, end = history.burst_window(END)
    assert (begin.strftime("%H:%M"), end - begin) == ("10:00", timedelta(minutes=20))
    assert (END - begin).days == 2 and begin.weekday() == 5           # a Saturday
    series = by_series(history)
    total = {}
    for points in series.values():
        for t, v in points:
            total[t] = total.get(t, 0) + v
    points = sorted(total.items())
    assert rate_between(points, begin, end) == pytest.approx(1000, abs=0.01)
    after = end + timedelta(minutes=20)
    assert rate_between(points, end, after) == pytest.approx(QUIET.weekend_rps[10], abs=0.01)


def test_hours_are_the_historys_time_zone():
    berlin = replace(BUSY_BY_DAY, timezone="Europe/Berlin", days=4)   # UTC+1 in November
    total = {}
    for points in by_series(berlin).values():
        for t, v in points:
            total[t] = total.get(t, 0) + v
    points = sorted(total.items())
    begin = END.replace(hour=13, second=0) - timedelta(days=3)        # Friday 14:00 in Berlin
    assert rate_between(points, begin, begin + timedelta(hours=1)) == pytest.approx(200, abs=0.01)
    assert {c.strftime("%H:%M") for c in berlin.gc_call_times(END)} == {"02:00"}


def test_the_day_files_hold_every_sample_once_and_start_on_block_boundaries():
    history = replace(BUSY_BY_DAY, days=3)
    whole = samples(history)
    parts = []
    for text in history.openmetrics_days(END):
        (family,) = text_string_to_metric_families(text)
        times = {int(s.timestamp.sec) for s in family.samples}
        assert len({t // 86400 for t in times}) == 1               # one UTC day each
        parts += family.samples
    assert sorted(parts, key=repr) == sorted(whole, key=repr)


def test_presets_by_name():
    assert set(PRESETS) == {"busy_by_day", "quiet", "gc_at_busiest_hour", "gc_stopped", "burst"}
    assert preset("burst") is BURST
    with pytest.raises(LabError, match="choose one of"):
        preset("nope")


def test_a_history_round_trips_through_json():
    assert History.from_json(BURST.to_json()) == BURST


@pytest.mark.parametrize("changes", [
    {"weekday_rps": (1,) * 23}, {"weekend_rps": (-1,) * 24}, {"days": 0},
    {"timezone": "Mars/Olympus"}, {"methods": (("POST_v1_messages", "201", 0.5),)},
    {"gc_calls": ("25:00",)}, {"step_seconds": 7}, {"gc_stopped_days_ago": -1},
])
def test_a_wrong_history_is_refused(changes):
    with pytest.raises(LabError):
        replace(QUIET, **changes)


def test_a_wrong_burst_is_refused():
    with pytest.raises(LabError):
        Burst(minutes=0)


rates = st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=24,
                 max_size=24)


@settings(max_examples=30, deadline=None)
@given(weekday=rates, weekend=rates, burst=st.none() | st.builds(
    Burst, days_ago=st.integers(0, 1), at=st.sampled_from(["00:00", "09:59", "23:50"]),
    minutes=st.integers(1, 120), rps=st.floats(0, 10000)))
def test_for_any_shape_the_counters_never_decrease_and_sum_to_the_traffic(weekday, weekend,
                                                                          burst):
    history = History(weekday_rps=weekday, weekend_rps=weekend, days=2, step_seconds=300,
                      gc_calls=("03:00", "15:30"), burst=burst)
    series = history.series(END)
    for points in series.values():
        values = [value for _, value in points]
        assert all(later >= earlier for earlier, later in zip(values, values[1:]))
    start, last = history.window(END)
    expected = 0.0
    moment = start
    while moment < last:
        expected += history.rate_at(moment) * 300
        moment += timedelta(seconds=300)
    counted = sum(points[-1][1] for (method, _), points in series.items() if method != GC_METHOD)
    if burst is None:
        assert counted == pytest.approx(expected, abs=len(series) + 1e-6 * expected)
    else:
        assert counted >= expected - len(series) - 1e-6 * expected
    assert series[(GC_METHOD, "200")][-1][1] == 4
