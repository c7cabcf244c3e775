"""wa_compliance.parsers.schedule: how often and when a cron schedule fires, decided by cronsim."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta

import pytest
from cronsim import CronSim, CronSimError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.parsers.schedule import ScheduleFacts, Window, parse_window, schedule_facts

DAY = timedelta(days=1)
OFF_PEAK = parse_window("00:00-06:00")
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- examples ---------------------------------------------------------------------------


def test_daily_at_0330_inside_the_default_window():
    facts = schedule_facts("30 3 * * *")
    assert facts == ScheduleFacts("30 3 * * *", True, DAY, (time(3, 30),), "at 03:30 every day")
    assert facts.at_least_daily()
    assert facts.outside(OFF_PEAK) == ()


def test_daily_at_1400_is_outside():
    facts = schedule_facts("0 14 * * *")
    assert facts.at_least_daily()
    assert facts.outside(OFF_PEAK) == (time(14, 0),)


@pytest.mark.parametrize("schedule", ["0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "@weekly"])
def test_weekly_is_not_daily(schedule):
    facts = schedule_facts(schedule)
    assert facts.longest_gap == timedelta(days=7)
    assert not facts.at_least_daily()


def test_weekdays_leave_a_three_day_gap():
    facts = schedule_facts("0 3 * * 1-5")
    assert facts.longest_gap == timedelta(days=3)
    assert facts.description == "at 03:00 on Monday through Friday"


def test_every_30_minutes_is_daily_but_outside_the_window():
    facts = schedule_facts("*/30 * * * *")
    assert facts.longest_gap == timedelta(minutes=30)
    assert facts.at_least_daily()
    assert len(facts.times_of_day) == 48
    assert facts.outside(OFF_PEAK)[0] == time(6, 0)
    assert len(facts.outside(OFF_PEAK)) == 36


def test_window_past_midnight():
    late = parse_window("22:00-04:00")
    assert schedule_facts("0 23 * * *").outside(late) == ()
    assert schedule_facts("30 3 * * *").outside(late) == ()
    assert schedule_facts("0 4 * * *").outside(late) == (time(4, 0),)
    assert schedule_facts("0 14 * * *").outside(late) == (time(14, 0),)


def test_feb_29_waits_four_years():
    facts = schedule_facts("0 0 29 2 *")
    assert facts.runs
    assert facts.longest_gap == timedelta(days=4 * 365 + 1)
    assert facts.description == "at 00:00 on February 29"


def test_reboot_does_not_run_on_a_schedule():
    facts = schedule_facts("@reboot")
    assert facts == ScheduleFacts("@reboot", False, None, (), "at reboot")
    assert not facts.at_least_daily()


@pytest.mark.parametrize("schedule", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "5-1 * * * *", "0 0 * * sat-sun"])
def test_schedules_that_never_fire(schedule):
    facts = schedule_facts(schedule)
    assert (facts.runs, facts.longest_gap, facts.times_of_day) == (False, None, ())
    assert facts.description.startswith("never")
    assert not facts.at_least_daily()


def test_day_of_month_or_day_of_week():
    # Both restricted: the 1st of each month and every Monday (crontab(5) "Note").
    facts = schedule_facts("0 3 1 * 1")
    assert facts.longest_gap == timedelta(days=7)
    assert sorted(d.day for d in firing_dates("0 3 1 * 1", date(2024, 2, 1), date(2024, 3, 1))) == [1, 5, 12, 19, 26]


@pytest.mark.parametrize(
    "schedule, daily",
    [
        ("0 3 1-31 * 1", True),  # either field: every day
        ("0 3 * * 1", False),  # '*' in day-of-month: both, so Mondays
        ("0 3 */1 * 1", False),  # a field starting with '*' counts as '*'
        ("0 3 1-31 * *", True),
        ("0 3 1-30 * 0-5", False),  # a 31st on a Saturday misses
        ("0 3 1-30 * 0-6", True),
    ],
)
def test_which_day_rule_applies(schedule, daily):
    assert schedule_facts(schedule).at_least_daily() is daily


def test_every_minute_is_cheap_and_complete():
    start = clock.perf_counter()
    facts = schedule_facts("* * * * *")
    assert clock.perf_counter() - start < 1  # no year of minutes
    assert (facts.longest_gap, len(facts.times_of_day)) == (timedelta(minutes=1), 1440)
    assert facts.description == "every minute"


def test_gap_spans_days_from_last_to_first_time():
    facts = schedule_facts("0 1,22 * * 1")  # Monday 22:00 to next Monday 01:00
    assert facts.longest_gap == timedelta(days=6, hours=3)
    assert facts.times_of_day == (time(1, 0), time(22, 0))
    assert facts.outside(OFF_PEAK) == (time(22, 0),)


def test_gap_inside_a_day():
    assert schedule_facts("0 2,23 * * *").longest_gap == timedelta(hours=21)


@pytest.mark.parametrize(
    "schedule, gap",
    [
        ("@hourly", timedelta(hours=1)),
        ("@daily", DAY),
        ("@midnight", DAY),
        ("@monthly", timedelta(days=31)),
        ("@yearly", timedelta(days=366)),
        ("@annually", timedelta(days=366)),
        ("0 0 1 */2 *", timedelta(days=62)),
        ("0 0 * 2 *", timedelta(days=365 - 27)),  # Feb 28 (or 29) to Feb 1
    ],
)
def test_gaps_of_keywords_and_months(schedule, gap):
    assert schedule_facts(schedule).longest_gap == gap


def test_vixie_only_syntax_means_what_cron_means():
    assert schedule_facts("5;x 3 * * *").times_of_day == (time(3, 5),)
    assert schedule_facts("0 3 * * 1#2").longest_gap == timedelta(days=7)  # every Monday
    assert schedule_facts("4294967296 3 * * *").times_of_day == (time(3, 0),)


@pytest.mark.parametrize(
    "schedule", ["", "@DAILY", "@often", "* * * *", "* * * * * *", "60 * * * *", "0 0 * * 5L", "0 0 L * *"]
)
def test_invalid_schedules_raise_value_error(schedule):
    with pytest.raises(ValueError):
        schedule_facts(schedule)


# --- windows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start, end, shown",
    [
        ("00:00-06:00", time(0), time(6), "00:00-06:00"),
        ("0:00-6:00", time(0), time(6), "00:00-06:00"),
        (" 22:00 - 04:00 ", time(22), time(4), "22:00-04:00"),
        ("00:00-24:00", time(0), time(0), "00:00-24:00"),
        ("18:30-24:00", time(18, 30), time(0), "18:30-24:00"),
    ],
)
def test_parse_window(text, start, end, shown):
    window = parse_window(text)
    assert window == Window(start, end)
    assert str(window) == shown


@pytest.mark.parametrize(
    "text", ["", "00:00", "0-6", "00:00-06:60", "24:00-06:00", "00:00-24:01", "25:00-01:00", "03:00-03:00", "٠:٠٠-٦:٠٠"]
)
def test_bad_windows(text):
    with pytest.raises(ValueError, match="window"):
        parse_window(text)


def test_window_membership():
    day = parse_window("00:00-06:00")
    assert time(0) in day and time(5, 59, 59) in day
    assert time(6) not in day and time(23, 59) not in day
    night = parse_window("22:00-04:00")
    assert time(22) in night and time(23, 59) in night and time(0) in night and time(3, 59) in night
    assert time(4) not in night and time(12) not in night and time(21, 59) not in night
    whole = parse_window("00:00-24:00")
    assert all(time(h, m) in whole for h in range(24) for m in (0, 59))


# --- properties -------------------------------------------------------------------------


def firing_dates(expression: str, start: date, end: date) -> list[date]:
    """Dates in [start, end) that `expression` fires on, stepping cronsim's public iterator."""
    dates: list[date] = []
    after = datetime.combine(start, time()) - timedelta(seconds=1)
    while True:
        try:
            fired = next(CronSim(expression, after))
        except StopIteration:
            return dates
        if fired.date() >= end:
            return dates
        dates.append(fired.date())
        after = datetime.combine(fired.date(), time(23, 59, 59))


def _item(low: int, high: int, names: tuple[str, ...] = ()):
    value = st.integers(low, high).map(str)
    if names:
        value = st.one_of(value, st.sampled_from(names))
    bounded = st.tuples(st.integers(low, high), st.integers(low, high)).map(sorted)
    # Not "5-5/2": cronsim reads it as "5/2", from 5 to the end; cron as 5.
    wide = bounded.filter(lambda ab: ab[0] < ab[1])
    return st.one_of(
        st.just("*"),
        st.integers(1, 12).map(lambda s: f"*/{s}"),
        value,
        bounded.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(wide, st.integers(1, 8)).map(lambda x: f"{x[0][0]}-{x[0][1]}/{x[1]}"),
    )


def _field(low, high, names=()):
    return st.lists(_item(low, high, names), min_size=1, max_size=3).map(",".join)


# Expressions cronsim and cron read alike, dense enough in days to be worth stepping through.
EXPRESSION = st.tuples(
    _field(0, 59),
    _field(0, 23),
    st.one_of(st.just("*"), _field(1, 31)),
    st.one_of(st.just("*"), _field(1, 12, ("jan", "Feb", "MAR", "dec"))),
    st.one_of(st.just("*"), _field(0, 7, ("sun", "Mon", "FRI", "sat"))),
).map(" ".join)
# 2024-2025 holds Feb 29, and a 31st on every weekday: a schedule that skips some day skips one here.
SPAN = (date(2024, 1, 1), date(2026, 1, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSION)
def test_at_least_daily_agrees_with_stepping_cronsim(expression):
    facts = schedule_facts(expression)
    try:
        dates = firing_dates(expression, *SPAN)
    except CronSimError:  # "30 2": a day no chosen month has
        dates = []
    every_day = len(dates) == (SPAN[1] - SPAN[0]).days
    assert facts.at_least_daily() is every_day
    if dates:
        assert facts.runs
        longest_seen = max((b - a for a, b in zip(dates, dates[1:])), default=timedelta(0))
        assert facts.longest_gap >= longest_seen - DAY
        first_day = datetime.combine(dates[0], time()) - timedelta(seconds=1)
        fired = CronSim(expression, first_day)
        times = [next(fired).time() for _ in range(min(len(facts.times_of_day), 30))]
        assert tuple(times) == facts.times_of_day[: len(times)]
    elif facts.runs:
        assert facts.longest_gap > timedelta(days=365)


@PROPS
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789*/,- \t@LW#?adeilmnorstuy", max_size=30)))
def test_only_value_error_on_any_string(text):
    try:
        facts = schedule_facts(text)
    except ValueError:
        return
    assert facts.runs == (facts.longest_gap is not None)
    assert list(facts.times_of_day) == sorted(set(facts.times_of_day))


@pytest.mark.parametrize(
    "schedule", ["* * * * *", "*/5 * * * 1-5", "0 0 1-30 * 0,2-6", "0,30 * 1,15 * 1-5", "0 0 29 2 */7"]
)
def test_each_call_is_fast(schedule):
    schedule_facts("0 0 * * *")  # the calendar is built once
    start = clock.perf_counter()
    schedule_facts(schedule)
    assert clock.perf_counter() - start < 0.2  # ~5 ms here; generous for loaded machines
