"""A programme's recurrence in words ("每周四 9:30"), for people rather than RRULE parsers.

Word order differs too much between Chinese and English for one msgid template per
pattern to read well, so each locale has its own small phrasing here; anything that is
not Chinese reads in English.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from scheduling.errors import SchedulingError
from scheduling.recurrence import (
    MonthlyByDay,
    MonthlyByWeekday,
    Pattern,
    RecurrenceRule,
    Weekday,
    Weekly,
)

_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                "Sunday")
_ZH_NTH = {1: "第一个", 2: "第二个", 3: "第三个", 4: "第四个", -1: "最后一个"}
_EN_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


def clock_time(at: time) -> str:
    """09:30, 14:00: the same HH:MM as every time on the pages."""
    return f"{at:%H:%M}"


def weekday_name(weekday: Weekday, locale: str) -> str:
    return (_ZH_WEEKDAYS if locale.startswith("zh") else _EN_WEEKDAYS)[weekday]


def pattern_words(pattern: Pattern, start: time, locale: str) -> str:
    """每周四 09:30 / 每月第一个周三 14:00 / 每月15日 09:30, or the English equivalents."""
    at = clock_time(start)
    if locale.startswith("zh"):
        if isinstance(pattern, Weekly):
            return f"每{_ZH_WEEKDAYS[pattern.weekday]} {at}"
        if isinstance(pattern, MonthlyByWeekday):
            return f"每月{_ZH_NTH[pattern.n]}{_ZH_WEEKDAYS[pattern.weekday]} {at}"
        return f"每月{pattern.day}日 {at}"
    if isinstance(pattern, Weekly):
        return f"Every {_EN_WEEKDAYS[pattern.weekday]} at {at}"
    if isinstance(pattern, MonthlyByWeekday):
        return (f"The {_EN_NTH[pattern.n]} {_EN_WEEKDAYS[pattern.weekday]} "
                f"of every month at {at}")
    assert isinstance(pattern, MonthlyByDay)
    return f"Day {pattern.day} of every month at {at}"


def rrule_words(rrule: str, start: time, locale: str) -> str:
    """The stored RRULE text in words; a rule this app never writes stays as it is."""
    try:
        pattern = RecurrenceRule.from_rrule(rrule, start_date=date(2000, 1, 1),
                                            start_time=start,
                                            duration=timedelta(hours=1)).pattern
    except SchedulingError:
        return f"{rrule} {clock_time(start)}"
    return pattern_words(pattern, start, locale)
