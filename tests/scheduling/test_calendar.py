from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.calendar import (
    CHINESE_CALENDAR_TABLE,
    DayEntry,
    DayInfo,
    DayKind,
    DaySource,
    HolidayTable,
    WorkdayCalendar,
    YearStatus,
    missing_year_notice,
)
from scheduling.errors import (
    DateOutOfRange,
    InvalidDayEntry,
    InvalidWorkdayCount,
    NaiveDatetime,
    UnknownYear,
)
from tests.scheduling.helpers import NATIONAL_DAY_2027, calendar_until_2026, sh

CHINA = WorkdayCalendar()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- the real 2026 arrangement, as the library carries it ----------------------


def test_library_covers_2004_to_at_least_2026() -> None:
    assert CHINESE_CALENDAR_TABLE.years.start == 2004
    assert 2026 in CHINESE_CALENDAR_TABLE.years


def test_national_day_2026_is_oct_1_to_7_with_makeup_days_sep_20_and_oct_10() -> None:
    autumn = _days(date(2026, 9, 19), date(2026, 10, 11))
    assert [d for d in autumn if not CHINA.is_workday(d)] == [
        date(2026, 9, 19),  # an ordinary Saturday
        date(2026, 9, 25),  # Mid-autumn Festival, Friday
        date(2026, 9, 26),
        date(2026, 9, 27),
        *_days(date(2026, 10, 1), date(2026, 10, 7)),
        date(2026, 10, 11),  # an ordinary Sunday
    ]
    assert CHINA.day_info(date(2026, 9, 20)) == DayInfo(
        day=date(2026, 9, 20),
        is_workday=True,
        is_holiday=False,
        name="National Day",
        name_zh="国庆节",
        source=DaySource.LIBRARY,
    )
    assert CHINA.is_workday(date(2026, 10, 10))  # Saturday, makeup working day (调休)
    assert not CHINA.is_workday(date(2026, 9, 27))  # Sunday inside Mid-autumn


def test_spring_festival_2026() -> None:
    february = _days(date(2026, 2, 9), date(2026, 3, 1))
    assert [d for d in february if not CHINA.is_workday(d)] == [
        *_days(date(2026, 2, 15), date(2026, 2, 23)),
        date(2026, 3, 1),
    ]
    assert CHINA.is_workday(date(2026, 2, 14))  # Saturday makeup day
    assert CHINA.is_workday(date(2026, 2, 28))  # Saturday makeup day
    assert CHINA.holiday_name(date(2026, 2, 17)) == "Spring Festival"
    assert CHINA.day_info(date(2026, 2, 17)).name_zh == "春节"


def test_holiday_versus_weekend_versus_weekday() -> None:
    assert CHINA.is_holiday(date(2026, 10, 3))  # Saturday inside National Day
    assert CHINA.holiday_name(date(2026, 10, 3)) == "National Day"
    assert not CHINA.is_holiday(date(2026, 10, 11))  # plain Sunday: rest, not a holiday
    assert not CHINA.is_workday(date(2026, 10, 11))
    assert CHINA.holiday_name(date(2026, 10, 10)) is None  # makeup day is no holiday
    assert CHINA.day_info(date(2026, 10, 14)) == DayInfo(
        day=date(2026, 10, 14),
        is_workday=True,
        is_holiday=False,
        name=None,
        name_zh=None,
        source=DaySource.WEEKDAY,
    )


# -- administrator entries -------------------------------------------------------


def test_admin_entries_win_over_the_library() -> None:
    calendar = WorkdayCalendar(
        entries=(
            DayEntry(day=date(2026, 10, 10), kind=DayKind.HOLIDAY, name="街道调整"),
            DayEntry(day=date(2026, 10, 5), kind=DayKind.WORKDAY, name="值班"),
        )
    )
    assert not calendar.is_workday(date(2026, 10, 10))
    assert calendar.holiday_name(date(2026, 10, 10)) == "街道调整"
    assert calendar.day_info(date(2026, 10, 5)) == DayInfo(
        day=date(2026, 10, 5),
        is_workday=True,
        is_holiday=False,
        name="值班",
        name_zh="值班",
        source=DaySource.ADMIN,
    )


def test_entry_kind_may_be_given_as_text() -> None:
    entry = DayEntry(day=date(2027, 1, 1), kind="holiday", name="元旦")  # type: ignore[arg-type]
    assert entry.kind is DayKind.HOLIDAY


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"day": datetime(2027, 1, 1, tzinfo=UTC), "kind": "holiday", "name": "x"}, "a date"),
        ({"day": "2027-01-01", "kind": "holiday", "name": "x"}, "a date"),
        ({"day": date(2027, 1, 1), "kind": "vacation", "name": "x"}, "'holiday' or 'workday'"),
        ({"day": date(2027, 1, 1), "kind": "holiday", "name": "  "}, "needs a name"),
        ({"day": date(2027, 1, 1), "kind": "holiday", "name": "x", "source_notice": 7}, "text"),
    ],
)
def test_bad_day_entries(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidDayEntry, match=message):
        DayEntry(**fields)  # type: ignore[arg-type]


def test_two_entries_for_one_day_are_refused() -> None:
    entry = DayEntry(day=date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    with pytest.raises(InvalidDayEntry, match="two administrator entries for 2027-01-01"):
        WorkdayCalendar(entries=(entry, entry))


def test_a_table_with_days_outside_its_years_is_refused() -> None:
    with pytest.raises(InvalidDayEntry, match="outside the table's years"):
        HolidayTable(holidays={date(2030, 1, 1): "x"}, workdays={}, years=range(2004, 2027))
    with pytest.raises(InvalidDayEntry, match="both holiday and working day"):
        HolidayTable(
            holidays={date(2026, 1, 1): "x"},
            workdays={date(2026, 1, 1): "y"},
            years=range(2026, 2027),
        )
    with pytest.raises(UnknownYear):
        HolidayTable(holidays={}, workdays={}, years=range(3))


# -- a year with no table (2027) --------------------------------------------------


def test_year_status_and_missing_years() -> None:
    bare = calendar_until_2026()
    assert bare.year_status(2026) is YearStatus.LIBRARY
    assert bare.year_status(2027) is YearStatus.MISSING
    assert bare.year_status(2003) is YearStatus.MISSING
    assert bare.missing_years(date(2026, 11, 1), date(2028, 2, 1)) == (2027, 2028)
    assert bare.missing_years(date(2026, 1, 1), date(2026, 12, 31)) == ()

    partial = calendar_until_2026(NATIONAL_DAY_2027)
    assert partial.year_status(2027) is YearStatus.MISSING  # entries alone are not "complete"

    entered = calendar_until_2026(NATIONAL_DAY_2027, complete_years=frozenset({2027}))
    assert entered.year_status(2027) is YearStatus.ADMIN
    assert entered.missing_years(date(2026, 11, 1), date(2028, 2, 1)) == (2028,)


def test_missing_year_notice() -> None:
    assert missing_year_notice(2027) == "2027年节假日安排尚未录入"
    assert missing_year_notice(2027, "en") == "2027 holiday arrangement not yet entered"


def test_a_year_without_table_falls_back_to_weekends() -> None:
    bare = calendar_until_2026()
    october = _days(date(2027, 9, 25), date(2027, 10, 10))
    assert [d for d in october if not bare.is_workday(d)] == [
        date(2027, 9, 25),
        date(2027, 9, 26),
        date(2027, 10, 2),
        date(2027, 10, 3),
        date(2027, 10, 9),
        date(2027, 10, 10),
    ]


def test_admin_entries_define_a_year_without_table() -> None:
    entered = calendar_until_2026(NATIONAL_DAY_2027, complete_years=frozenset({2027}))
    october = _days(date(2027, 9, 25), date(2027, 10, 10))
    assert [d for d in october if not entered.is_workday(d)] == [
        date(2027, 9, 25),
        *_days(date(2027, 10, 1), date(2027, 10, 7)),
        date(2027, 10, 10),
    ]
    assert entered.is_workday(date(2027, 9, 26))  # Sunday makeup day
    assert entered.is_workday(date(2027, 10, 9))  # Saturday makeup day


# -- far away dates -------------------------------------------------------------------


@pytest.mark.parametrize("year", [1, 1900, 2003, 2100, 5000, 9999])
def test_any_year_has_a_defined_status(year: int) -> None:
    assert CHINA.year_status(year) is YearStatus.MISSING
    first = date(year, 1, 1)
    assert CHINA.is_workday(first) == (first.weekday() < 5)


def test_the_last_representable_day() -> None:
    assert CHINA.is_workday(date(9999, 12, 31))  # a Friday
    assert CHINA.workday_after(date(9999, 12, 29), 1) == date(9999, 12, 30)
    with pytest.raises(DateOutOfRange):
        CHINA.workday_after(date(9999, 12, 31), 1)
    with pytest.raises(DateOutOfRange):
        CHINA.add_workdays(datetime(9999, 12, 30, 12, tzinfo=UTC), 1)
    assert CHINA.workdays_between(date.min, date.max) > 2_600_000


@pytest.mark.parametrize("year", [0, 10000, -5, True, "2027"])
def test_years_outside_1_to_9999_are_unknown(year: object) -> None:
    with pytest.raises(UnknownYear):
        CHINA.year_status(year)  # type: ignore[arg-type]
    with pytest.raises(UnknownYear):
        WorkdayCalendar(complete_years=frozenset({year}))  # type: ignore[arg-type]


def test_a_datetime_is_not_a_day() -> None:
    with pytest.raises(TypeError, match="expected a date"):
        CHINA.is_workday(datetime(2026, 10, 1, tzinfo=UTC))


# -- working-day arithmetic ------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "n", "due"),
    [
        # Wednesday before National Day: Oct 8, 9, 10 (Sat, makeup), 12, 13.
        (sh(2026, 9, 30, 10), 5, sh(2026, 10, 14)),
        (sh(2026, 9, 30, 10), 1, sh(2026, 10, 9)),
        # Received on a holiday Saturday: counting starts with the next working day.
        (sh(2026, 10, 3, 18), 1, sh(2026, 10, 9)),
        # Received on the makeup Saturday (a working day): the day itself never counts.
        (sh(2026, 10, 10, 9), 1, sh(2026, 10, 13)),
        # Friday before the Spring Festival makeup Saturday.
        (sh(2026, 2, 13, 9), 1, sh(2026, 2, 15)),
        # Makeup Saturday, then nine days of Spring Festival.
        (sh(2026, 2, 14, 9), 1, sh(2026, 2, 25)),
        # n == 0: the end of the day itself if working, else of the next working day.
        (sh(2026, 9, 30, 10), 0, sh(2026, 10, 1)),
        (sh(2026, 10, 1, 10), 0, sh(2026, 10, 9)),
        # 17:00 UTC on Sep 30 is already Oct 1 in Shanghai.
        (datetime(2026, 9, 30, 17, tzinfo=UTC), 1, sh(2026, 10, 9)),
    ],
)
def test_add_workdays(instant: datetime, n: int, due: datetime) -> None:
    result = CHINA.add_workdays(instant, n)
    assert result == due
    assert result.tzinfo == due.tzinfo


def test_add_workdays_in_a_year_without_table_uses_admin_entries() -> None:
    bare = calendar_until_2026()
    entered = calendar_until_2026(NATIONAL_DAY_2027, complete_years=frozenset({2027}))
    received = sh(2027, 9, 29, 15)  # Wednesday
    assert bare.add_workdays(received, 3) == sh(2027, 10, 5)  # Sep 30, Oct 1, Oct 4
    assert entered.add_workdays(received, 3) == sh(2027, 10, 10)  # Sep 30, Oct 8, Oct 9


def test_workdays_between() -> None:
    assert CHINA.workdays_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert CHINA.workdays_between(date(2026, 10, 13), date(2026, 9, 30)) == -5
    assert CHINA.workdays_between(date(2026, 10, 1), date(2026, 10, 1)) == 0
    assert CHINA.workdays_between(date(2025, 12, 31), date(2026, 12, 31)) == 248


def test_bad_counts_and_instants() -> None:
    with pytest.raises(InvalidWorkdayCount):
        CHINA.workday_after(date(2026, 1, 5), -1)
    with pytest.raises(InvalidWorkdayCount):
        CHINA.add_workdays(sh(2026, 1, 5), 1.5)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetime):
        CHINA.add_workdays(datetime(2026, 1, 5, 9), 1)


_ADMIN = calendar_until_2026(NATIONAL_DAY_2027)
_some_days = st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 1))


@settings(database=None, max_examples=60)
@given(a=_some_days, b=_some_days)
def test_workdays_between_counts_day_by_day(a: date, b: date) -> None:
    low, high = min(a, b), max(a, b)
    brute = sum(_ADMIN.is_workday(low + timedelta(days=i)) for i in range(1, (high - low).days + 1))
    assert _ADMIN.workdays_between(a, b) == (brute if a <= b else -brute)


@settings(database=None, max_examples=60)
@given(day=_some_days, n=st.integers(min_value=1, max_value=30))
def test_workday_after_is_counted_by_workdays_between(day: date, n: int) -> None:
    due = _ADMIN.workday_after(day, n)
    assert _ADMIN.is_workday(due)
    assert _ADMIN.workdays_between(day, due) == n
