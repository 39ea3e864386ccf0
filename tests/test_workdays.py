"""Working days by the official calendar, with an honest fallback past its coverage."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from schema.workdays import add_working_days, working_days_after


def test_national_day_week_is_not_working_time() -> None:
    # 2025-09-30 (Tue) -> 2025-10-09 (Thu): 1-8 October are holidays, 2025-10-11 (Sat)
    # is an adjusted working day; only 9 October counts.
    assert working_days_after(dt.date(2025, 9, 30), dt.date(2025, 10, 9)).days == 1
    assert working_days_after(dt.date(2025, 9, 30), dt.date(2025, 10, 11)).days == 3


def test_adjusted_weekend_counts() -> None:
    assert chinese_calendar.is_workday(dt.date(2025, 9, 28))  # a Sunday worked
    assert working_days_after(dt.date(2025, 9, 27), dt.date(2025, 9, 28)).days == 1


def test_deadline_skips_spring_festival() -> None:
    # 7 working days after 2025-01-24 (Fri): Sun 26 and Mon 27 Jan are worked, 28 Jan-4 Feb
    # off, Sat 8 Feb worked: 26, 27, 5, 6, 7, 8, 10.
    day, approx = add_working_days(dt.date(2025, 1, 24), 7)
    assert not approx
    assert working_days_after(dt.date(2025, 1, 24), day).days == 7
    assert day == dt.date(2025, 2, 10)


def test_years_beyond_the_calendar_fall_back_and_say_so() -> None:
    count = working_days_after(dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    assert count.approximate and count.days == 20  # Mon-Fri of January 2027 after Fri 1st
    day, approx = add_working_days(dt.date(2026, 12, 30), 5)
    assert approx and day == dt.date(2027, 1, 6)


def _monday_to_friday(start: dt.date, end: dt.date) -> int:
    days = (start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1))
    return sum(d.weekday() < 5 for d in days)


def test_dates_outside_the_table_count_monday_to_friday_and_say_so() -> None:
    """A licence decided in 1985, or a submission mistyped as 2125, stopped a whole load
    (``ValueError: dates outside 1990-2100``); such spans are counted, approximately."""
    for start, end in [
        (dt.date(1985, 6, 3), dt.date(1989, 12, 31)),  # all before the table
        (dt.date(1989, 12, 20), dt.date(1990, 1, 12)),  # across its start (Mon-Fri there too)
        (dt.date(2100, 12, 20), dt.date(2101, 1, 12)),  # across its end
        (dt.date(2125, 1, 1), dt.date(2125, 3, 1)),  # all after it
    ]:
        count = working_days_after(start, end)
        assert count.approximate and count.days == _monday_to_friday(start, end), (start, end)
    # A span from before the table into it: Mon-Fri before 1990, the table's count after.
    inside = working_days_after(dt.date(1989, 12, 31), dt.date(2025, 3, 5)).days
    before = _monday_to_friday(dt.date(1985, 6, 3), dt.date(1989, 12, 31))
    count = working_days_after(dt.date(1985, 6, 3), dt.date(2025, 3, 5))
    assert count.approximate and count.days == before + inside


@settings(max_examples=200)
@given(st.dates(dt.date(2004, 1, 1), dt.date(2026, 11, 1)), st.integers(0, 60))
def test_counts_match_the_official_calendar(start: dt.date, span: int) -> None:
    end = start + dt.timedelta(days=span)
    if end.year > 2026:
        return
    expected = sum(
        chinese_calendar.is_workday(start + dt.timedelta(days=i)) for i in range(1, span + 1)
    )
    assert working_days_after(start, end).days == expected
