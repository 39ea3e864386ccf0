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
