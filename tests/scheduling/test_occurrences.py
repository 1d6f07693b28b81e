from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduling.calendar import DayEntry, DayKind, WorkdayCalendar
from scheduling.errors import InvalidRecurrence, NaiveDatetime
from scheduling.occurrences import (
    HolidayPolicy,
    Occurrence,
    OccurrenceStatus,
    SkipReason,
    occurrences,
)
from scheduling.recurrence import MonthlyByDay, Pattern, RecurrenceRule, Weekday, Weekly
from tests.scheduling.helpers import BERLIN, NATIONAL_DAY_2027, calendar_until_2026, sh

CHINA = WorkdayCalendar()
HELD = OccurrenceStatus.HELD
SKIPPED = OccurrenceStatus.SKIPPED


def weekly(weekday: Weekday, **fields: object) -> RecurrenceRule:
    return rule(Weekly(weekday=weekday), **fields)


def rule(pattern: Pattern, **fields: object) -> RecurrenceRule:
    values: dict[str, object] = {
        "pattern": pattern,
        "start_date": date(2026, 1, 1),
        "start_time": time(15, 0),
        "duration": timedelta(hours=1),
    }
    values.update(fields)
    return RecurrenceRule(**values)  # type: ignore[arg-type]


def summary(found: list[Occurrence]) -> list[tuple[date, date, OccurrenceStatus, str | None]]:
    """(nominal date, actual date, status, skip reason) of each occurrence."""
    return [
        (o.nominal_date, o.start.date(), o.status, o.skip_reason and o.skip_reason.value)
        for o in found
    ]


# -- National Day 2026: Thursday Oct 1 is a holiday ----------------------------------------


@pytest.mark.parametrize(
    ("policy", "october_first"),
    [
        (HolidayPolicy.SKIP, (date(2026, 10, 1), SKIPPED, "non_working_day")),
        # Next working day is Oct 8: the next session's own date, so no place.
        (HolidayPolicy.NEXT_WORKDAY, (date(2026, 10, 1), SKIPPED, "no_workday_in_gap")),
        (HolidayPolicy.PREVIOUS_WORKDAY, (date(2026, 9, 30), HELD, None)),
    ],
)
def test_weekly_thursday_over_national_day(
    policy: HolidayPolicy, october_first: tuple[date, OccurrenceStatus, str | None]
) -> None:
    found = occurrences(
        weekly(Weekday.THURSDAY), CHINA, date(2026, 9, 17), date(2026, 10, 16), policy
    )
    assert summary(found) == [
        (date(2026, 9, 17), date(2026, 9, 17), HELD, None),
        (date(2026, 9, 24), date(2026, 9, 24), HELD, None),
        (date(2026, 10, 1), *october_first),
        (date(2026, 10, 8), date(2026, 10, 8), HELD, None),
        (date(2026, 10, 15), date(2026, 10, 15), HELD, None),
    ]
    assert found[2].holiday_name == "National Day"
    assert found[2].key == "2026-10-01"


def test_moved_session_keeps_nominal_identity_and_times() -> None:
    found = occurrences(
        weekly(Weekday.THURSDAY),
        CHINA,
        date(2026, 10, 1),
        date(2026, 10, 2),
        HolidayPolicy.PREVIOUS_WORKDAY,
    )
    assert found == [
        Occurrence(
            nominal_date=date(2026, 10, 1),
            start=sh(2026, 9, 30, 15),
            end=sh(2026, 9, 30, 16),
            status=HELD,
            holiday_name="National Day",
        )
    ]
    assert found[0].moved
    assert found[0].key == "2026-10-01"


def test_friday_sessions_over_mid_autumn_and_national_day() -> None:
    friday = weekly(Weekday.FRIDAY)
    window = (date(2026, 9, 18), date(2026, 10, 10))
    assert summary(occurrences(friday, CHINA, *window, HolidayPolicy.NEXT_WORKDAY)) == [
        (date(2026, 9, 18), date(2026, 9, 18), HELD, None),
        (date(2026, 9, 25), date(2026, 9, 28), HELD, None),  # Mid-autumn -> Monday
        (date(2026, 10, 2), date(2026, 10, 8), HELD, None),  # National Day -> Thursday
        (date(2026, 10, 9), date(2026, 10, 9), HELD, None),
    ]
    assert summary(occurrences(friday, CHINA, *window, HolidayPolicy.PREVIOUS_WORKDAY)) == [
        (date(2026, 9, 18), date(2026, 9, 18), HELD, None),
        (date(2026, 9, 25), date(2026, 9, 24), HELD, None),
        (date(2026, 10, 2), date(2026, 9, 30), HELD, None),
        (date(2026, 10, 9), date(2026, 10, 9), HELD, None),
    ]


def test_weekly_monday_over_spring_festival_2026() -> None:
    found = occurrences(
        weekly(Weekday.MONDAY),
        CHINA,
        date(2026, 2, 9),
        date(2026, 3, 3),
        HolidayPolicy.NEXT_WORKDAY,
    )
    assert summary(found) == [
        (date(2026, 2, 9), date(2026, 2, 9), HELD, None),
        # Feb 16 would move to Feb 24, past the next session's nominal Feb 23.
        (date(2026, 2, 16), date(2026, 2, 16), SKIPPED, "no_workday_in_gap"),
        (date(2026, 2, 23), date(2026, 2, 24), HELD, None),
        (date(2026, 3, 2), date(2026, 3, 2), HELD, None),
    ]
    assert found[1].holiday_name == "Spring Festival"


def test_a_makeup_saturday_is_a_working_day() -> None:
    tenth = rule(MonthlyByDay(day=10))
    found = occurrences(tenth, CHINA, date(2026, 10, 1), date(2026, 11, 1), HolidayPolicy.SKIP)
    assert summary(found) == [(date(2026, 10, 10), date(2026, 10, 10), HELD, None)]


def test_moves_stay_within_the_rules_first_and_last_date() -> None:
    starts_on_holiday = weekly(Weekday.THURSDAY, start_date=date(2026, 10, 1))
    found = occurrences(
        starts_on_holiday,
        CHINA,
        date(2026, 9, 1),
        date(2026, 10, 2),
        HolidayPolicy.PREVIOUS_WORKDAY,
    )
    assert summary(found) == [(date(2026, 10, 1), date(2026, 10, 1), SKIPPED, "no_workday_in_gap")]

    ends_on_holiday = weekly(Weekday.FRIDAY, end_date=date(2026, 10, 2))
    found = occurrences(
        ends_on_holiday, CHINA, date(2026, 10, 1), date(2026, 12, 1), HolidayPolicy.NEXT_WORKDAY
    )
    assert summary(found) == [(date(2026, 10, 2), date(2026, 10, 2), SKIPPED, "no_workday_in_gap")]


def test_neighbours_outside_the_window_still_bound_a_move() -> None:
    # Only Oct 1 is in the window; its neighbour Oct 8 is outside but still counts.
    found = occurrences(
        weekly(Weekday.THURSDAY),
        CHINA,
        date(2026, 10, 1),
        date(2026, 10, 2),
        HolidayPolicy.NEXT_WORKDAY,
    )
    assert summary(found) == [(date(2026, 10, 1), date(2026, 10, 1), SKIPPED, "no_workday_in_gap")]


def test_policy_may_be_given_as_text() -> None:
    found = occurrences(
        weekly(Weekday.THURSDAY),
        CHINA,
        date(2026, 10, 1),
        date(2026, 10, 2),
        "skip",  # type: ignore[arg-type]
    )
    assert found[0].skip_reason is SkipReason.NON_WORKING_DAY


# -- 2027, a year without a table -------------------------------------------------------------


def test_2027_without_table_and_with_admin_entries() -> None:
    thursday = weekly(Weekday.THURSDAY)
    window = (date(2027, 9, 30), date(2027, 10, 15))
    bare = calendar_until_2026()
    entered = calendar_until_2026(NATIONAL_DAY_2027, complete_years=frozenset({2027}))

    assert summary(occurrences(thursday, bare, *window, HolidayPolicy.NEXT_WORKDAY)) == [
        (date(2027, 9, 30), date(2027, 9, 30), HELD, None),
        (date(2027, 10, 7), date(2027, 10, 7), HELD, None),  # nobody knows it is a holiday
        (date(2027, 10, 14), date(2027, 10, 14), HELD, None),
    ]
    assert summary(occurrences(thursday, entered, *window, HolidayPolicy.NEXT_WORKDAY)) == [
        (date(2027, 9, 30), date(2027, 9, 30), HELD, None),
        (date(2027, 10, 7), date(2027, 10, 8), HELD, None),
        (date(2027, 10, 14), date(2027, 10, 14), HELD, None),
    ]
    assert summary(occurrences(thursday, entered, *window, HolidayPolicy.PREVIOUS_WORKDAY)) == [
        (date(2027, 9, 30), date(2027, 9, 30), HELD, None),
        (date(2027, 10, 7), date(2027, 10, 7), SKIPPED, "no_workday_in_gap"),
        (date(2027, 10, 14), date(2027, 10, 14), HELD, None),
    ]


def test_far_future_occurrences() -> None:
    friday = weekly(Weekday.FRIDAY, start_date=date(9999, 12, 1))
    closing = WorkdayCalendar(
        entries=(DayEntry(day=date(9999, 12, 24), kind=DayKind.HOLIDAY, name="far away"),)
    )
    found = occurrences(friday, closing, date(9999, 12, 10), date.max, HolidayPolicy.NEXT_WORKDAY)
    assert summary(found) == [
        (date(9999, 12, 10), date(9999, 12, 10), HELD, None),
        (date(9999, 12, 17), date(9999, 12, 17), HELD, None),
        (date(9999, 12, 24), date(9999, 12, 27), HELD, None),
    ]


# -- time zones --------------------------------------------------------------------------------


def test_berlin_session_on_the_spring_forward_night() -> None:
    night = weekly(Weekday.SUNDAY, start_time=time(2, 30), timezone="Europe/Berlin")
    sunday_workday = WorkdayCalendar(
        entries=(DayEntry(day=date(2026, 3, 29), kind=DayKind.WORKDAY, name="test"),)
    )
    [found] = occurrences(
        night, sunday_workday, date(2026, 3, 29), date(2026, 3, 30), HolidayPolicy.SKIP
    )
    assert found.start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (found.start.hour, found.start.minute) == (3, 30)
    assert found.start.tzinfo == BERLIN
    assert not found.moved


# -- occurrence values ---------------------------------------------------------------


def test_occurrence_validates_itself() -> None:
    with pytest.raises(InvalidRecurrence, match="only that, has a skip reason"):
        Occurrence(
            nominal_date=date(2026, 10, 1),
            start=sh(2026, 10, 1, 15),
            end=sh(2026, 10, 1, 16),
            status=SKIPPED,
        )
    with pytest.raises(InvalidRecurrence, match="end after it starts"):
        Occurrence(
            nominal_date=date(2026, 10, 1),
            start=sh(2026, 10, 1, 15),
            end=sh(2026, 10, 1, 15),
            status=HELD,
        )
    with pytest.raises(NaiveDatetime):
        Occurrence(
            nominal_date=date(2026, 10, 1),
            start=datetime(2026, 10, 1, 15),
            end=sh(2026, 10, 1, 16),
            status=HELD,
        )
