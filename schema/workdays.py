"""Chinese working days (工作日), as the regulations count deadlines.

Weekends and public holidays are off and adjusted working weekends are on, from the
official calendar in ``chinese-calendar``. For years that calendar does not cover yet,
Monday to Friday stands in, and every answer says whether it relied on that fallback so
a deadline computed with it can be shown as approximate, never a crash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import chinese_calendar


@dataclass(frozen=True)
class WorkdayCount:
    days: int
    approximate: bool


@dataclass(frozen=True)
class _Table:
    start: dt.date
    #: prefix[i] = working days in [start, start + i days)
    prefix: tuple[int, ...]
    covered_from: dt.date
    covered_to: dt.date


def _official(day: dt.date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@cache
def _table() -> _Table:
    """Prefix sums over 1990-2100 so any count is O(1), however far apart the dates."""
    start, end = dt.date(1990, 1, 1), dt.date(2101, 1, 1)
    prefix = [0]
    covered = [d for d in (dt.date(y, 1, 1) for y in range(1990, 2101)) if _official(d) is not None]
    covered_from = covered[0] if covered else end
    covered_to = dt.date(covered[-1].year, 12, 31) if covered else start
    day = start
    total = 0
    while day < end:
        official = _official(day) if covered_from <= day <= covered_to else None
        if official is None:
            official = day.weekday() < 5
        total += int(official)
        prefix.append(total)
        day += dt.timedelta(days=1)
    return _Table(start, tuple(prefix), covered_from, covered_to)


def _approximate(t: _Table, a: dt.date, b: dt.date) -> bool:
    return a < t.covered_from or b > t.covered_to


def working_days_after(start: dt.date, end: dt.date) -> WorkdayCount:
    """Working days in (start, end]: the start day is not counted (Civil Code Art. 201)."""
    if end <= start:
        return WorkdayCount(0, False)
    t = _table()
    first = start + dt.timedelta(days=1)
    i, j = (first - t.start).days, (end - t.start).days + 1
    if i < 0 or j >= len(t.prefix):
        raise ValueError(f"dates outside 1990-2100: {start}..{end}")
    return WorkdayCount(t.prefix[j] - t.prefix[i], _approximate(t, first, end))


def add_working_days(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The day ``days`` working days after ``start`` (a deadline), and if it is approximate."""
    if days < 0:
        raise ValueError("days must not be negative")
    t = _table()
    base = (start - t.start).days + 1
    target = t.prefix[base] + days
    # The first index whose prefix reaches the target is the deadline day.
    lo, hi = base, len(t.prefix) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if t.prefix[mid] >= target:
            hi = mid
        else:
            lo = mid + 1
    day = t.start + dt.timedelta(days=lo - 1)
    return day, _approximate(t, start, day)
