"""Shared values for the scheduling tests: zones, instants, calendars."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from scheduling.calendar import CHINESE_CALENDAR_TABLE, DayEntry, DayKind, WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

# The library as released covers up to 2026; cut it there so that the tests
# about a year without a table keep meaning the same after an upgrade.
TABLE_UNTIL_2026 = CHINESE_CALENDAR_TABLE.up_to(2026)

# An administrator's (hypothetical) 2027 National Day arrangement.
NATIONAL_DAY_2027 = (
    *(
        DayEntry(
            day=date(2027, 10, d),
            kind=DayKind.HOLIDAY,
            name="国庆节",
            source_notice="国办发明电〔2026〕1号",
        )
        for d in range(1, 8)
    ),
    DayEntry(day=date(2027, 9, 26), kind=DayKind.WORKDAY, name="国庆节"),
    DayEntry(day=date(2027, 10, 9), kind=DayKind.WORKDAY, name="国庆节"),
)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant on Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def calendar_until_2026(
    entries: tuple[DayEntry, ...] = (), complete_years: frozenset[int] = frozenset()
) -> WorkdayCalendar:
    return WorkdayCalendar(entries=entries, complete_years=complete_years, table=TABLE_UNTIL_2026)
