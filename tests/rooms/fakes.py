"""Test doubles for the room's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rooms.events import RoomEvent
from rooms.identity import ParticipantIdentity
from rooms.protocol import notices as nt

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


class StepClock:
    """Each reading is one second after the previous one: orders are unambiguous."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class RecordingOutbox:
    def __init__(self) -> None:
        self.notices: list[nt.Notice] = []
        self.closed = False

    def send(self, notice: nt.Notice) -> None:
        self.notices.append(notice)

    def close(self) -> None:
        self.closed = True

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [n.to_dict() for n in self.notices if n.type == kind]

    def last(self, kind: str) -> dict[str, Any]:
        found = self.of_type(kind)
        assert found, f"no {kind} notice among {[n.type for n in self.notices]}"
        return found[-1]


class RecordingHooks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.events: list[RoomEvent] = []

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self.calls.append(("join", room_id, identity.key))

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self.calls.append(("leave", room_id, identity.key))

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        self.calls.append(("event", room_id, event.kind))
        self.events.append(event)
