from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.bookings import Overlap, RoomBooking, ensure_no_overlaps, find_overlaps
from scheduling.errors import InvalidSession, NaiveDatetime, RoomOverlap
from tests.scheduling.helpers import BERLIN, sh


def booking(session: str, room: str | int, start: datetime, hours: float = 1) -> RoomBooking:
    return RoomBooking(session=session, room=room, start=start, end=start + timedelta(hours=hours))


LEGAL = booking("legal-2026-10-08", "street-hall", sh(2026, 10, 8, 15))
DUTY = booking("duty-2026-10-08", "street-hall", sh(2026, 10, 8, 15, 30))
ELSEWHERE = booking("duty-elsewhere", "village-1", sh(2026, 10, 8, 15))


def test_overlapping_sessions_in_the_same_room() -> None:
    assert find_overlaps([DUTY, ELSEWHERE, LEGAL]) == [
        Overlap(room="street-hall", first=LEGAL, second=DUTY)
    ]
    [overlap] = find_overlaps([LEGAL, DUTY])
    assert (overlap.start, overlap.end) == (sh(2026, 10, 8, 15, 30), sh(2026, 10, 8, 16))


def test_back_to_back_sessions_do_not_overlap() -> None:
    after = booking("next", "street-hall", sh(2026, 10, 8, 16))
    assert find_overlaps([LEGAL, after, ELSEWHERE]) == []
    ensure_no_overlaps([LEGAL, after, ELSEWHERE])


def test_a_long_session_overlaps_every_short_one_it_covers() -> None:
    day = booking("all-day", 1, sh(2026, 10, 8, 9), hours=8)
    morning = booking("morning", 1, sh(2026, 10, 8, 9))
    afternoon = booking("afternoon", 1, sh(2026, 10, 8, 14))
    other_room = booking("other", "1", sh(2026, 10, 8, 9))  # room "1" is not room 1
    assert find_overlaps([afternoon, other_room, morning, day]) == [
        Overlap(room=1, first=morning, second=day),
        Overlap(room=1, first=day, second=afternoon),
    ]


def test_overlap_found_across_time_zones() -> None:
    shanghai = booking("a", "hall", sh(2026, 10, 8, 15))  # 07:00 UTC
    berlin = booking("b", "hall", datetime(2026, 10, 8, 9, 30, tzinfo=BERLIN))  # 07:30 UTC
    assert find_overlaps([shanghai, berlin]) == [
        Overlap(room="hall", first=shanghai, second=berlin)
    ]


def test_ensure_no_overlaps_raises_with_every_pair() -> None:
    with pytest.raises(RoomOverlap, match="legal-2026-10-08") as caught:
        ensure_no_overlaps([LEGAL, DUTY, ELSEWHERE])
    assert caught.value.overlaps == (Overlap(room="street-hall", first=LEGAL, second=DUTY),)
    assert caught.value.code == "room-overlap"


def test_bookings_validate_themselves() -> None:
    with pytest.raises(InvalidSession, match="end after it starts"):
        booking("x", "hall", sh(2026, 10, 8, 15), hours=0)
    with pytest.raises(InvalidSession, match="string or an integer"):
        booking("x", True, sh(2026, 10, 8, 15))
    with pytest.raises(NaiveDatetime):
        RoomBooking(
            session="x", room="hall", start=datetime(2026, 10, 8, 15), end=sh(2026, 10, 8, 16)
        )
    with pytest.raises(InvalidSession):
        RoomBooking(
            session="x",
            room="hall",
            start=datetime(2026, 10, 8, 8, tzinfo=UTC),
            end=sh(2026, 10, 8, 16),  # 08:00 UTC: the same instant
        )
