"""A rule's occurrences after the holiday policy.

* Each nominal date (the pattern's date) is an occurrence's stable identity:
  its key (ISO date) goes into UIDs and lets a re-plan find the same session.
* If the nominal date is not a working day (``WorkdayCalendar``: holidays
  *and* ordinary weekends, since programmes are office duties), the
  ``HolidayPolicy`` decides: ``SKIP`` it, move it to the ``NEXT_WORKDAY`` or
  to the ``PREVIOUS_WORKDAY``. A moved session keeps its nominal key.
* A move must stay strictly between the neighbouring nominal dates (and
  within ``start_date``..``end_date``). If no working day is there (a
  weekly session on the first Monday of a 9-day Spring Festival), the
  occurrence is skipped with ``SkipReason.NO_WORKDAY_IN_GAP``. Since moves
  never cross a neighbour's nominal date, two sessions of one programme never
  fall on the same day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import require_aware, utc
from scheduling.errors import InvalidRecurrence
from scheduling.recurrence import RecurrenceRule


class HolidayPolicy(StrEnum):
    SKIP = "skip"
    NEXT_WORKDAY = "next_workday"
    PREVIOUS_WORKDAY = "previous_workday"


class OccurrenceStatus(StrEnum):
    HELD = "held"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    NON_WORKING_DAY = "non_working_day"
    """The policy is SKIP and the nominal date is not a working day."""
    NO_WORKDAY_IN_GAP = "no_workday_in_gap"
    """No working day before the neighbouring occurrence to move to."""


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """One nominal date of a rule and when (or whether) it actually takes place.

    ``start``/``end`` are the actual times after the holiday policy; for a
    skipped occurrence they are the nominal times. ``holiday_name`` names the
    holiday that moved or skipped it, if the calendar has one.
    """

    nominal_date: date
    start: datetime
    end: datetime
    status: OccurrenceStatus
    skip_reason: SkipReason | None = None
    holiday_name: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if utc(self.end) <= utc(self.start):
            raise InvalidRecurrence("an occurrence must end after it starts")
        if (self.status is OccurrenceStatus.SKIPPED) != (self.skip_reason is not None):
            raise InvalidRecurrence("a skipped occurrence, and only that, has a skip reason")

    @property
    def key(self) -> str:
        """Stable identity (ISO nominal date), e.g. for UIDs."""
        return self.nominal_date.isoformat()

    @property
    def held(self) -> bool:
        return self.status is OccurrenceStatus.HELD

    @property
    def moved(self) -> bool:
        return self.held and self.start.date() != self.nominal_date


def occurrences(
    rule: RecurrenceRule,
    calendar: WorkdayCalendar,
    start: date,
    end: date,
    policy: HolidayPolicy,
) -> list[Occurrence]:
    """Every occurrence whose *nominal* date is in ``[start, end)``, in order."""
    policy = HolidayPolicy(policy)
    nominal = rule.nominal_dates(start, end)
    result: list[Occurrence] = []
    for index, day in enumerate(nominal):
        nominal_start, nominal_end = rule.times_on(day)
        info = calendar.day_info(day)
        if info.is_workday:
            result.append(
                Occurrence(
                    nominal_date=day,
                    start=nominal_start,
                    end=nominal_end,
                    status=OccurrenceStatus.HELD,
                )
            )
            continue
        actual: date | None = None
        reason = SkipReason.NON_WORKING_DAY
        if policy is HolidayPolicy.NEXT_WORKDAY:
            following = nominal[index + 1] if index + 1 < len(nominal) else rule.nominal_after(day)
            limit = following if following is not None else _after(rule.end_date)
            actual = _find_workday(calendar, day, step=1, stop=limit)
            reason = SkipReason.NO_WORKDAY_IN_GAP
        elif policy is HolidayPolicy.PREVIOUS_WORKDAY:
            preceding = nominal[index - 1] if index > 0 else rule.nominal_before(day)
            limit = preceding if preceding is not None else _before(rule.start_date)
            actual = _find_workday(calendar, day, step=-1, stop=limit)
            reason = SkipReason.NO_WORKDAY_IN_GAP
        if actual is None:
            result.append(
                Occurrence(
                    nominal_date=day,
                    start=nominal_start,
                    end=nominal_end,
                    status=OccurrenceStatus.SKIPPED,
                    skip_reason=reason,
                    holiday_name=info.name,
                )
            )
        else:
            moved_start, moved_end = rule.times_on(actual)
            result.append(
                Occurrence(
                    nominal_date=day,
                    start=moved_start,
                    end=moved_end,
                    status=OccurrenceStatus.HELD,
                    holiday_name=info.name,
                )
            )
    return result


def _after(day: date | None) -> date | None:
    if day is None or day == date.max:
        return None
    return day + timedelta(days=1)


def _before(day: date) -> date | None:
    return None if day == date.min else day - timedelta(days=1)


def _find_workday(
    calendar: WorkdayCalendar, day: date, *, step: int, stop: date | None
) -> date | None:
    """The nearest working day from ``day`` in direction ``step``, strictly before ``stop``."""
    is_before_stop: Callable[[date], bool]
    if stop is None:
        is_before_stop = _always
    elif step > 0:
        is_before_stop = stop.__gt__
    else:
        is_before_stop = stop.__lt__
    delta = timedelta(days=step)
    current = day
    while True:
        try:
            current = current + delta
        except OverflowError:
            return None
        if not is_before_stop(current):
            return None
        if calendar.is_workday(current):
            return current


def _always(_: date) -> bool:
    return True
