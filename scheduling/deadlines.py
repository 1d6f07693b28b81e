"""Due dates in working days for residents' opinion items, and supervision (督办).

A reply is due within 3-5 working days (default 5) of receipt; an item that
got its reply and no further word closes itself after 10 working days.

Counting follows ``WorkdayCalendar.add_workdays``: the day of receipt does
not count; working day 1 is the first working day after it (received on a
Saturday, Monday is day 1). A ``Deadline`` is due at the *end* of its last
working day: ``at`` is the local midnight after ``day`` and the item is
overdue from that instant on (``now >= at``). Show ``day`` to people
("请于10月13日前答复"), compare with ``at``.

Supervision: ``deadline_status`` says ``OVERDUE`` (chase it up), ``DUE_SOON``
(due by the end of the next working day: remind the handler) or
``ON_TIME``. The daily supervision job runs it over open items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import SHANGHAI, require_aware, utc
from scheduling.errors import InvalidWorkdayCount

DEFAULT_REPLY_WORKDAYS = 5
AUTO_CLOSE_WORKDAYS = 10


@dataclass(frozen=True, kw_only=True)
class Deadline:
    day: date
    """The last working day to act on (inclusive)."""
    at: datetime
    """The instant it becomes overdue: local midnight after ``day``."""

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InvalidWorkdayCount("a deadline's day must be a date")
        require_aware(self.at, "at")


class DeadlineStatus(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def due_in_workdays(
    start: datetime,
    n: int = DEFAULT_REPLY_WORKDAYS,
    *,
    calendar: WorkdayCalendar,
    tz: tzinfo = SHANGHAI,
) -> Deadline:
    """The deadline ``n`` working days after ``start`` (received at)."""
    require_aware(start, "start")
    day = calendar.workday_after(start.astimezone(tz).date(), n)
    return Deadline(day=day, at=calendar.add_workdays(start, n, tz))


def is_overdue(deadline: Deadline, now: datetime) -> bool:
    require_aware(now, "now")
    return utc(now) >= utc(deadline.at)


def is_due_within_one_workday(
    deadline: Deadline,
    now: datetime,
    *,
    calendar: WorkdayCalendar,
    tz: tzinfo = SHANGHAI,
) -> bool:
    """Not overdue, and due by the end of the next working day after today."""
    soon = calendar.add_workdays(now, 1, tz)
    return not is_overdue(deadline, now) and utc(deadline.at) <= utc(soon)


def deadline_status(
    deadline: Deadline,
    now: datetime,
    *,
    calendar: WorkdayCalendar,
    tz: tzinfo = SHANGHAI,
) -> DeadlineStatus:
    if is_overdue(deadline, now):
        return DeadlineStatus.OVERDUE
    if is_due_within_one_workday(deadline, now, calendar=calendar, tz=tz):
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.ON_TIME


def auto_close_deadline(
    replied_at: datetime,
    *,
    calendar: WorkdayCalendar,
    tz: tzinfo = SHANGHAI,
    n: int = AUTO_CLOSE_WORKDAYS,
) -> Deadline:
    """When an answered item with no further word from the resident closes itself."""
    return due_in_workdays(replied_at, n, calendar=calendar, tz=tz)


def should_auto_close(
    replied_at: datetime,
    now: datetime,
    *,
    calendar: WorkdayCalendar,
    tz: tzinfo = SHANGHAI,
    n: int = AUTO_CLOSE_WORKDAYS,
) -> bool:
    return is_overdue(auto_close_deadline(replied_at, calendar=calendar, tz=tz, n=n), now)
