"""What the web process and a room's worker say to each other, and how it is framed.

One Unix stream socket per worker carries everything, in order: remote calls
to the registry's entry points and their results, the room's hook calls, the
stats, and every participant's WebSocket frames (multiplexed by channel
number). Each frame is a 4-byte big-endian length and a JSON object whose
``t`` says what it is. The first frame from the web process is the worker's
:class:`WorkerSpec`, pickled: the child trusts its parent; nothing a worker
sends is ever unpickled, and anything it sends that does not parse is a
:class:`WireError` that ends that worker (never the web process).

Values cross generically, so that new protocol messages, events and entry
points need no change here: WebSocket text frames travel as they are,
:class:`~rooms.events.RoomEvent` subclasses by their ``kind`` and dataclass
fields, and entry points by name (:data:`ENTRY_POINTS`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import struct
import sys
import types
import typing
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rooms.config import RoomConfig
from rooms.errors import NotAuthorisedError, ProtocolError, RoomError, UnknownRoom, UserError
from rooms.events import RoomEvent
from rooms.identity import ParticipantIdentity, Role
from rooms.stats import RegistryStats, RoomStats

MAX_FRAME = 16 * 1024 * 1024  # a stats frame of many rooms, a big SDP: far below this
_LENGTH = struct.Struct(">I")

# The RoomRegistry methods a web process may call in a worker, by name; each takes
# the room id first. A new entry point: add the method to RoomRegistry and its name
# here; the web process calls it with ProcessRoomRegistry.call (or a typed wrapper).
ENTRY_POINTS = frozenset({
    "set_spotlight",
    "add_marker",
    "start_recording",
    "stop_recording",
    "close_room",
    "state_json",
    "present",
})

# Errors a remote call may raise, rebuilt in the web process by class name.
_ERRORS: dict[str, type[RoomError]] = {
    cls.__name__: cls
    for cls in (RoomError, ProtocolError, NotAuthorisedError, UserError, UnknownRoom)
}


class WireError(Exception):
    """A frame that breaks this protocol: the peer that sent it is not to be trusted."""


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class WorkerSpec:
    """Everything a worker needs to run its one room."""

    room_id: str
    config: RoomConfig
    media_ports: tuple[int, int] | None = None  # UDP ports for ICE host candidates
    host_addresses: tuple[str, ...] = ()  # ICE host candidates on these only; () all
    clock_offset_s: float = 0.0  # the web process's clock minus UTC now
    restore: dict[str, Any] | None = None  # RoomState.to_json(): the room moved here


# -- framing -------------------------------------------------------------------------


def pack(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME:
        raise WireError(f"frame of {len(payload)} bytes is over {MAX_FRAME}")
    return _LENGTH.pack(len(payload)) + payload


def frame(message: dict[str, Any]) -> bytes:
    return pack(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())


async def read_payload(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's bytes; ``None`` at a clean end of stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise WireError("stream ended inside a frame header") from None
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes is over {MAX_FRAME}")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise WireError("stream ended inside a frame") from None


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next frame as a JSON object with a string ``t``; ``None`` at end of stream."""
    payload = await read_payload(reader)
    if payload is None:
        return None
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise WireError("frame is not an object with a string 't'")
    return message


def field(message: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``message[name]``, which must be of ``kind``."""
    value = message.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise WireError(f"{message.get('t')!r} frame has no valid {name!r}")
    return value


# -- values ----------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A JSON form of a result: dataclasses by field, paths and times as text; others None."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return to_wire(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, RoomEvent):
        return event_to_wire(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(v) for v in value]
    return None  # a live object (a Recorder): nothing the other process could use


def identity_to_wire(identity: ParticipantIdentity) -> dict[str, Any]:
    return {"key": identity.key, "display_name": identity.display_name,
            "role": identity.role.value, "tags": sorted(identity.tags)}


def identity_from_wire(data: Any) -> ParticipantIdentity:
    try:
        return ParticipantIdentity(
            key=data["key"], display_name=data["display_name"], role=Role(data["role"]),
            tags=frozenset(str(t) for t in data["tags"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise WireError(f"not a participant identity: {exc}") from None


def event_to_wire(event: RoomEvent) -> dict[str, Any]:
    return event.to_dict()


def _event_classes() -> dict[str, type[RoomEvent]]:
    """Every RoomEvent subclass by kind; only the class its module names (a slotted
    dataclass leaves the class it replaced among the subclasses for a while)."""
    found: dict[str, type[RoomEvent]] = {}
    pending: list[type[RoomEvent]] = [RoomEvent]
    while pending:
        cls = pending.pop()
        if getattr(sys.modules.get(cls.__module__), cls.__qualname__, None) is cls:
            found[cls.kind] = cls
        pending.extend(cls.__subclasses__())
    return found


def event_from_wire(data: Any) -> RoomEvent:
    """A :class:`RoomEvent` from its ``to_dict`` form, by kind (subclasses found at call)."""
    if not isinstance(data, dict):
        raise WireError("an event is an object")
    values = dict(data)
    cls = _event_classes().get(values.pop("kind", None))
    if cls is None:
        raise WireError(f"unknown event kind {data.get('kind')!r}")
    try:
        for name, hint in _field_types(cls).items():
            value = values.get(name)
            if isinstance(value, str) and _holds(hint, datetime):
                values[name] = datetime.fromisoformat(value)
            elif isinstance(value, list) and _holds(hint, tuple):
                values[name] = tuple(value)
        return cls(**values)
    except (TypeError, KeyError, ValueError) as exc:
        raise WireError(f"not a {cls.kind} event: {exc}") from None


_FIELD_TYPES: dict[str, dict[str, Any]] = {}


def _field_types(cls: type[RoomEvent]) -> dict[str, Any]:
    """The event's fields and their types (timestamps and tuples travel as JSON strings and
    lists, and are rebuilt by these)."""
    found = _FIELD_TYPES.get(cls.kind)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELD_TYPES[cls.kind] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return found


def _holds(hint: Any, kind: type) -> bool:
    """Whether ``hint`` is ``kind``, a generic of it, or a union with one."""
    if hint is kind or typing.get_origin(hint) is kind:
        return True
    return any(_holds(arg, kind) for arg in typing.get_args(hint)
               if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union)


def stats_from_wire(data: Any) -> RegistryStats:
    try:
        per_room = tuple(RoomStats(**room) for room in data["per_room"])
        values = {k: v for k, v in data.items() if k != "per_room"}
        return RegistryStats(**values, per_room=per_room)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise WireError(f"not registry stats: {exc}") from None


def error_to_wire(error: RoomError) -> dict[str, Any]:
    name = type(error).__name__ if type(error).__name__ in _ERRORS else "RoomError"
    return {"class": name, "code": error.code, "message": error.message}


def error_from_wire(data: Any) -> RoomError:
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("class", "code", "message")
    ):
        raise WireError("not an error")
    return _ERRORS.get(data["class"], RoomError)(data["message"], code=data["code"])
