"""R-CRON remediation: the cron line that cleans every container of the deployment, by name,
inside the off-peak window. What the entries cover is a fact (facts/cleanup_coverage.py)."""

from __future__ import annotations

import datetime as dt

from ..parsers.cleanup_command import CLEANUP


def window_middle(start: dt.time, end: dt.time) -> dt.time:
    """A time well inside the off-peak window, for the cron line we suggest."""
    begin = start.hour * 60 + start.minute
    length = (end.hour * 60 + end.minute - begin) % 1440 or 1440
    middle = (begin + length // 2) % 1440
    return dt.time(middle // 60, middle % 60)


def suggested_line(names: list[str], at: dt.time, user: str | None = "root") -> str:
    """One /etc/cron.d line cleaning every current container by name (names survive upgrades)."""
    calls = "; ".join(f"docker exec {name} {CLEANUP}" for name in names)
    who = f" {user}" if user else ""
    return f"{at.minute} {at.hour} * * *{who} {calls}"
