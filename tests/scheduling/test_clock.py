from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from scheduling.clock import (
    SHANGHAI,
    add_elapsed,
    fixed_clock,
    local_datetime,
    require_aware,
    system_clock,
    utc,
    zone,
)
from scheduling.errors import DateOutOfRange, NaiveDatetime, SchedulingError
from tests.scheduling.helpers import BERLIN


def test_fixed_clock_always_answers_the_same_instant() -> None:
    instant = datetime(2026, 9, 14, tzinfo=UTC)
    clock = fixed_clock(instant)
    assert (clock(), clock()) == (instant, instant)
    with pytest.raises(NaiveDatetime):
        fixed_clock(datetime(2026, 9, 14))


def test_system_clock_is_aware() -> None:
    assert system_clock().tzinfo is UTC


def test_require_aware() -> None:
    aware = datetime(2026, 9, 14, tzinfo=timezone(timedelta(hours=8)))
    assert require_aware(aware, "x") is aware
    with pytest.raises(NaiveDatetime, match="x must carry a time zone") as caught:
        require_aware(datetime(2026, 9, 14), "x")
    assert isinstance(caught.value, SchedulingError)
    assert caught.value.code == "naive-datetime"
    with pytest.raises(TypeError):
        require_aware(date(2026, 9, 14), "x")  # type: ignore[arg-type]


def test_zone() -> None:
    assert zone("Asia/Shanghai") == SHANGHAI
    for bad in ("", " Asia/Shanghai", "Asia/Beijing", "/etc/passwd"):
        with pytest.raises(LookupError):
            zone(bad)


def test_utc_compares_ambiguous_times_correctly() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert first == second  # Python: same zone, same wall clock
    assert utc(first) != utc(second)
    assert utc(second) - utc(first) == timedelta(hours=1)


def test_local_datetime_and_elapsed_arithmetic() -> None:
    gap = local_datetime(date(2026, 3, 29), time(2, 30), BERLIN)
    assert utc(gap) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    fold = local_datetime(date(2026, 10, 25), time(2, 30, fold=1), BERLIN)
    assert fold.fold == 0  # always the first of two
    day_later = add_elapsed(datetime(2026, 3, 28, 12, tzinfo=BERLIN), timedelta(hours=24))
    assert (day_later.day, day_later.hour) == (29, 13)


def test_arithmetic_at_the_edges_of_time() -> None:
    with pytest.raises(DateOutOfRange):
        local_datetime(date.min, time(0), SHANGHAI)
    with pytest.raises(DateOutOfRange):
        add_elapsed(datetime(9999, 12, 31, 23, tzinfo=UTC), timedelta(hours=2))
