"""Working days in mainland China, and arithmetic over them.

Where a day's status comes from, first match wins:

1. an administrator's ``DayEntry`` (it always wins, also over the library, so
   a wrong or late table can be corrected without a release);
2. the published table of ``chinese_calendar`` for the years it covers
   (holidays, and the weekend days made working days, 调休);
3. the weekday rule: Monday-Friday work, Saturday and Sunday rest.

Every date from 0001-01-01 to 9999-12-31 has a defined status, so planning
into a year nobody has a table for never crashes. It is only *uncertain*,
and ``year_status`` / ``missing_years`` say so, so that a page planning into
such a year can warn ("2027年节假日安排尚未录入"). A year counts as entered by the
administrator once they mark its arrangement complete (``complete_years``).

Working-day arithmetic (used for reply deadlines and supervision):

* ``workday_after(day, n)`` is the n-th working day strictly after ``day``:
  the day of receipt never counts (as in Chinese administrative practice,
  期间开始之日不计算在内). An item received on a Saturday therefore has the
  following Monday as working day 1, exactly like one received on Friday.
  ``n == 0`` means ``day`` itself if it is a working day, else the next one.
* ``add_workdays(instant, n, tz)`` takes the instant's calendar day in ``tz``
  and returns the *end* of ``workday_after(that day, n)``: local midnight at
  the start of the following day, an exclusive bound. Something is overdue
  when ``now >= due``.
* ``workdays_between(a, b)`` counts working days in ``(a, b]``, so that
  ``workdays_between(d, workday_after(d, n)) == n`` for ``n >= 1``; it is
  negative when ``b < a``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

import chinese_calendar

from scheduling.clock import SHANGHAI, local_datetime, require_aware
from scheduling.errors import DateOutOfRange, InvalidDayEntry, InvalidWorkdayCount, UnknownYear

MIN_YEAR = date.min.year
MAX_YEAR = date.max.year

_ONE_DAY = timedelta(days=1)

_CHINESE_NAMES: Mapping[str, str] = MappingProxyType(
    {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
)


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


class DaySource(StrEnum):
    ADMIN = "admin"
    LIBRARY = "library"
    WEEKDAY = "weekday"


class YearStatus(StrEnum):
    LIBRARY = "library"
    """The library's published table covers the year."""
    ADMIN = "admin"
    """The administrator entered the year's arrangement and marked it complete."""
    MISSING = "missing"
    """Nobody knows the arrangement yet: weekends plus any partial admin entries."""


@dataclass(frozen=True, kw_only=True)
class DayEntry:
    """An administrator's word on one day: a holiday, or a (makeup) working day.

    ``source_notice`` names the State Council notice it comes from, e.g.
    "国办发明电〔2026〕7号", so a later reader can check it.
    """

    day: date
    kind: DayKind
    name: str
    source_notice: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InvalidDayEntry(f"day must be a date, not {type(self.day).__name__}")
        try:
            kind = DayKind(self.kind)
        except ValueError:
            raise InvalidDayEntry(
                f"kind must be 'holiday' or 'workday', not {self.kind!r}"
            ) from None
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidDayEntry(f"the entry for {self.day.isoformat()} needs a name")
        if not isinstance(self.source_notice, str):
            raise InvalidDayEntry("source_notice must be text")


@dataclass(frozen=True, kw_only=True)
class DayInfo:
    """What the calendar says about one day and why.

    ``is_holiday`` means a day of a public-holiday arrangement (法定节假日 and
    the days bridged to it), not an ordinary weekend. ``name`` is the
    library's English name or the administrator's text; ``name_zh`` the
    Chinese name (the administrator's text again for admin entries). A makeup
    working day carries the name of the holiday it makes up for.
    """

    day: date
    is_workday: bool
    is_holiday: bool
    name: str | None
    name_zh: str | None
    source: DaySource


@dataclass(frozen=True, kw_only=True, eq=False)
class HolidayTable:
    """A published arrangement covering the whole years in ``years``."""

    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    years: range

    def __post_init__(self) -> None:
        if self.years.step != 1 or (
            self.years and (self.years[0] < MIN_YEAR or self.years[-1] > MAX_YEAR)
        ):
            raise UnknownYear(f"a holiday table must cover consecutive years 1-9999: {self.years}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise InvalidDayEntry(f"days both holiday and working day: {sorted(both)}")
        outside = [d for d in (*self.holidays, *self.workdays) if d.year not in self.years]
        if outside:
            raise InvalidDayEntry(f"days outside the table's years {self.years}: {outside}")
        object.__setattr__(self, "holidays", MappingProxyType(dict(self.holidays)))
        object.__setattr__(self, "workdays", MappingProxyType(dict(self.workdays)))

    @classmethod
    def from_chinese_calendar(cls) -> HolidayTable:
        holidays: dict[date, str] = dict(chinese_calendar.holidays)
        workdays: dict[date, str] = dict(chinese_calendar.workdays)
        known = [d.year for d in holidays]
        return cls(holidays=holidays, workdays=workdays, years=range(min(known), max(known) + 1))

    def up_to(self, last_year: int) -> HolidayTable:
        """The same table forgetting every year after ``last_year``."""
        return HolidayTable(
            holidays={d: n for d, n in self.holidays.items() if d.year <= last_year},
            workdays={d: n for d, n in self.workdays.items() if d.year <= last_year},
            years=range(self.years.start, min(self.years.stop, last_year + 1)),
        )


CHINESE_CALENDAR_TABLE = HolidayTable.from_chinese_calendar()


def missing_year_notice(year: int, language: Literal["zh", "en"] = "zh") -> str:
    """The warning a page shows when it plans into a year without an arrangement."""
    if language == "zh":
        return f"{year}年节假日安排尚未录入"
    return f"{year} holiday arrangement not yet entered"


@dataclass(frozen=True, kw_only=True, eq=False)
class WorkdayCalendar:
    """The working-day calendar: library table overlaid with administrator entries."""

    entries: tuple[DayEntry, ...] = ()
    complete_years: frozenset[int] = frozenset()
    table: HolidayTable = CHINESE_CALENDAR_TABLE
    _days: Mapping[date, DayInfo] = field(init=False, repr=False)
    _sorted_days: tuple[date, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        entries = tuple(self.entries)
        for entry in entries:
            if not isinstance(entry, DayEntry):
                raise InvalidDayEntry(f"not a DayEntry: {entry!r}")
        seen: set[date] = set()
        for entry in entries:
            if entry.day in seen:
                raise InvalidDayEntry(f"two administrator entries for {entry.day.isoformat()}")
            seen.add(entry.day)
        years = frozenset(self.complete_years)
        for year in years:
            _check_year(year)
        days: dict[date, DayInfo] = {}
        for day, name in self.table.holidays.items():
            days[day] = DayInfo(
                day=day,
                is_workday=False,
                is_holiday=True,
                name=name,
                name_zh=_CHINESE_NAMES.get(name, name),
                source=DaySource.LIBRARY,
            )
        for day, name in self.table.workdays.items():
            days[day] = DayInfo(
                day=day,
                is_workday=True,
                is_holiday=False,
                name=name,
                name_zh=_CHINESE_NAMES.get(name, name),
                source=DaySource.LIBRARY,
            )
        for entry in entries:
            holiday = entry.kind is DayKind.HOLIDAY
            days[entry.day] = DayInfo(
                day=entry.day,
                is_workday=not holiday,
                is_holiday=holiday,
                name=entry.name,
                name_zh=entry.name,
                source=DaySource.ADMIN,
            )
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "complete_years", years)
        object.__setattr__(self, "_days", MappingProxyType(days))
        object.__setattr__(self, "_sorted_days", tuple(sorted(days)))

    # -- years -----------------------------------------------------------

    def year_status(self, year: int) -> YearStatus:
        _check_year(year)
        if year in self.table.years:
            return YearStatus.LIBRARY
        if year in self.complete_years:
            return YearStatus.ADMIN
        return YearStatus.MISSING

    def missing_years(self, start: date, end: date) -> tuple[int, ...]:
        """Years from ``start.year`` to ``end.year`` (both included) without an arrangement."""
        _check_date(start)
        _check_date(end)
        return tuple(
            year
            for year in range(start.year, end.year + 1)
            if self.year_status(year) is YearStatus.MISSING
        )

    # -- days ------------------------------------------------------------

    def day_info(self, day: date) -> DayInfo:
        _check_date(day)
        known = self._days.get(day)
        if known is not None:
            return known
        return DayInfo(
            day=day,
            is_workday=day.weekday() < 5,
            is_holiday=False,
            name=None,
            name_zh=None,
            source=DaySource.WEEKDAY,
        )

    def is_workday(self, day: date) -> bool:
        return self.day_info(day).is_workday

    def is_holiday(self, day: date) -> bool:
        return self.day_info(day).is_holiday

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on a holiday, else None (also for makeup working days)."""
        info = self.day_info(day)
        return info.name if info.is_holiday else None

    # -- arithmetic ------------------------------------------------------

    def workday_after(self, day: date, n: int = 1) -> date:
        _check_date(day)
        _check_count(n)
        current = day
        if n == 0:
            while not self.is_workday(current):
                current = _next_day(current)
            return current
        counted = 0
        while counted < n:
            current = _next_day(current)
            if self.is_workday(current):
                counted += 1
        return current

    def add_workdays(self, instant: datetime, n: int, tz: tzinfo = SHANGHAI) -> datetime:
        """The end (exclusive, next local midnight) of the n-th working day after ``instant``."""
        require_aware(instant, "instant")
        due_day = self.workday_after(instant.astimezone(tz).date(), n)
        return local_datetime(_next_day(due_day), time(0), tz)

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative when ``b`` is before ``a``."""
        _check_date(a)
        _check_date(b)
        if b < a:
            return -self.workdays_between(b, a)
        count = _weekdays_through(b) - _weekdays_through(a)
        lo = bisect.bisect_right(self._sorted_days, a)
        hi = bisect.bisect_right(self._sorted_days, b)
        for day in self._sorted_days[lo:hi]:
            count += int(self._days[day].is_workday) - int(day.weekday() < 5)
        return count


def _weekdays_through(day: date) -> int:
    """Monday-Friday days from 0001-01-01 (a Monday) through ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def _next_day(day: date) -> date:
    try:
        return day + _ONE_DAY
    except OverflowError:
        raise DateOutOfRange("working-day arithmetic ran past 9999-12-31") from None


def _check_date(day: date) -> None:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, not {type(day).__name__}")


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise UnknownYear(f"not a year between {MIN_YEAR} and {MAX_YEAR}: {year!r}")


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidWorkdayCount(f"a number of working days must be an integer >= 0: {n!r}")
