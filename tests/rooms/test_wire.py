"""What a room's worker and the web process say to each other (rooms.workers.wire)."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rooms import events as ev
from rooms.errors import NotAuthorisedError, UnknownRoom, UserError
from rooms.identity import ParticipantIdentity, Role
from rooms.stats import RegistryStats
from rooms.workers import wire

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def every_event_class() -> list[type[ev.RoomEvent]]:
    """The event classes as rooms.events names them (new ones are found by themselves)."""
    return [cls for cls in vars(ev).values()
            if isinstance(cls, type) and issubclass(cls, ev.RoomEvent) and cls is not ev.RoomEvent]


def sample(cls: type[ev.RoomEvent]) -> ev.RoomEvent:
    """An instance with a value of its declared type in every field."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = str(f.type)
        if f.name == "at" or "datetime" in kind:
            values[f.name] = AT
        elif "tuple" in kind:
            values[f.name] = (f"{f.name}-1", f"{f.name}-2")
        elif "bool" in kind:
            values[f.name] = True
        elif "float" in kind:
            values[f.name] = 1.5
        elif "dict" in kind:
            values[f.name] = {"question": 12, "nested": [1, "two"]}
        elif "int" in kind:
            values[f.name] = 3
        else:
            values[f.name] = f"{f.name}-value"
    return cls(**values)


@pytest.mark.parametrize("cls", every_event_class(), ids=lambda c: c.kind)
def test_every_room_event_crosses_by_its_kind_and_fields(cls: type[ev.RoomEvent]) -> None:
    event = sample(cls)
    assert wire.event_from_wire(wire.event_to_wire(event)) == event


@pytest.mark.parametrize(("data", "error"), [
    ({"kind": "no-such-kind", "at": AT.isoformat()}, "unknown event kind"),
    ({"kind": "hand_raised", "at": "yesterday", "participant_id": "a"}, "not a hand_raised"),
    ({"kind": "hand_raised", "at": AT.isoformat()}, "not a hand_raised"),
    ({"kind": "hand_raised", "at": AT.isoformat(), "participant_id": "a", "x": 1},
     "not a hand_raised"),
    (["hand_raised"], "an event is an object"),
])
def test_an_event_that_does_not_parse_is_a_wire_error(data: Any, error: str) -> None:
    with pytest.raises(wire.WireError, match=error):
        wire.event_from_wire(data)


def test_identities_errors_and_results_cross() -> None:
    identity = ParticipantIdentity(key="site:3", display_name="东坡村", role=Role.SITE,
                                   tags=frozenset({"b", "a"}))
    assert wire.identity_from_wire(wire.identity_to_wire(identity)) == identity
    with pytest.raises(wire.WireError, match="not a participant identity"):
        wire.identity_from_wire({"key": "x", "display_name": "X", "role": "emperor", "tags": []})
    for error in (UserError("no", code="not-recording"), UnknownRoom("gone"),
                  NotAuthorisedError("hosts only")):
        back = wire.error_from_wire(wire.error_to_wire(error))
        assert (type(back), back.code, back.message) == (type(error), error.code, error.message)
    with pytest.raises(wire.WireError):
        wire.error_from_wire({"class": "UserError"})
    result = {"path": Path("/r/a.webm"), "at": AT, "role": Role.HOST, "live": object()}
    assert wire.to_wire(result) == {"path": "/r/a.webm", "at": AT.isoformat(), "role": "host",
                                    "live": None}
    stats = RegistryStats(rooms=0, participants=0, hook_calls_dropped=0, cpu_load=0.5,
                          refused={"room-busy": 2}, per_room=(), workers=1)
    assert wire.stats_from_wire(wire.to_wire(stats)) == stats
    with pytest.raises(wire.WireError, match="not registry stats"):
        wire.stats_from_wire({"rooms": 1})


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_frames_are_length_prefixed_json_objects_and_anything_else_is_refused() -> None:
    good = wire.frame({"t": "ready", "pid": 7}) + wire.frame({"t": "bye"})
    reader = reader_of(good)
    assert await wire.read_message(reader) == {"t": "ready", "pid": 7}
    assert await wire.read_message(reader) == {"t": "bye"}
    assert await wire.read_message(reader) is None  # a clean end
    bad = {
        "not JSON": wire.pack(b"not json"),
        "not an object with a string 't'": wire.pack(b'{"type": "ready"}'),
        "inside a frame header": b"\x00\x00",
        "inside a frame": struct.pack(">I", 10) + b"{}",
        "is over": struct.pack(">I", wire.MAX_FRAME + 1),
    }
    for error, data in bad.items():
        with pytest.raises(wire.WireError, match=error):
            await wire.read_message(reader_of(data))
    with pytest.raises(wire.WireError, match="no valid 'ch'"):
        wire.field({"t": "text", "ch": "1"}, "ch", int)
    with pytest.raises(wire.WireError, match="no valid 'ch'"):
        wire.field({"t": "text", "ch": True}, "ch", int)
