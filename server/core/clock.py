"""The one source of 'now' for domain code, so tests can pass a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_WEEKDAYS = "一二三四五六日"


def day_label(day: date) -> str:
    """A day as Chinese notices write it: 12月3日（周四）.

    Texts built in the domain (inbox and group-robot notices, labels) are Chinese first,
    like the street that reads them; pages format dates themselves (`web.render`), and
    exports keep ISO for the machines that read them.
    """
    return f"{day.month}月{day.day}日（周{_WEEKDAYS[day.weekday()]}）"


def moment_label(local: datetime) -> str:
    """A wall-clock moment as Chinese notices write it: 12月3日（周四）09:30."""
    return f"{day_label(local.date())}{local:%H:%M}"
