"""Room bookings: sessions of any programme that use the same meeting room.

Times are half-open ``[start, end)``: a session ending at 10:00 and one
starting at 10:00 in the same room do not overlap. Pass only sessions that
will take place (not skipped or cancelled ones). ``find_overlaps`` lists
every overlapping pair, not just neighbours, so a long session that covers
two short ones yields two pairs.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from scheduling.clock import require_aware, utc
from scheduling.errors import InvalidSession, RoomOverlap


@dataclass(frozen=True, kw_only=True)
class RoomBooking:
    session: Hashable
    """The caller's session key (id, or (programme, nominal date))."""
    room: str | int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if utc(self.end) <= utc(self.start):
            raise InvalidSession(f"booking {self.session!r} must end after it starts")
        if isinstance(self.room, bool) or not isinstance(self.room, str | int):
            raise InvalidSession(f"a room is named by a string or an integer, not {self.room!r}")


@dataclass(frozen=True, kw_only=True)
class Overlap:
    """Two bookings of one room at once; ``first`` starts no later than ``second``."""

    room: str | int
    first: RoomBooking
    second: RoomBooking

    @property
    def start(self) -> datetime:
        return max(self.first.start, self.second.start)

    @property
    def end(self) -> datetime:
        return min(self.first.end, self.second.end)


def find_overlaps(bookings: Iterable[RoomBooking]) -> list[Overlap]:
    """Every pair of bookings that share a room and a moment, ordered by room and time."""
    found: list[Overlap] = []
    ordered = sorted(bookings, key=lambda b: (_room_key(b.room), utc(b.start), utc(b.end)))
    for _, group in groupby(ordered, key=lambda b: _room_key(b.room)):
        running: list[RoomBooking] = []
        for booking in group:
            running = [other for other in running if utc(other.end) > utc(booking.start)]
            found.extend(
                Overlap(room=booking.room, first=other, second=booking) for other in running
            )
            running.append(booking)
    return found


def ensure_no_overlaps(bookings: Iterable[RoomBooking]) -> None:
    overlaps = find_overlaps(bookings)
    if overlaps:
        pairs = "; ".join(
            f"room {o.room}: {o.first.session!r} and {o.second.session!r} "
            f"from {o.start.isoformat()} to {o.end.isoformat()}"
            for o in overlaps
        )
        raise RoomOverlap(f"sessions overlap in the same room: {pairs}", overlaps=tuple(overlaps))


def _room_key(room: str | int) -> tuple[str, str]:
    """Sortable across str and int rooms; 1 and "1" stay different rooms."""
    return (type(room).__name__, str(room) if isinstance(room, str) else f"{room:020d}")
