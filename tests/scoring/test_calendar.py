"""The Chinese working-day calendar and the 5-working-day publicity (公示) window.

Every asserted date below is counted by hand in the comment beside it, from the State Council's
published arrangements (which the installed chinesecalendar data was checked against):

- 2025 Spring Festival: 01-28 (Tue) to 02-04 (Tue) off; 01-26 (Sun) and 02-08 (Sat) worked.
- 2025 Labour Day: 05-01 (Thu) to 05-05 (Mon) off; 04-27 (Sun) worked.
- 2025 National Day + Mid-Autumn: 10-01 (Wed) to 10-08 (Wed) off; 09-28 (Sun) and 10-11 (Sat) worked.
- 2026 Spring Festival: 02-15 (Sun) to 02-23 (Mon) off; 02-14 (Sat) and 02-28 (Sat) worked.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, timedelta
from importlib import metadata

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.errors import ValidationError
from examvault.scoring.calendar import (
    PUBLICITY_DAYS,
    Window,
    can_release,
    covered_years,
    is_working_day,
    publicity_window,
    working_days_after,
)

D = date.fromisoformat
FIRST_YEAR, LAST_YEAR = covered_years()


def test_installed_data_covers_the_years_the_hand_checked_cases_need() -> None:
    assert FIRST_YEAR <= 2025 and LAST_YEAR >= 2026
    assert PUBLICITY_DAYS == 5


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-09-27", False),  # Saturday, ordinary weekend
        ("2025-09-28", True),  # Sunday, 调休 working day for National Day
        ("2025-09-30", True),  # Tuesday before the holiday
        ("2025-10-01", False),  # National Day
        ("2025-10-06", False),  # Mid-Autumn, inside the 8-day break
        ("2025-10-08", False),  # last day of the break (Wednesday)
        ("2025-10-09", True),  # Thursday, back at work
        ("2025-10-11", True),  # Saturday, 调休 working day
        ("2025-10-12", False),  # Sunday, ordinary weekend
        ("2025-01-26", True),  # Sunday, 调休 for Spring Festival 2025
        ("2025-02-04", False),  # Tuesday, last day of Spring Festival 2025
        ("2025-02-08", True),  # Saturday, 调休 for Spring Festival 2025
        ("2025-04-27", True),  # Sunday, 调休 for Labour Day 2025
        ("2025-05-05", False),  # Monday, last day of Labour Day 2025
        ("2026-02-14", True),  # Saturday, 调休 for Spring Festival 2026
        ("2026-02-23", False),  # Monday, last day of Spring Festival 2026
        ("2026-02-28", True),  # Saturday, 调休 for Spring Festival 2026
        ("2025-03-14", True),  # ordinary Friday
        ("2025-03-15", False),  # ordinary Saturday
    ],
)
def test_is_working_day_follows_the_official_arrangement(day: str, working: bool) -> None:
    assert is_working_day(D(day)) is working


def test_working_days_after_excludes_start_and_skips_days_off() -> None:
    # After Tue 2025-09-30: 10-01..10-08 off; Thu 10-09, Fri 10-10, Sat 10-11 (调休), Sun 10-12 off, Mon 10-13.
    assert working_days_after(D("2025-09-30"), 4) == [
        D("2025-10-09"),
        D("2025-10-10"),
        D("2025-10-11"),
        D("2025-10-13"),
    ]
    # Start on a day off is excluded all the same: after Sat 2025-03-15 come Mon 03-17, Tue 03-18.
    assert working_days_after(D("2025-03-15"), 2) == [D("2025-03-17"), D("2025-03-18")]
    assert working_days_after(D("2025-03-15"), 0) == []


@pytest.mark.parametrize(
    ("start", "opens", "last_day", "release_on"),
    [
        # National Day 2025, start Mon 09-29: 09-29 (1), 09-30 (2), 10-01..10-08 off, Thu 10-09 (3),
        # Fri 10-10 (4), Sat 10-11 调休 (5); Sun 10-12 off -> release Mon 10-13.
        ("2025-09-29", "2025-09-29", "2025-10-11", "2025-10-13"),
        # Start on the 调休 Sunday 09-28: 09-28 (1), 09-29 (2), 09-30 (3), 10-09 (4), 10-10 (5);
        # release on the 调休 Saturday 10-11.
        ("2025-09-28", "2025-09-28", "2025-10-10", "2025-10-11"),
        # Start Sat 09-27 (ordinary weekend, off): opens on the next working day, Sun 09-28 调休,
        # and then runs exactly as the case above.
        ("2025-09-27", "2025-09-28", "2025-10-10", "2025-10-11"),
        # Posted on a holiday, Fri 2025-10-03: opens Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 调休 (3),
        # Sun off, Mon 10-13 (4), Tue 10-14 (5); release Wed 10-15.
        ("2025-10-03", "2025-10-09", "2025-10-14", "2025-10-15"),
        # Spring Festival 2025, start Fri 01-24: 01-24 (1), Sat 01-25 off, Sun 01-26 调休 (2), Mon 01-27 (3),
        # 01-28..02-04 off, Wed 02-05 (4), Thu 02-06 (5); release Fri 02-07.
        ("2025-01-24", "2025-01-24", "2025-02-06", "2025-02-07"),
        # Just after Spring Festival 2025, start Wed 02-05: 02-05 (1), 02-06 (2), Fri 02-07 (3),
        # Sat 02-08 调休 (4), Sun 02-09 off, Mon 02-10 (5); release Tue 02-11.
        ("2025-02-05", "2025-02-05", "2025-02-10", "2025-02-11"),
        # Spring Festival 2026, start Wed 02-11: 02-11 (1), 02-12 (2), Fri 02-13 (3), Sat 02-14 调休 (4),
        # 02-15..02-23 off, Tue 02-24 (5); release Wed 02-25.
        ("2026-02-11", "2026-02-11", "2026-02-24", "2026-02-25"),
        # After Spring Festival 2026, start Wed 02-25: 02-25 (1), 02-26 (2), Fri 02-27 (3),
        # Sat 02-28 调休 (4), Sun 03-01 off, Mon 03-02 (5); release Tue 03-03.
        ("2026-02-25", "2026-02-25", "2026-03-02", "2026-03-03"),
        # Posted on the first day of Spring Festival 2026, Sun 02-15: opens Tue 02-24 (1), 02-25 (2),
        # 02-26 (3), 02-27 (4), Sat 02-28 调休 (5); Sun 03-01 off -> release Mon 03-02.
        ("2026-02-15", "2026-02-24", "2026-02-28", "2026-03-02"),
        # Ordinary weekend (no holiday in March 2025), start Thu 03-13: 03-13 (1), Fri 03-14 (2),
        # Sat/Sun off, Mon 03-17 (3), Tue 03-18 (4), Wed 03-19 (5); release Thu 03-20.
        ("2025-03-13", "2025-03-13", "2025-03-19", "2025-03-20"),
        # Posted on an ordinary Saturday, 2025-03-15: opens Mon 03-17 (1) .. Fri 03-21 (5);
        # Sat/Sun off -> release Mon 03-24.
        ("2025-03-15", "2025-03-17", "2025-03-21", "2025-03-24"),
        # Labour Day 2025, start Fri 04-25: 04-25 (1), Sat 04-26 off, Sun 04-27 调休 (2), Mon 04-28 (3),
        # Tue 04-29 (4), Wed 04-30 (5); 05-01..05-05 off -> release Tue 05-06.
        ("2025-04-25", "2025-04-25", "2025-04-30", "2025-05-06"),
    ],
)
def test_publicity_window_hand_checked(start: str, opens: str, last_day: str, release_on: str) -> None:
    assert publicity_window(D(start)) == Window(
        opens=D(opens), last_day=D(last_day), release_on=D(release_on)
    )


def test_publicity_window_other_lengths() -> None:
    # One working day from Mon 2025-09-29: it is also the last; release Tue 09-30.
    assert publicity_window(D("2025-09-29"), days=1) == Window(
        D("2025-09-29"), D("2025-09-29"), D("2025-09-30")
    )
    # One working day from Tue 2025-09-30: release skips the 8-day break to Thu 10-09.
    assert publicity_window(D("2025-09-30"), days=1) == Window(
        D("2025-09-30"), D("2025-09-30"), D("2025-10-09")
    )
    # Seven from Mon 2025-09-29: 09-29, 09-30, 10-09, 10-10, 10-11, 10-13, 10-14 (7); release Wed 10-15.
    assert publicity_window(D("2025-09-29"), days=7) == Window(
        D("2025-09-29"), D("2025-10-14"), D("2025-10-15")
    )


def test_can_release_from_release_on_onwards() -> None:
    # National Day window from Mon 2025-09-29: last day Sat 10-11, release Mon 10-13.
    window = publicity_window(D("2025-09-29"))
    assert not can_release(window, D("2025-09-29"))
    assert not can_release(window, D("2025-10-11"))  # last day of publicity
    assert not can_release(window, D("2025-10-12"))  # Sunday after it, still before release_on
    assert can_release(window, D("2025-10-13"))
    assert can_release(window, D("2025-10-18"))  # any later day, working or not
    assert can_release(window, dt.datetime(2025, 10, 13, 9, 30))


def test_datetimes_are_taken_as_their_date() -> None:
    assert publicity_window(dt.datetime(2025, 9, 29, 23, 59)) == publicity_window(D("2025-09-29"))
    assert is_working_day(dt.datetime(2025, 10, 11, 8, 0)) is True


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="at least 1 working day, got 0"):
        publicity_window(D("2025-03-13"), days=0)
    with pytest.raises(ValidationError, match="must not be negative"):
        working_days_after(D("2025-03-13"), -1)
    with pytest.raises(TypeError, match="datetime.date"):
        is_working_day("2025-03-13")  # type: ignore[arg-type]


def _message(year: int, why: str) -> str:
    version = metadata.version("chinesecalendar")
    return (
        f"the Chinese calendar data (chinesecalendar {version}) covers {FIRST_YEAR}–{LAST_YEAR}; {year} {why}"
    )


def test_year_after_the_data_is_a_validation_error_naming_the_year() -> None:
    later = LAST_YEAR + 1
    expected = _message(later, "is not known yet: upgrade the package")
    for call in (
        lambda: is_working_day(date(later, 1, 5)),
        lambda: publicity_window(date(later, 3, 2)),
        lambda: working_days_after(date(later, 6, 1), 3),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert str(caught.value) == expected
        assert not isinstance(caught.value.__cause__, NotImplementedError)


def test_window_that_spills_into_an_unknown_year_is_refused() -> None:
    # From the last Monday of the last covered year there are at most 5 working days left in
    # it (2026: Mon 12-28..Thu 12-31 are 4), so 10 working days must reach into the next year.
    last_dec = date(LAST_YEAR, 12, 31)
    start = last_dec - timedelta(days=last_dec.weekday())
    with pytest.raises(ValidationError, match=re.escape(f"{LAST_YEAR + 1} is not known yet")):
        publicity_window(start, days=10)


def test_year_before_the_data_is_a_validation_error() -> None:
    earlier = FIRST_YEAR - 1
    with pytest.raises(ValidationError) as caught:
        is_working_day(date(earlier, 6, 2))
    assert str(caught.value) == _message(earlier, "is before the first year it knows")


def test_release_day_needing_next_year_is_refused_even_when_last_day_is_known() -> None:
    # Last covered year, Thu 12-31 (a working day in 2026): one working day ends that day, but the
    # release day lies in the unknown year.
    last_dec = date(LAST_YEAR, 12, 31)
    if not is_working_day(last_dec):
        pytest.skip("31 December of the last covered year is not a working day")
    with pytest.raises(ValidationError, match=re.escape(f"{LAST_YEAR + 1} is not known yet")):
        publicity_window(last_dec, days=1)


def _oracle(day: date) -> bool:
    """The package's own answer, independent of the module under test."""
    return bool(chinese_calendar.is_workday(day))


covered_dates = st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31))


@settings(max_examples=300, deadline=None)
@given(start=covered_dates, days=st.integers(min_value=1, max_value=20))
def test_window_properties(start: date, days: int) -> None:
    try:
        window = publicity_window(start, days)
    except ValidationError as exc:
        # Only a window running off the end of the data may fail, and it must say which year.
        assert start.year == LAST_YEAR and start >= date(LAST_YEAR, 11, 1)
        assert f"{LAST_YEAR + 1} is not known yet" in str(exc)
        return
    assert window.opens >= start
    assert _oracle(window.opens)
    # No working day lies between start and opens.
    day = start
    while day < window.opens:
        assert not _oracle(day)
        day += timedelta(days=1)
    # Exactly `days` working days from opens to last_day inclusive, last_day being one of them.
    span = [window.opens + timedelta(days=i) for i in range((window.last_day - window.opens).days + 1)]
    assert sum(_oracle(d) for d in span) == days
    assert _oracle(window.last_day)
    # release_on is the next working day after last_day.
    assert window.release_on > window.last_day
    assert _oracle(window.release_on)
    between = [
        window.last_day + timedelta(days=i) for i in range(1, (window.release_on - window.last_day).days)
    ]
    assert not any(_oracle(d) for d in between)
    assert can_release(window, window.release_on)
    assert not can_release(window, window.release_on - timedelta(days=1))


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 11, 30)),
    n=st.integers(min_value=0, max_value=15),
)
def test_working_days_after_properties(start: date, n: int) -> None:
    got = working_days_after(start, n)
    assert len(got) == n
    assert all(_oracle(d) for d in got)
    assert got == sorted(set(got))
    if got:
        # Nothing skipped: every working day in (start, got[-1]] is listed.
        span = [start + timedelta(days=i) for i in range(1, (got[-1] - start).days + 1)]
        assert [d for d in span if _oracle(d)] == got
