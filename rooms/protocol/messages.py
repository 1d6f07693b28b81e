"""Client-to-server signalling messages: a closed set, parsed at the edge.

A message is a JSON object whose ``type`` names one of the classes below and
whose other members are exactly that class's fields. Anything else is a
:class:`~rooms.errors.ProtocolError` with a message that says what was wrong.
See ``docs/protocol.md``.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from rooms.errors import ProtocolError

MAX_MESSAGE_CHARS = 64 * 1024
MAX_ID_CHARS = 128
MAX_SDP_CHARS = 60 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientMessage:
    type: ClassVar[str]


def _check_id(value: str | None, name: str = "participant_id") -> None:
    if value is not None and not 0 < len(value) <= MAX_ID_CHARS:
        raise ProtocolError(f"{name} must be 1-{MAX_ID_CHARS} characters")


def _check_sdp(sdp: str) -> None:
    if not sdp.startswith("v=0"):
        raise ProtocolError("sdp must be a session description starting with v=0")
    if len(sdp) > MAX_SDP_CHARS:
        raise ProtocolError(f"sdp longer than {MAX_SDP_CHARS} characters")


@dataclass(frozen=True, kw_only=True, slots=True)
class Join(ClientMessage):
    type: ClassVar[str] = "join"


@dataclass(frozen=True, kw_only=True, slots=True)
class Offer(ClientMessage):
    type: ClassVar[str] = "offer"
    sdp: str

    def __post_init__(self) -> None:
        _check_sdp(self.sdp)


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer(ClientMessage):
    type: ClassVar[str] = "answer"
    sdp: str

    def __post_init__(self) -> None:
        _check_sdp(self.sdp)


@dataclass(frozen=True, kw_only=True, slots=True)
class Ice(ClientMessage):
    """A trickled ICE candidate; an empty ``candidate`` ends the candidates."""

    type: ClassVar[str] = "ice"
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None

    def __post_init__(self) -> None:
        if len(self.candidate) > 1024:
            raise ProtocolError("candidate longer than 1024 characters")
        _check_id(self.sdp_mid, "sdp_mid")
        if self.sdp_mline_index is not None and not 0 <= self.sdp_mline_index < 64:
            raise ProtocolError("sdp_mline_index must be between 0 and 63")


@dataclass(frozen=True, kw_only=True, slots=True)
class Leave(ClientMessage):
    type: ClassVar[str] = "leave"


@dataclass(frozen=True, kw_only=True, slots=True)
class RaiseHand(ClientMessage):
    type: ClassVar[str] = "raise_hand"


@dataclass(frozen=True, kw_only=True, slots=True)
class _Targeted(ClientMessage):
    """A message about a participant; ``None`` means the sender, where allowed."""

    participant_id: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.participant_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Required(ClientMessage):
    participant_id: str

    def __post_init__(self) -> None:
        _check_id(self.participant_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class LowerHand(_Targeted):
    type: ClassVar[str] = "lower_hand"


@dataclass(frozen=True, kw_only=True, slots=True)
class Mute(_Targeted):
    type: ClassVar[str] = "mute"


@dataclass(frozen=True, kw_only=True, slots=True)
class Unmute(_Targeted):
    type: ClassVar[str] = "unmute"


@dataclass(frozen=True, kw_only=True, slots=True)
class GiveFloor(_Targeted):
    """``participant_id`` omitted: the earliest raised hand."""

    type: ClassVar[str] = "give_floor"


@dataclass(frozen=True, kw_only=True, slots=True)
class Camera(ClientMessage):
    type: ClassVar[str] = "camera"
    on: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Spotlight(_Required):
    type: ClassVar[str] = "spotlight"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClearSpotlight(ClientMessage):
    type: ClassVar[str] = "clear_spotlight"


@dataclass(frozen=True, kw_only=True, slots=True)
class Remove(_Required):
    type: ClassVar[str] = "remove"


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock(ClientMessage):
    type: ClassVar[str] = "lock"


@dataclass(frozen=True, kw_only=True, slots=True)
class Unlock(ClientMessage):
    type: ClassVar[str] = "unlock"


@dataclass(frozen=True, kw_only=True, slots=True)
class Admit(_Required):
    type: ClassVar[str] = "admit"


@dataclass(frozen=True, kw_only=True, slots=True)
class AdmitNext(ClientMessage):
    type: ClassVar[str] = "admit_next"


@dataclass(frozen=True, kw_only=True, slots=True)
class SetWaitingRoom(ClientMessage):
    type: ClassVar[str] = "set_waiting_room"
    enabled: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class StartRecording(ClientMessage):
    type: ClassVar[str] = "start_recording"


@dataclass(frozen=True, kw_only=True, slots=True)
class StopRecording(ClientMessage):
    type: ClassVar[str] = "stop_recording"


@dataclass(frozen=True, kw_only=True, slots=True)
class AudioOnly(ClientMessage):
    """Stop receiving the wall (``enabled``) to save bandwidth, or take it back."""

    type: ClassVar[str] = "audio_only"
    enabled: bool


# -- chat (rooms.chat) ---------------------------------------------------------------------

CHAT_AUDIENCES = ("all", "hosts")
MAX_CHAT_RAW_CHARS = 2000  # before normalisation; rooms.chat counts the limit after it


@dataclass(frozen=True, kw_only=True, slots=True)
class Chat(ClientMessage):
    """A text message to everyone (``all``) or to the hosts only (``hosts``)."""

    type: ClassVar[str] = "chat"
    text: str
    to: str = "all"

    def __post_init__(self) -> None:
        if self.to not in CHAT_AUDIENCES:
            raise ProtocolError('chat: field to must be "all" or "hosts"')
        if len(self.text) > MAX_CHAT_RAW_CHARS:
            raise ProtocolError(f"chat: text longer than {MAX_CHAT_RAW_CHARS} characters",
                                code="chat-too-long")


@dataclass(frozen=True, kw_only=True, slots=True)
class DeleteChat(ClientMessage):
    type: ClassVar[str] = "delete_chat"
    id: str

    def __post_init__(self) -> None:
        _check_id(self.id, "id")


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentPage(ClientMessage):
    """Show page ``page`` (from 1) of the document on the wall."""

    type: ClassVar[str] = "document_page"
    page: int


@dataclass(frozen=True, kw_only=True, slots=True)
class StopPresentation(ClientMessage):
    """Take the document or shared screen off the wall."""

    type: ClassVar[str] = "stop_presentation"


@dataclass(frozen=True, kw_only=True, slots=True)
class ShareScreen(ClientMessage):
    """First message of a second connection that carries the sender's screen (see docs)."""

    type: ClassVar[str] = "share_screen"


MESSAGE_TYPES: dict[str, type[ClientMessage]] = {
    cls.type: cls
    for cls in (
        Join, Offer, Answer, Ice, Leave, RaiseHand, LowerHand, Mute, Unmute, Camera,
        Spotlight, ClearSpotlight, GiveFloor, Remove, Lock, Unlock, Admit, AdmitNext,
        SetWaitingRoom, StartRecording, StopRecording, AudioOnly, Chat, DeleteChat,
        DocumentPage, StopPresentation, ShareScreen,
    )
}

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean"}


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether ``value`` from JSON matches a field annotation (bool is no int)."""
    if isinstance(annotation, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    return type(value) is annotation


def _describe(annotation: Any) -> str:
    if isinstance(annotation, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(annotation))
    return "null" if annotation is type(None) else _TYPE_NAMES.get(annotation, str(annotation))


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse one WebSocket text frame, or raise :class:`ProtocolError`."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError(f"message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"message is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("message must be a JSON object")
    kind = data.pop("type", None)
    if not isinstance(kind, str):
        raise ProtocolError('message must have a string "type"')
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown message type {kind!r}")
    hints = typing.get_type_hints(cls)
    declared = {f.name: f for f in fields(cls)}
    extra = sorted(set(data) - set(declared))
    if extra:
        raise ProtocolError(f"{kind}: unexpected field(s) {', '.join(extra)}")
    for name, field in declared.items():
        if name not in data:
            if field.default is MISSING:
                raise ProtocolError(f"{kind}: missing field {name}")
            continue
        if not _accepts(hints[name], data[name]):
            raise ProtocolError(f"{kind}: field {name} must be {_describe(hints[name])}")
    return cls(**data)
