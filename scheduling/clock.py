"""Where ``scheduling`` gets "now" from, and the checks every instant goes through.

Pure functions take ``now: datetime`` as a value; functions that orchestrate
(the planner, job scheduling) take a ``Clock`` so tests pass a fixed one.
Every instant must be time-zone aware: a naive datetime is rejected with
``NaiveDatetime`` rather than guessed at. Instants are compared in UTC
(``utc``), never in a local zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduling.errors import DateOutOfRange, NaiveDatetime

Clock = Callable[[], datetime]

DEFAULT_TIMEZONE = "Asia/Shanghai"
"""The zone every street office lives in; rules and deadlines default to it."""

SHANGHAI = ZoneInfo(DEFAULT_TIMEZONE)


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """A clock that always answers ``instant`` (for tests and replays)."""
    require_aware(instant, "instant")
    return lambda: instant


def require_aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(f"{what} must carry a time zone: {value.isoformat()}")
    return value


def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; raises ``LookupError`` for an unknown one."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise LookupError(f"not an IANA time zone name: {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LookupError(f"unknown IANA time zone: {name!r}") from exc


def utc(value: datetime) -> datetime:
    """The same instant in UTC: the only safe form to compare instants in.

    Python compares two datetimes of one zone by wall clock, ignoring
    ``fold`` (so the two 02:30s of a fall-back night compare equal), and
    calls an ambiguous time unequal to everything in another zone (PEP 495).
    Every comparison of instants in ``scheduling`` goes through UTC.
    """
    return value.astimezone(UTC)


def local_datetime(day: date, at: time, tz: tzinfo) -> datetime:
    """``day`` at wall-clock ``at`` in ``tz``, normalised to a real instant.

    Follows RFC 5545 (3.3.5): a wall time that falls in a DST gap is read with
    the offset before the gap, so it lands *later* by the gap's length
    (02:30 on a spring-forward night in Berlin becomes 03:30 CEST); a wall
    time that happens twice is the *first* of the two (fold=0).
    """
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    try:
        return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    except OverflowError:
        raise DateOutOfRange(f"{naive.isoformat()} in {tz} is outside years 1-9999") from None


def add_elapsed(instant: datetime, delta: timedelta) -> datetime:
    """``instant`` plus an elapsed ``delta``, kept in the instant's zone.

    Python adds a timedelta to an aware datetime on the wall clock; across a
    DST change that is not the elapsed time, so go through UTC.
    """
    try:
        return (instant.astimezone(UTC) + delta).astimezone(instant.tzinfo)
    except OverflowError:
        raise DateOutOfRange(f"{instant.isoformat()} + {delta} is outside years 1-9999") from None
