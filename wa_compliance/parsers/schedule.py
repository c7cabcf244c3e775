"""When a cron schedule fires: how often, and at which times of day.

Semantics are Debian cron's (cron.c find_jobs()), and the decisions are cronsim's, the evaluator
Healthchecks.io uses to mimic that cron:

* A job runs in a minute when its minute, hour and month match, and its day matches. When
  day-of-month or day-of-week starts with '*' both must match, otherwise either one (crontab(5):
  "30 4 1,15 * 5" runs on the 1st, the 15th and every Friday). cronsim's `CronSim.match_day` is
  that rule; it is what cronsim's own iterator steps with.
* Times are the host's wall clock. (Across a DST change Debian cron still runs fixed-time jobs
  once at their wall-clock time, a wildcard job follows the new clock: cron(8).)
* Every day a schedule fires, it fires at the same times: each selected hour at each selected
  minute. So it runs at least once every 24 h exactly when it fires on every calendar day, and
  its longest gap is either between two times of one day or from the last time of a firing day
  to the first time of the next firing day.
* From 1901 to 2099 every fourth year is a leap year, so the calendar (the weekday of every date)
  repeats every 28 years. One such cycle holds every combination of month, day and weekday,
  Feb 29 on each weekday included: whether a schedule ever fires, and its longest gap, are read
  from one cycle, as day-by-day decisions and not minute by minute. (2100 is no leap year:
  "0 0 29 2 *" then waits 8 years; we report this century's 4.)

Schedules are parsed by `parse_schedule`, the port of cron's own parser, and handed to cronsim
rewritten as plain lists, so that the syntax only vixie cron has (``5;x``, reversed ranges, atoi
overflow) means what cron means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from cronsim import CronSim, CronSimError

from .crontab import CronFields, parse_schedule

__all__ = ["ScheduleFacts", "Window", "parse_window", "schedule_facts"]

_DAY = timedelta(days=1)
_CYCLE_START = date(2001, 1, 1)
_CYCLE_DAYS = 28 * 365 + 7
_ALL_DAYS = frozenset(range(1, 32))
_ALL_WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class Window:
    """A span of wall-clock time each day. ``end`` is excluded; when it is not after
    ``start`` the window runs past midnight ("22:00-04:00"), and a window whose end
    equals its start is the whole day ("00:00-24:00")."""

    start: time
    end: time

    def __contains__(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


_WINDOW = re.compile(r"[ \t]*([0-9]{1,2}):([0-9]{2})[ \t]*-[ \t]*([0-9]{1,2}):([0-9]{2})[ \t]*")


def parse_window(text: str) -> Window:
    """"00:00-06:00", "22:00-04:00" (past midnight), "0:00-6:00", "00:00-24:00"."""
    found = _WINDOW.fullmatch(text) if isinstance(text, str) else None
    if not found:
        raise ValueError(f"window {text!r} is not HH:MM-HH:MM, e.g. 00:00-06:00")
    start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError(f"window {text!r} has a time that does not exist (00:00 to 23:59, or 24:00 as end)")
    if (start_h, start_m) == (end_h, end_m):
        raise ValueError(f"window {text!r} starts where it ends; the whole day is 00:00-24:00")
    return Window(time(start_h, start_m), time(end_h % 24, end_m))


@dataclass(frozen=True)
class ScheduleFacts:
    schedule: str
    runs: bool  # False for @reboot and for a schedule no date matches
    longest_gap: timedelta | None  # None when it does not run
    times_of_day: tuple[time, ...]  # sorted; at most 1440
    description: str  # "at 03:30 every day", "never: no date matches '0 0 30 2 *'"

    def at_least_daily(self) -> bool:
        return self.longest_gap is not None and self.longest_gap <= _DAY

    def outside(self, window: Window) -> tuple[time, ...]:
        """The times of day it fires at that are not in the window."""
        return tuple(t for t in self.times_of_day if t not in window)


@cache    # a fleet's cron files repeat the same few schedules; each costs ~20 ms to walk
def schedule_facts(schedule: str) -> ScheduleFacts:
    """Facts of a schedule as CronEntry.schedule holds it; ValueError if cron rejects it."""
    fields = parse_schedule(schedule)
    if fields is None:
        return ScheduleFacts(schedule, False, None, (), "at reboot")
    expression = _cronsim_expression(fields)
    days = _firing_days(expression, fields.months) if expression else []
    if not days:
        return ScheduleFacts(schedule, False, None, (), f"never: no date matches {schedule!r}")
    minutes = [60 * h + m for h in sorted(fields.hours) for m in sorted(fields.minutes)]
    return ScheduleFacts(schedule, True, timedelta(minutes=_longest_gap(days, minutes)),
                         tuple(time(*divmod(m, 60)) for m in minutes), _describe(expression))


def _longest_gap(days: list[int], minutes: list[int]) -> int:
    """In minutes, given the firing days of one cycle and the firing minutes of a day."""
    same_day = max((b - a for a, b in zip(minutes, minutes[1:])), default=0)
    # The cycle repeats, so the last firing day is followed by the first one, a cycle later.
    day_gap = max(b - a for a, b in zip(days, days[1:] + [days[0] + _CYCLE_DAYS]))
    return max(same_day, day_gap * 1440 - (minutes[-1] - minutes[0]))


def _firing_days(expression: str, months: frozenset[int]) -> list[int]:
    """The days of one calendar cycle on which the schedule fires, counted from its start."""
    try:
        sim = CronSim(expression, datetime.combine(_CYCLE_START, time()))
    except CronSimError:
        # cronsim refuses a day no chosen month has ("30 2"): cron takes it and never runs.
        return []
    calendar, samples = _calendar()
    # For cron's syntax (no L, W or #) cronsim's day rule looks at nothing but the day of the
    # month and the weekday: decide each pair once.
    fires = {pair: sim.match_day(sample) for pair, sample in samples.items()}
    return [n for n, (month, pair) in enumerate(calendar) if month in months and fires[pair]]


@cache
def _calendar() -> tuple[list[tuple[int, tuple[int, int]]], dict[tuple[int, int], date]]:
    """(month, (day, weekday)) for each date of the cycle, and a date for each (day, weekday)."""
    dates = [_CYCLE_START + timedelta(days=n) for n in range(_CYCLE_DAYS)]
    calendar = [(d.month, (d.day, d.weekday())) for d in dates]
    samples: dict[tuple[int, int], date] = {}
    for d, (_, pair) in zip(dates, calendar):
        samples.setdefault(pair, d)
    return calendar, samples


def _cronsim_expression(fields: CronFields) -> str | None:
    """The schedule as an expression cronsim reads as cron does, None if it selects nothing.
    cronsim, like cron, picks the day rule by whether a day field starts with '*': a day field
    starts with one only where cron's rule is "both must match"."""
    if not (fields.minutes and fields.hours and fields.months):
        return None
    weekdays = frozenset(d % 7 for d in fields.weekdays)
    if fields.day_star or fields.weekday_star:
        if not (fields.days and weekdays):
            return None
        days = _starred(fields.days, 1, 31) if fields.day_star else _spelled(fields.days, 1, 31)
        dows = _starred(weekdays, 0, 6) if fields.weekday_star else _spelled(weekdays, 0, 6)
    elif fields.days == _ALL_DAYS or weekdays == _ALL_WEEKDAYS:
        days = dows = "*"  # either field matching every day: every day
    elif not (fields.days and weekdays):
        # An empty field matches no day, so the other one alone decides: in cronsim's terms, the
        # other one ANDed with '*'.
        days = _listed(fields.days) if fields.days else "*"
        dows = _listed(weekdays) if weekdays else "*"
    else:
        days, dows = _listed(fields.days), _listed(weekdays)
    return " ".join((_spelled(fields.minutes, 0, 59), _spelled(fields.hours, 0, 23), days,
                     _spelled(fields.months, 1, 12), dows))


def _spelled(values: frozenset[int], low: int, high: int) -> str:
    """'*', '*/N' or a list: the shortest spelling, for fields whose '*' means nothing more."""
    if values == frozenset(range(low, high + 1)):
        return "*"
    ordered = sorted(values)
    if len(ordered) > 1 and values == frozenset(range(low, high + 1, ordered[1] - ordered[0])):
        return f"*/{ordered[1] - ordered[0]}"
    return _listed(values)


def _starred(values: frozenset[int], low: int, high: int) -> str:
    """A spelling that starts with '*': the first '*/N' it holds all of, plus the rest.
    (A field cron flagged began with '*', so it holds `low` and '*/N' exists.)"""
    step = next(n for n in range(1, high - low + 2) if set(range(low, high + 1, n)) <= values)
    rest = sorted(values - set(range(low, high + 1, step)))
    return ",".join([f"*/{step}" if step > 1 else "*"] + [str(v) for v in rest])


def _listed(values: frozenset[int]) -> str:
    """'1-5,7,9-11': runs of three or more as ranges."""
    ordered = sorted(values)
    runs: list[list[int]] = []
    for value in ordered:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs)


def _describe(expression: str) -> str:
    text = CronSim(expression, datetime.combine(_CYCLE_START, time())).explain()
    return text[0].lower() + text[1:]
