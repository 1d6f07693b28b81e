from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as dateutil_rrule

from scheduling.errors import DateOutOfRange, InvalidRecurrence
from scheduling.recurrence import (
    MonthlyByDay,
    MonthlyByWeekday,
    Pattern,
    RecurrenceRule,
    Weekday,
    Weekly,
)
from tests.scheduling.helpers import BERLIN, SHANGHAI


def rule(pattern: Pattern, **fields: object) -> RecurrenceRule:
    values: dict[str, object] = {
        "pattern": pattern,
        "start_date": date(2026, 1, 1),
        "start_time": time(15, 0),
        "duration": timedelta(hours=1),
    }
    values.update(fields)
    return RecurrenceRule(**values)  # type: ignore[arg-type]


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize("weekday", [7, -1, True, "MO", 3.0])
def test_bad_weekday(weekday: object) -> None:
    with pytest.raises(InvalidRecurrence, match="weekday must be 0"):
        Weekly(weekday=weekday)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecurrence, match="weekday must be 0"):
        MonthlyByWeekday(weekday=weekday, n=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, 5, -2, True, 1.0])
def test_n_out_of_range(n: object) -> None:
    with pytest.raises(InvalidRecurrence, match="n must be 1, 2, 3, 4 or -1"):
        MonthlyByWeekday(weekday=Weekday.THURSDAY, n=n)  # type: ignore[arg-type]


@pytest.mark.parametrize("day", [0, 32, -1, True])
def test_day_of_month_out_of_range(day: object) -> None:
    with pytest.raises(InvalidRecurrence, match="day of month must be 1 to 31"):
        MonthlyByDay(day=day)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"duration": timedelta(0)}, "more than zero"),
        ({"duration": timedelta(minutes=-30)}, "more than zero"),
        ({"duration": timedelta(hours=24, seconds=1)}, "at most 24 hours"),
        ({"duration": 60}, "must be a timedelta"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown IANA time zone"),
        ({"timezone": ""}, "not an IANA time zone name"),
        ({"timezone": "../etc/passwd"}, "time zone"),
        ({"end_date": date(2025, 12, 31)}, "is before start_date"),
        ({"start_date": datetime(2026, 1, 1)}, "start_date must be a date"),
        ({"start_time": time(15, 0, tzinfo=UTC)}, "wall-clock time"),
        ({"start_time": "15:00"}, "time of day"),
        ({"pattern": "FREQ=WEEKLY;BYDAY=TH"}, "not a recurrence pattern"),
    ],
)
def test_invalid_rules(fields: dict[str, object], message: str) -> None:
    pattern = fields.pop("pattern", Weekly(weekday=Weekday.THURSDAY))
    with pytest.raises(InvalidRecurrence, match=message):
        rule(pattern, **fields)  # type: ignore[arg-type]


def test_weekday_given_as_integer_becomes_weekday() -> None:
    assert Weekly(weekday=3).weekday is Weekday.THURSDAY  # type: ignore[arg-type]


# -- RRULE text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (Weekly(weekday=Weekday.THURSDAY), "FREQ=WEEKLY;BYDAY=TH"),
        (MonthlyByWeekday(weekday=Weekday.TUESDAY, n=2), "FREQ=MONTHLY;BYDAY=2TU"),
        (MonthlyByWeekday(weekday=Weekday.FRIDAY, n=-1), "FREQ=MONTHLY;BYDAY=-1FR"),
        (MonthlyByDay(day=15), "FREQ=MONTHLY;BYMONTHDAY=15"),
        (MonthlyByDay(day=30), "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"),
        (MonthlyByDay(day=31), "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"),
    ],
)
def test_rrule_round_trip(pattern: Pattern, text: str) -> None:
    original = rule(pattern, timezone="Europe/Berlin", end_date=date(2027, 6, 30))
    assert original.rrule == text
    rebuilt = RecurrenceRule.from_rrule(
        text,
        start_date=original.start_date,
        start_time=original.start_time,
        duration=original.duration,
        timezone=original.timezone,
        end_date=original.end_date,
    )
    assert rebuilt == original
    # Any RFC 5545 implementation reads the same dates from the text.
    parsed = dateutil_rrule.rrulestr(text, dtstart=datetime(2026, 1, 1))
    expected = [
        d.date() for d in parsed.between(datetime(2026, 1, 1), datetime(2027, 1, 1), inc=True)
    ]
    assert original.nominal_dates(date(2026, 1, 1), date(2027, 1, 1)) == expected


def test_from_rrule_accepts_the_rrule_prefix_and_lower_case() -> None:
    parsed = RecurrenceRule.from_rrule(
        "RRULE:freq=weekly;byday=mo",
        start_date=date(2026, 1, 1),
        start_time=time(9),
        duration=timedelta(hours=1),
    )
    assert parsed.pattern == Weekly(weekday=Weekday.MONDAY)


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=TH;INTERVAL=2",
        "FREQ=WEEKLY;BYDAY=TH;COUNT=3",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=MONTHLY;BYDAY=5TH",
        "FREQ=MONTHLY;BYDAY=ATH",
        "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYMONTHDAY=15;BYDAY=MO",
        "FREQ=WEEKLY;FREQ=WEEKLY;BYDAY=TH",
        "weekly on thursday",
        "",
    ],
)
def test_unsupported_rrules_are_refused(text: str) -> None:
    with pytest.raises(InvalidRecurrence):
        RecurrenceRule.from_rrule(
            text, start_date=date(2026, 1, 1), start_time=time(9), duration=timedelta(hours=1)
        )


# -- nominal dates ----------------------------------------------------------------------------


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    monthly = rule(MonthlyByDay(day=31), start_date=date(2027, 12, 1))
    assert monthly.nominal_dates(date(2027, 12, 1), date(2028, 5, 1)) == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_nth_and_last_weekday() -> None:
    second = rule(MonthlyByWeekday(weekday=Weekday.THURSDAY, n=2))
    last = rule(MonthlyByWeekday(weekday=Weekday.FRIDAY, n=-1))
    assert second.nominal_dates(date(2026, 9, 1), date(2026, 12, 1)) == [
        date(2026, 9, 10),
        date(2026, 10, 8),
        date(2026, 11, 12),
    ]
    assert last.nominal_dates(date(2026, 9, 1), date(2026, 12, 1)) == [
        date(2026, 9, 25),
        date(2026, 10, 30),
        date(2026, 11, 27),
    ]


def test_start_date_need_not_match_and_end_date_is_included() -> None:
    weekly = rule(
        Weekly(weekday=Weekday.THURSDAY), start_date=date(2026, 9, 5), end_date=date(2026, 9, 24)
    )
    assert weekly.nominal_dates(date(2026, 1, 1), date(2027, 1, 1)) == [
        date(2026, 9, 10),
        date(2026, 9, 17),
        date(2026, 9, 24),
    ]
    assert weekly.nominal_after(date(2026, 9, 24)) is None
    assert weekly.nominal_before(date(2026, 9, 10)) is None
    assert weekly.nominal_after(date(2026, 9, 10)) == date(2026, 9, 17)


def test_window_is_half_open() -> None:
    weekly = rule(Weekly(weekday=Weekday.THURSDAY))
    assert weekly.nominal_dates(date(2026, 9, 10), date(2026, 9, 24)) == [
        date(2026, 9, 10),
        date(2026, 9, 17),
    ]
    assert weekly.nominal_dates(date(2026, 9, 24), date(2026, 9, 10)) == []


def test_dates_far_in_the_future() -> None:
    weekly = rule(Weekly(weekday=Weekday.FRIDAY), start_date=date(9999, 12, 1))
    assert weekly.nominal_dates(date(9999, 12, 1), date.max) == [
        date(9999, 12, 3),
        date(9999, 12, 10),
        date(9999, 12, 17),
        date(9999, 12, 24),
    ]
    assert weekly.nominal_after(date(9999, 12, 24)) == date(9999, 12, 31)
    assert weekly.nominal_after(date(9999, 12, 31)) is None
    assert weekly.times_on(date(9999, 12, 31)) == (
        datetime(9999, 12, 31, 15, tzinfo=SHANGHAI),
        datetime(9999, 12, 31, 16, tzinfo=SHANGHAI),
    )
    late = rule(Weekly(weekday=Weekday.FRIDAY), start_time=time(23, 30))
    with pytest.raises(DateOutOfRange):
        late.times_on(date(9999, 12, 31))  # would end in the year 10000


# -- time zones -------------------------------------------------------------------------------


def test_default_zone_is_shanghai() -> None:
    weekly = rule(Weekly(weekday=Weekday.THURSDAY))
    assert weekly.zone == SHANGHAI
    assert weekly.times_on(date(2026, 10, 8)) == (
        datetime(2026, 10, 8, 7, tzinfo=UTC),
        datetime(2026, 10, 8, 8, tzinfo=UTC),
    )


def test_a_start_in_the_spring_forward_gap_moves_later_by_the_gap() -> None:
    weekly = rule(Weekly(weekday=Weekday.SUNDAY), start_time=time(2, 30), timezone="Europe/Berlin")
    start, end = weekly.times_on(date(2026, 3, 29))
    assert (start.hour, start.minute, start.utcoffset()) == (3, 30, timedelta(hours=2))
    assert start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert end - start == timedelta(hours=1)
    assert end == datetime(2026, 3, 29, 4, 30, tzinfo=BERLIN)


def test_an_ambiguous_start_is_the_first_of_the_two() -> None:
    weekly = rule(Weekly(weekday=Weekday.SUNDAY), start_time=time(2, 30), timezone="Europe/Berlin")
    start, end = weekly.times_on(date(2026, 10, 25))
    assert start.utcoffset() == timedelta(hours=2)  # still summer time (CEST)
    # (Aware datetimes at an ambiguous time only compare reliably in UTC: PEP 495.)
    assert start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # One elapsed hour later the clock shows 02:30 again, now in winter time.
    assert end.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert (end.hour, end.minute, end.utcoffset()) == (2, 30, timedelta(hours=1))


def test_duration_is_elapsed_across_the_clock_change() -> None:
    weekly = rule(
        Weekly(weekday=Weekday.SUNDAY),
        start_time=time(1, 30),
        duration=timedelta(hours=2),
        timezone="Europe/Berlin",
    )
    start, end = weekly.times_on(date(2026, 3, 29))
    assert start == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert (end.hour, end.minute) == (4, 30)  # wall clock jumped an hour


def test_another_zone_with_a_gap_at_midnight() -> None:
    # Chile moves its clocks at midnight: 00:00 on 2026-09-06 does not exist.
    weekly = rule(
        Weekly(weekday=Weekday.SUNDAY), start_time=time(0, 0), timezone="America/Santiago"
    )
    start, _ = weekly.times_on(date(2026, 9, 6))
    assert start.date() == date(2026, 9, 6)
    assert start.hour == 1
    assert start.utcoffset() == ZoneInfo("America/Santiago").utcoffset(start)
