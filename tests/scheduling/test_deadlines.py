from __future__ import annotations

from datetime import date, datetime

import pytest

from scheduling.calendar import WorkdayCalendar
from scheduling.deadlines import (
    Deadline,
    DeadlineStatus,
    auto_close_deadline,
    deadline_status,
    due_in_workdays,
    is_due_within_one_workday,
    is_overdue,
    should_auto_close,
)
from scheduling.errors import InvalidWorkdayCount, NaiveDatetime
from tests.scheduling.helpers import NATIONAL_DAY_2027, calendar_until_2026, sh

CHINA = WorkdayCalendar()
# Received on the Tuesday before National Day 2026.
RECEIVED = sh(2026, 9, 29, 16)
# Sep 30 (1), Oct 8 (2), Oct 9 (3), Sat Oct 10 makeup (4), Oct 12 (5).
DUE = Deadline(day=date(2026, 10, 12), at=sh(2026, 10, 13))


def test_reply_within_five_working_days_over_national_day() -> None:
    assert due_in_workdays(RECEIVED, calendar=CHINA) == DUE
    assert due_in_workdays(RECEIVED, 3, calendar=CHINA) == Deadline(
        day=date(2026, 10, 9), at=sh(2026, 10, 10)
    )


def test_received_on_a_saturday_before_a_makeup_sunday() -> None:
    # Sunday Sep 20 2026 is a working day (调休), so it is working day 1.
    assert due_in_workdays(sh(2026, 9, 19, 11), 1, calendar=CHINA) == Deadline(
        day=date(2026, 9, 20), at=sh(2026, 9, 21)
    )


def test_overdue_from_the_end_of_the_last_day() -> None:
    assert not is_overdue(DUE, sh(2026, 10, 12, 23, 59))
    assert is_overdue(DUE, sh(2026, 10, 13))
    assert is_overdue(DUE, datetime.fromisoformat("2026-10-12T16:00:00+00:00"))  # 00:00 Oct 13


@pytest.mark.parametrize(
    ("now", "soon", "status"),
    [
        (sh(2026, 9, 30, 9), False, DeadlineStatus.ON_TIME),
        (sh(2026, 10, 9, 10), False, DeadlineStatus.ON_TIME),  # next working day is Sat 10th
        (sh(2026, 10, 10, 10), True, DeadlineStatus.DUE_SOON),  # due by end of Mon 12th
        (sh(2026, 10, 11, 10), True, DeadlineStatus.DUE_SOON),  # Sunday
        (sh(2026, 10, 12, 23), True, DeadlineStatus.DUE_SOON),
        (sh(2026, 10, 13, 0), False, DeadlineStatus.OVERDUE),
    ],
)
def test_supervision_status(now: datetime, soon: bool, status: DeadlineStatus) -> None:
    assert is_due_within_one_workday(DUE, now, calendar=CHINA) is soon
    assert deadline_status(DUE, now, calendar=CHINA) is status


def test_auto_close_after_ten_working_days() -> None:
    replied = sh(2026, 9, 28, 10)
    # Sep 29, 30, Oct 8, 9, 10 (Sat), 12, 13, 14, 15, 16.
    assert auto_close_deadline(replied, calendar=CHINA) == Deadline(
        day=date(2026, 10, 16), at=sh(2026, 10, 17)
    )
    assert not should_auto_close(replied, sh(2026, 10, 16, 23, 59), calendar=CHINA)
    assert should_auto_close(replied, sh(2026, 10, 17), calendar=CHINA)


def test_deadlines_in_a_year_without_table() -> None:
    received = sh(2027, 9, 29, 16)
    bare = calendar_until_2026()
    entered = calendar_until_2026(NATIONAL_DAY_2027, complete_years=frozenset({2027}))
    assert due_in_workdays(received, calendar=bare).day == date(2027, 10, 6)
    assert due_in_workdays(received, calendar=entered).day == date(2027, 10, 12)


def test_bad_input() -> None:
    with pytest.raises(InvalidWorkdayCount):
        due_in_workdays(RECEIVED, -1, calendar=CHINA)
    with pytest.raises(NaiveDatetime):
        due_in_workdays(datetime(2026, 9, 29, 16), calendar=CHINA)
    with pytest.raises(NaiveDatetime):
        is_overdue(DUE, datetime(2026, 10, 13))
    with pytest.raises(InvalidWorkdayCount, match="day must be a date"):
        Deadline(day=sh(2026, 10, 12), at=sh(2026, 10, 13))
    with pytest.raises(NaiveDatetime):
        Deadline(day=date(2026, 10, 12), at=datetime(2026, 10, 13))
