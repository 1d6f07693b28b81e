"""What happens in a room, for the server's hooks and the recording index.

Frozen, keyword-only values; ``to_dict`` gives the JSON form written to the
recording index and handed to whoever exports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomEvent:
    kind: ClassVar[str] = "event"
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return {"kind": self.kind, **data}


@dataclass(frozen=True, kw_only=True, slots=True)
class Joined(RoomEvent):
    kind: ClassVar[str] = "joined"
    participant_id: str
    role: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Left(RoomEvent):
    kind: ClassVar[str] = "left"
    participant_id: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionLost(RoomEvent):
    """The participant's connection dropped; its place is held while it reconnects."""

    kind: ClassVar[str] = "connection_lost"
    participant_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Reconnected(RoomEvent):
    """Back in its held place after ``after_s`` seconds away."""

    kind: ClassVar[str] = "reconnected"
    participant_id: str
    after_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class AudioOnlyChanged(RoomEvent):
    """The participant stopped (or resumed) receiving the wall to save bandwidth."""

    kind: ClassVar[str] = "audio_only"
    participant_id: str
    audio_only: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Waiting(RoomEvent):
    kind: ClassVar[str] = "waiting"
    participant_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Admitted(RoomEvent):
    kind: ClassVar[str] = "admitted"
    participant_id: str
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeakingChanged(RoomEvent):
    kind: ClassVar[str] = "speaking"
    participant_id: str
    speaking: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class HandRaised(RoomEvent):
    kind: ClassVar[str] = "hand_raised"
    participant_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class HandLowered(RoomEvent):
    kind: ClassVar[str] = "hand_lowered"
    participant_id: str
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FloorGiven(RoomEvent):
    kind: ClassVar[str] = "floor_given"
    participant_id: str
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MuteChanged(RoomEvent):
    kind: ClassVar[str] = "mute"
    participant_id: str
    muted: bool
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CameraChanged(RoomEvent):
    kind: ClassVar[str] = "camera"
    participant_id: str
    camera_on: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class SpotlightChanged(RoomEvent):
    kind: ClassVar[str] = "spotlight"
    participant_id: str | None
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Removed(RoomEvent):
    kind: ClassVar[str] = "removed"
    participant_id: str
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomSettingChanged(RoomEvent):
    """``setting`` is ``locked``, ``waiting_room`` or ``recording``."""

    kind: ClassVar[str] = "room_setting"
    setting: str
    value: bool
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PresentationChanged(RoomEvent):
    """A document or screen went on the wall, turned a page, or came off (``kind`` None)."""

    kind: ClassVar[str] = "presentation"
    presenting: str | None  # "document", "screen" or None
    presenter: str | None
    title: str
    page: int | None
    pages: int | None
    by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Marker(RoomEvent):
    """A label the server puts on the timeline, e.g. "question 12 answered"."""

    kind: ClassVar[str] = "marker"
    label: str
    data: dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatPosted(RoomEvent):
    """A chat message (``rooms.chat``), for the server to store; never in a recording.

    ``sender_tags`` are the tags the server gave the sender's identity (its user and
    site), so that a store on the far side of a process boundary knows who wrote it.
    """

    kind: ClassVar[str] = "chat_posted"
    message_id: str
    participant_id: str
    display_name: str
    role: str
    sender_tags: tuple[str, ...]
    audience: str
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatDeleted(RoomEvent):
    """A host deleted a chat message: the store keeps it, marked deleted by ``by``."""

    kind: ClassVar[str] = "chat_deleted"
    message_id: str
    by: str
    by_tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingSaved(RoomEvent):
    """A recording was closed: its WebM ``file`` and index lie in the recordings folder.

    Told to the hooks only (it is not an entry of the recording's own index), so the
    server can list the recording with its room.
    """

    kind: ClassVar[str] = "recording_saved"
    file: str
    index_file: str
    started_at: datetime
    duration: float

    def to_dict(self) -> dict[str, Any]:
        data = RoomEvent.to_dict(self)
        data["started_at"] = self.started_at.isoformat()
        return data
