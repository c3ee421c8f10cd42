"""Working-day calendars of the rule packs, from the ``holidays`` package (python-holidays, vacanza).

A rule pack names its calendar by country code (``traceability.calendar``, e.g. ``"CN"``); this module turns
it into a :class:`~batteryloop.compliance.core.epr.WorkCalendar`: the weekdays that are public holidays or days
off in lieu, and the Saturdays and Sundays that are working days (China's 调休 make-up days, which the State
Council General Office announces each year and python-holidays records as ``weekend_workdays``).

Why a library: the Chinese arrangement changes every year by notice (国务院办公厅关于…部分节假日安排的通知);
python-holidays keeps those notices as data, reviewed and released several times a year, with the notices
cited in its source. A year the installed release does not know yet falls back to the statutory holidays it
can compute (no make-up days): the calendar says which years it covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from batteryloop.compliance.core.epr import WorkCalendar
from batteryloop.domain.errors import ValidationError

__all__ = ["work_calendar"]


def work_calendar(code: str, years: Iterable[int]) -> WorkCalendar:
    """The working-day calendar of country ``code`` (ISO 3166-1 alpha-2, as python-holidays names it) for
    ``years``; ValidationError for a country the package does not know."""
    span = sorted(set(years))
    if not span:
        raise ValidationError("a working-day calendar needs at least one year")
    return _calendar(code.upper(), span[0], span[-1])


@lru_cache(maxsize=32)
def _calendar(code: str, first: int, last: int) -> WorkCalendar:
    from importlib.metadata import version

    import holidays

    release = version("holidays")

    try:
        days = holidays.country_holidays(code, years=range(first, last + 1))
    except NotImplementedError as exc:
        raise ValidationError(
            f"no public-holiday calendar for country {code!r} in python-holidays {release}"
        ) from exc
    off = frozenset(d for d in days if d.weekday() < 5)
    on = frozenset(d for d in days.weekend_workdays if first <= d.year <= last and d.weekday() >= 5)
    return WorkCalendar(
        f"{code} public holidays and working weekends (python-holidays {release})",
        off,
        on,
        (first, last),
    )
