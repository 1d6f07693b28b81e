"""Recurring programmes: when a weekly or monthly session nominally takes place.

A ``RecurrenceRule`` is a pattern (weekly on a weekday; monthly on the n-th
or last weekday; monthly on a day of the month) plus a wall-clock start time,
a duration, an IANA time zone (default Asia/Shanghai), a first date and an
optional last date. It is stored as an RFC 5545 RRULE text for the pattern
(``rule.rrule``) plus those plain fields, and rebuilt with
``RecurrenceRule.from_rrule``. Dates come from ``dateutil.rrule``.

Conventions:

* ``n`` of a monthly n-th weekday is 1-4 or -1 (last): the ones every month
  has, so every month has exactly one session.
* Day 29-31 of the month in a shorter month falls on the month's *last* day
  (RRULE ``BYMONTHDAY=28,29,30,31;BYSETPOS=-1``): a monthly duty hour never
  silently disappears for a month.
* ``start_date`` need not match the pattern; the first session is the first
  matching day on or after it. ``end_date`` is included.
* ``duration`` is elapsed time, more than zero and at most 24 hours.
* A wall-clock start that does not exist (DST gap) is read with the offset
  before the gap and lands later by the gap's length (02:30 -> 03:30 in
  Berlin on the spring-forward night); one that happens twice is the first
  of the two (RFC 5545 3.3.5). The end is start + duration in elapsed time.

Holidays are not this module's business: ``scheduling.occurrences`` applies
the working-day calendar and the holiday policy to the nominal dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from scheduling.clock import DEFAULT_TIMEZONE, add_elapsed, local_datetime, zone
from scheduling.errors import InvalidRecurrence

MAX_DURATION = timedelta(hours=24)

_CLAMPED_DAY_FROM = 29


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6

    @property
    def code(self) -> str:
        """The RFC 5545 two-letter code (MO, TU, ...)."""
        return _WEEKDAY_CODES[self]

    @classmethod
    def from_code(cls, code: str) -> Weekday:
        try:
            return cls(_WEEKDAY_CODES.index(code))
        except ValueError:
            raise InvalidRecurrence(f"not an RFC 5545 weekday: {code!r}") from None


_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _weekday(value: object) -> Weekday:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecurrence(f"weekday must be 0 (Monday) to 6 (Sunday), not {value!r}")
    try:
        return Weekday(value)
    except ValueError:
        raise InvalidRecurrence(
            f"weekday must be 0 (Monday) to 6 (Sunday), not {value!r}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class Weekly:
    weekday: Weekday

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekday", _weekday(self.weekday))


@dataclass(frozen=True, kw_only=True)
class MonthlyByWeekday:
    """The ``n``-th ``weekday`` of each month; ``n == -1`` is the last one."""

    weekday: Weekday
    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekday", _weekday(self.weekday))
        if type(self.n) is not int or self.n not in (1, 2, 3, 4, -1):
            raise InvalidRecurrence(f"n must be 1, 2, 3, 4 or -1 (last), not {self.n!r}")


@dataclass(frozen=True, kw_only=True)
class MonthlyByDay:
    """Day ``day`` of each month; 29-31 fall on the last day of shorter months."""

    day: int

    def __post_init__(self) -> None:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or not 1 <= self.day <= 31:
            raise InvalidRecurrence(f"day of month must be 1 to 31, not {self.day!r}")


Pattern = Weekly | MonthlyByWeekday | MonthlyByDay


@dataclass(frozen=True, kw_only=True)
class RecurrenceRule:
    pattern: Pattern
    start_date: date
    start_time: time
    duration: timedelta
    timezone: str = DEFAULT_TIMEZONE
    end_date: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, Weekly | MonthlyByWeekday | MonthlyByDay):
            raise InvalidRecurrence(f"not a recurrence pattern: {self.pattern!r}")
        if isinstance(self.start_date, datetime) or not isinstance(self.start_date, date):
            raise InvalidRecurrence("start_date must be a date")
        if self.end_date is not None:
            if isinstance(self.end_date, datetime) or not isinstance(self.end_date, date):
                raise InvalidRecurrence("end_date must be a date or None")
            if self.end_date < self.start_date:
                raise InvalidRecurrence(
                    f"end_date {self.end_date.isoformat()} is before "
                    f"start_date {self.start_date.isoformat()}"
                )
        if not isinstance(self.start_time, time):
            raise InvalidRecurrence("start_time must be a time of day")
        if self.start_time.tzinfo is not None:
            raise InvalidRecurrence(
                "start_time is a wall-clock time: give the zone in `timezone`, not on the time"
            )
        if not isinstance(self.duration, timedelta):
            raise InvalidRecurrence("duration must be a timedelta")
        if not timedelta(0) < self.duration <= MAX_DURATION:
            raise InvalidRecurrence(
                f"duration must be more than zero and at most 24 hours, not {self.duration}"
            )
        try:
            zone(self.timezone)
        except LookupError as exc:
            raise InvalidRecurrence(str(exc)) from None

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    # -- RFC 5545 ----------------------------------------------------------

    @property
    def rrule(self) -> str:
        """The pattern as an RFC 5545 RRULE value (without DTSTART/UNTIL)."""
        pattern = self.pattern
        if isinstance(pattern, Weekly):
            return f"FREQ=WEEKLY;BYDAY={pattern.weekday.code}"
        if isinstance(pattern, MonthlyByWeekday):
            return f"FREQ=MONTHLY;BYDAY={pattern.n}{pattern.weekday.code}"
        if pattern.day < _CLAMPED_DAY_FROM:
            return f"FREQ=MONTHLY;BYMONTHDAY={pattern.day}"
        days = ",".join(str(d) for d in range(28, pattern.day + 1))
        return f"FREQ=MONTHLY;BYMONTHDAY={days};BYSETPOS=-1"

    @classmethod
    def from_rrule(
        cls,
        text: str,
        *,
        start_date: date,
        start_time: time,
        duration: timedelta,
        timezone: str = DEFAULT_TIMEZONE,
        end_date: date | None = None,
    ) -> RecurrenceRule:
        """Rebuild a rule from ``rule.rrule`` and its fields; other RRULEs are refused."""
        return cls(
            pattern=_parse_pattern(text),
            start_date=start_date,
            start_time=start_time,
            duration=duration,
            timezone=timezone,
            end_date=end_date,
        )

    # -- dates -----------------------------------------------------------

    def _dateutil(self) -> _rrule.rrule:
        until = None if self.end_date is None else datetime.combine(self.end_date, time())
        start = datetime.combine(self.start_date, time())
        pattern = self.pattern
        if isinstance(pattern, Weekly):
            return _rrule.rrule(
                _rrule.WEEKLY, dtstart=start, until=until, byweekday=_DATEUTIL_DAYS[pattern.weekday]
            )
        if isinstance(pattern, MonthlyByWeekday):
            return _rrule.rrule(
                _rrule.MONTHLY,
                dtstart=start,
                until=until,
                byweekday=_DATEUTIL_DAYS[pattern.weekday](pattern.n),
            )
        if pattern.day < _CLAMPED_DAY_FROM:
            return _rrule.rrule(_rrule.MONTHLY, dtstart=start, until=until, bymonthday=pattern.day)
        return _rrule.rrule(
            _rrule.MONTHLY,
            dtstart=start,
            until=until,
            bymonthday=tuple(range(28, pattern.day + 1)),
            bysetpos=-1,
        )

    def nominal_dates(self, start: date, end: date) -> list[date]:
        """The pattern's dates in ``[start, end)``."""
        if end <= start:
            return []
        lower = datetime.combine(start, time())
        upper = datetime.combine(end, time())
        found = self._dateutil().between(lower, upper, inc=True)
        return [moment.date() for moment in found if moment.date() < end]

    def nominal_after(self, day: date) -> date | None:
        """The first nominal date strictly after ``day``."""
        if day == date.max:
            return None
        found = self._dateutil().after(datetime.combine(day, time()), inc=False)
        return None if found is None else found.date()

    def nominal_before(self, day: date) -> date | None:
        """The last nominal date strictly before ``day``."""
        found = self._dateutil().before(datetime.combine(day, time()), inc=False)
        return None if found is None else found.date()

    def times_on(self, day: date) -> tuple[datetime, datetime]:
        """The session's start and end on ``day``, aware, in the rule's zone."""
        start = local_datetime(day, self.start_time, self.zone)
        return start, add_elapsed(start, self.duration)


_DATEUTIL_DAYS = (
    _rrule.MO,
    _rrule.TU,
    _rrule.WE,
    _rrule.TH,
    _rrule.FR,
    _rrule.SA,
    _rrule.SU,
)


def _parse_pattern(text: str) -> Pattern:
    if not isinstance(text, str):
        raise InvalidRecurrence("an RRULE must be text")
    parts: dict[str, str] = {}
    for item in text.strip().removeprefix("RRULE:").split(";"):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not key or key in parts:
            raise InvalidRecurrence(f"malformed RRULE: {text!r}")
        parts[key] = value.strip().upper()
    freq = parts.pop("FREQ", None)
    byday = parts.pop("BYDAY", None)
    bymonthday = parts.pop("BYMONTHDAY", None)
    bysetpos = parts.pop("BYSETPOS", None)
    if parts:
        raise InvalidRecurrence(f"unsupported RRULE parts {sorted(parts)} in {text!r}")
    if freq == "WEEKLY" and byday and bymonthday is None and bysetpos is None:
        return Weekly(weekday=Weekday.from_code(byday))
    if freq == "MONTHLY" and byday and bymonthday is None and bysetpos is None:
        number, code = byday[:-2], byday[-2:]
        return MonthlyByWeekday(weekday=Weekday.from_code(code), n=_integer(number, text))
    if freq == "MONTHLY" and bymonthday and byday is None:
        days = [_integer(d, text) for d in bymonthday.split(",")]
        if bysetpos is None and len(days) == 1 and days[0] < _CLAMPED_DAY_FROM:
            return MonthlyByDay(day=days[0])
        if bysetpos == "-1" and len(days) > 1 and days == list(range(28, days[-1] + 1)):
            return MonthlyByDay(day=days[-1])
    raise InvalidRecurrence(f"unsupported RRULE: {text!r}")


def _integer(value: str, text: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidRecurrence(f"malformed number {value!r} in RRULE {text!r}") from None
