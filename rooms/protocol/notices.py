"""Server-to-client signalling messages ("notices"), each with ``to_json``.

Two kinds: *events* (welcome, answer, error, ...) each say something that
happened once, and every one must arrive, in order; *state* notices (layout,
participants, hands, room state, waiting list, who is speaking) say how
something stands now, so a newer one of the same :meth:`Notice.state_key`
makes a queued older one worthless (:class:`rooms.protocol.notice_queue.NoticeQueue`
drops it). See ``docs/protocol.md`` for when each is sent.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    type: ClassVar[str]
    is_state: ClassVar[bool] = False

    def state_key(self) -> Hashable | None:
        """What this notice gives the state of; ``None`` for an event."""
        return self.type if self.is_state else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        for field in fields(self):
            value = getattr(self, field.name)
            data[field.name] = list(value) if isinstance(value, tuple) else value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Welcome(Notice):
    type: ClassVar[str] = "welcome"
    room_id: str
    participant_id: str
    display_name: str
    role: str
    permissions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitingNotice(Notice):
    """You are in the waiting room until a host admits you."""

    type: ClassVar[str] = "waiting"
    room_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AdmittedNotice(Notice):
    type: ClassVar[str] = "admitted"
    room_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerNotice(Notice):
    type: ClassVar[str] = "answer"
    sdp: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LayoutNotice(Notice):
    """Tile rectangles are fractions (0-1) of the wall video's width and height."""

    type: ClassVar[str] = "layout"
    is_state: ClassVar[bool] = True
    mode: str
    width: int
    height: int
    spotlight: str | None
    tiles: tuple[dict[str, Any], ...]
    presentation: dict[str, float] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ParticipantsNotice(Notice):
    type: ClassVar[str] = "participants"
    is_state: ClassVar[bool] = True
    participants: tuple[dict[str, Any], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class HandsNotice(Notice):
    """Raised hands, earliest first."""

    type: ClassVar[str] = "hands"
    is_state: ClassVar[bool] = True
    queue: tuple[dict[str, Any], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitingListNotice(Notice):
    """Who waits for admission, in arrival order; sent to those who may admit."""

    type: ClassVar[str] = "waiting_list"
    is_state: ClassVar[bool] = True
    waiting: tuple[dict[str, Any], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomStateNotice(Notice):
    type: ClassVar[str] = "room_state"
    is_state: ClassVar[bool] = True
    locked: bool
    waiting_room: bool
    recording: bool
    presentation: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeakingNotice(Notice):
    type: ClassVar[str] = "speaking"
    is_state: ClassVar[bool] = True
    participant_id: str
    speaking: bool

    def state_key(self) -> Hashable | None:
        return (self.type, self.participant_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorNotice(Notice):
    """``request`` is the type of the message that failed, when known.

    ``retry_after`` (seconds) comes only with ``rate-limited`` and
    ``chat-rate-limited``: when the next message will be accepted.
    """

    type: ClassVar[str] = "error"
    code: str
    message: str
    request: str | None = None
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = Notice.to_dict(self)
        if self.retry_after is None:
            del data["retry_after"]
        return data


@dataclass(frozen=True, kw_only=True, slots=True)
class RemovedNotice(Notice):
    """Last message before the server closes the socket."""

    type: ClassVar[str] = "removed"
    reason: str


# -- chat (rooms.chat) ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatNotice(Notice):
    """A chat message, to those who may read it; ``to`` is ``all`` or ``hosts``."""

    type: ClassVar[str] = "chat"
    id: str
    sender_id: str
    display_name: str
    role: str
    to: str
    text: str
    sent_at: str  # ISO 8601, UTC


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatHistoryNotice(Notice):
    """The last messages this participant may read, oldest first; sent after ``welcome``."""

    type: ClassVar[str] = "chat_history"
    messages: tuple[dict[str, Any], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatDeletedNotice(Notice):
    """A host deleted a message: take it off the page."""

    type: ClassVar[str] = "chat_deleted"
    id: str
    by: str
