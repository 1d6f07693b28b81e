"""Errors of the time package.

Every error carries a stable machine ``code`` and an English ``message`` that
is safe to show; the server maps them onto its own domain errors. All of them
mean "the input describes a time arrangement that cannot exist", so the
server treats them as the caller's fault (a validation failure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scheduling.bookings import Overlap


class SchedulingError(Exception):
    """Base of every error raised by ``scheduling``; never raised directly."""

    default_code = "scheduling-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class NaiveDatetime(SchedulingError):
    """A datetime without a time zone was given where an instant is needed."""

    default_code = "naive-datetime"


class DateOutOfRange(SchedulingError):
    """Date arithmetic would leave the years 1-9999 that ``datetime`` supports."""

    default_code = "date-out-of-range"


class InvalidDayEntry(SchedulingError):
    """An administrator's holiday or working-day entry is malformed or duplicated."""

    default_code = "invalid-day-entry"


class UnknownYear(SchedulingError):
    """A year outside 1-9999 was asked about."""

    default_code = "unknown-year"


class InvalidRecurrence(SchedulingError):
    """A recurrence rule that cannot produce sessions (bad weekday, tz, duration...)."""

    default_code = "invalid-recurrence"


class EmptyRotation(SchedulingError):
    """A rotation without any (active) unit to take a session."""

    default_code = "empty-rotation"


class InvalidRotation(SchedulingError):
    """A rotation whose units, pointer, overrides or swaps contradict each other."""

    default_code = "invalid-rotation"


class InvalidSession(SchedulingError):
    """A planned session or room booking with impossible times."""

    default_code = "invalid-session"


class RoomOverlap(SchedulingError):
    """Sessions booked into the same room at the same time; ``overlaps`` lists every pair."""

    default_code = "room-overlap"

    def __init__(self, message: str, *, overlaps: tuple[Overlap, ...]) -> None:
        super().__init__(message)
        self.overlaps = overlaps


class InvalidWorkdayCount(SchedulingError):
    """A number of working days that is negative or not an integer."""

    default_code = "invalid-workday-count"


class InvalidFeedEvent(SchedulingError):
    """A calendar feed event that cannot be written as RFC 5545."""

    default_code = "invalid-feed-event"


class InvalidJob(SchedulingError):
    """A job specification or callable reference the scheduler cannot run."""

    default_code = "invalid-job"
