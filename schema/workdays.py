"""Chinese working days (工作日), as the regulations count deadlines.

Weekends and public holidays are off and adjusted working weekends are on, from the
official calendar in ``chinese-calendar``. For years that calendar does not cover yet,
and for dates outside the 1990-2100 table (a decision of 1985 sent today, a date mistyped
as 2125), Monday to Friday stands in, and every answer says whether it relied on that
fallback so a deadline computed with it can be shown as approximate, never a crash.

The regulations count days in China Standard Time (UTC+8, no daylight saving since
1991): a file sent at 07:30 Beijing time arrived on that Beijing day, not on the
previous UTC day (``china_day``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import chinese_calendar

#: China Standard Time, the time the regulations count days in (Asia/Shanghai has kept
#: UTC+8 without daylight saving since 1991; a fixed offset needs no tz database).
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def china_time(at: dt.datetime) -> dt.datetime:
    """``at`` with China time as its zone when it has none (the regulations' and the
    providers' own clock: 2025-10-14T07:30 is Beijing time)."""
    return at.replace(tzinfo=CHINA_TIME) if at.tzinfo is None else at


def china_day(at: dt.datetime) -> dt.date:
    """The calendar day of ``at`` in China; a naive time is taken as China time."""
    if at.tzinfo is None:
        return at.date()
    return at.astimezone(CHINA_TIME).date()


def china_today() -> dt.date:
    """The service's "today": China's day now, whatever zone the host runs in."""
    return china_day(dt.datetime.now(dt.UTC))


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


def _weekdays(first: dt.date, last: dt.date) -> int:
    """Monday to Friday in [first, last] (0 when last < first), by arithmetic."""
    if last < first:
        return 0
    weeks, rest = divmod((last - first).days + 1, 7)
    wd = first.weekday()
    return weeks * 5 + sum((wd + k) % 7 < 5 for k in range(rest))


def working_days_after(start: dt.date, end: dt.date) -> WorkdayCount:
    """Working days in (start, end]: the start day is not counted (Civil Code Art. 201).

    Days outside the table count Monday to Friday, flagged approximate: a load once
    stopped on the first licence decided before 1990, losing every valid row with it.
    """
    if end <= start:
        return WorkdayCount(0, False)
    t = _table()
    first = start + dt.timedelta(days=1)
    table_last = t.start + dt.timedelta(days=len(t.prefix) - 2)
    lo, hi = max(first, t.start), min(end, table_last)
    days = 0
    if lo <= hi:
        days = t.prefix[(hi - t.start).days + 1] - t.prefix[(lo - t.start).days]
    outside = _weekdays(first, min(end, t.start - dt.timedelta(days=1)))
    outside += _weekdays(max(first, table_last + dt.timedelta(days=1)), end)
    return WorkdayCount(days + outside, _approximate(t, first, end))


def add_working_days(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The day ``days`` working days after ``start`` (a deadline), and if it is approximate.

    The first day by which ``working_days_after(start, day)`` reaches ``days``, so both
    count alike everywhere: by the table inside 1990-2100, Monday to Friday outside it (a
    decision of 1985, a date mistyped as 2125). A deadline past the last day a date can
    hold (9999-12-31) is that day, flagged approximate: never an error for any date.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    t = _table()
    if days == 0:
        return start, _approximate(t, start, start)
    base = (start - t.start).days + 1  # prefix[base]: working days in [table start, start]
    if 0 <= base < len(t.prefix) and t.prefix[base] + days <= t.prefix[-1]:
        # Inside the table: the first index whose prefix reaches the target is the day.
        target = t.prefix[base] + days
        lo, hi_index = base, len(t.prefix) - 1
        while lo < hi_index:
            mid = (lo + hi_index) // 2
            if t.prefix[mid] >= target:
                hi_index = mid
            else:
                lo = mid + 1
        day = t.start + dt.timedelta(days=lo - 1)
        return day, _approximate(t, start, day)
    # Outside it, or across one of its ends (Monday to Friday there): the first day by
    # which working_days_after reaches the count. Weekdays alone give 5 in any 7 days
    # and the official calendar makes its holidays up within weeks, so doubling the span
    # soon reaches it.
    span = (days // 5 + 1) * 7
    hi = _days_later(start, span)
    while working_days_after(start, hi).days < days:
        if hi == dt.date.max:
            return hi, True
        span *= 2
        hi = _days_later(start, span)
    first = start + dt.timedelta(days=1)  # hi > start: at least one working day was counted
    while first < hi:
        middle = first + (hi - first) // 2
        if working_days_after(start, middle).days >= days:
            hi = middle
        else:
            first = middle + dt.timedelta(days=1)
    return first, _approximate(t, start, first)


def _days_later(day: dt.date, n: int) -> dt.date:
    """``day`` + ``n`` days, or the last day a date can hold."""
    if n >= (dt.date.max - day).days:
        return dt.date.max
    return day + dt.timedelta(days=n)
