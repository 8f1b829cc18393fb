"""Working days by the Chinese calendar, and the publicity (公示) window for exam results.

Results of a certification are publicised for 5 working days before they may be released.
Working days follow the State Council's yearly arrangement: statutory holidays (法定节假日,
with the days swapped around them) are days off, and the adjusted working days (调休上班, a
Saturday or Sunday that is worked) are working days. The data comes from the maintained
package ``chinesecalendar`` (import name ``chinese_calendar``), which knows one year at a
time, as each year's arrangement is published (usually in November of the year before).

A date the installed data does not cover raises :class:`~examvault.errors.ValidationError`
naming the year and the range covered, never the package's own ``NotImplementedError``:
the fix is to upgrade the package, not to guess.

The module is pure: no database, no clock. Callers pass ``today``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import metadata

import chinese_calendar

from examvault.errors import ValidationError

__all__ = [
    "PUBLICITY_DAYS",
    "Window",
    "can_release",
    "covered_years",
    "is_working_day",
    "publicity_window",
    "working_days_after",
]

PUBLICITY_DAYS = 5
"""Working days a result is publicised before it may be released."""

_DAY = dt.timedelta(days=1)


@cache
def _package_version() -> str:
    try:
        return metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed some other way
        return str(getattr(chinese_calendar, "__version__", "unknown version"))


@cache
def covered_years() -> tuple[int, int]:
    """First and last year (inclusive) the installed calendar data covers.

    Computed the way the package itself checks dates: from the years of its holiday table.
    """
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def _not_covered(year: int) -> ValidationError:
    first, last = covered_years()
    if year > last:
        why = f"{year} is not known yet: upgrade the package"
    else:
        why = f"{year} is before the first year it knows"
    return ValidationError(
        f"the Chinese calendar data (chinesecalendar {_package_version()}) covers {first}–{last}; {why}"
    )


def _as_date(day: dt.date, what: str = "day") -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if not isinstance(day, dt.date):
        raise TypeError(f"{what} must be a datetime.date, not {type(day).__name__}")
    return day


def is_working_day(day: dt.date) -> bool:
    """Whether ``day`` is a working day in mainland China.

    A Monday–Friday that is not a holiday, or a Saturday/Sunday made a working day (调休).
    Raises ValidationError when the installed data does not cover ``day``'s year.
    """
    day = _as_date(day)
    first, last = covered_years()
    if not first <= day.year <= last:
        raise _not_covered(day.year)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # pragma: no cover - the range check above should catch it
        raise _not_covered(day.year) from None


def working_days_after(start: dt.date, n: int) -> list[dt.date]:
    """The first ``n`` working days strictly after ``start``, in order.

    ``start`` itself is never included, working day or not. ``n == 0`` gives ``[]``.
    """
    start = _as_date(start, "start")
    if n < 0:
        raise ValidationError(f"the number of working days must not be negative, got {n}")
    found: list[dt.date] = []
    day = start
    while len(found) < n:
        day += _DAY
        if is_working_day(day):
            found.append(day)
    return found


@dataclass(frozen=True)
class Window:
    """A publicity window.

    ``opens`` is the first working day of publicity and ``last_day`` the last one; the window
    holds exactly the requested number of working days from ``opens`` to ``last_day``
    inclusive. ``release_on`` is the next working day after ``last_day``: the earliest day
    the results may be released.
    """

    opens: dt.date
    last_day: dt.date
    release_on: dt.date


def publicity_window(start: dt.date, days: int = PUBLICITY_DAYS) -> Window:
    """The publicity window for a notice posted on ``start``.

    The day the notice is posted counts as the first day when it is a working day. A notice
    posted on a day off (weekend or holiday) starts counting on the next working day: publicity
    is meant to be seen during office hours, so days off never count towards it.
    """
    start = _as_date(start, "start")
    if days < 1:
        raise ValidationError(f"a publicity window needs at least 1 working day, got {days}")
    opens = start if is_working_day(start) else working_days_after(start, 1)[0]
    last_day = working_days_after(opens, days - 1)[-1] if days > 1 else opens
    release_on = working_days_after(last_day, 1)[0]
    return Window(opens=opens, last_day=last_day, release_on=release_on)


def can_release(window: Window, today: dt.date) -> bool:
    """Whether results under ``window`` may be released on ``today`` (on or after ``release_on``)."""
    return _as_date(today, "today") >= window.release_on
