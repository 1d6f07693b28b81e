"""A room's moderation state as plain data, to keep it somewhere else and bring it back.

A room lives in one process; when that process dies (or its node is drained) the
room opens again elsewhere. :meth:`RoomRegistry.state <rooms.registry.RoomRegistry.state>`
says what the room's hosts decided (lock, waiting room, spotlight) and where each
participant stood (mutes, raised hand); :meth:`~rooms.registry.RoomRegistry.restore`
gives a room that is not live yet that state before its first arrival.

Participants come back one by one: each takes back its own mutes and hand when it
joins again, and the spotlight returns with the participant it was on. Someone who
was in the room comes back in even if the room is locked or has its waiting room
on (as a place held for a reconnection would let them): they were let in already.
Camera and audio-only are the page's own wishes and the page sends them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATE_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class ParticipantState:
    self_muted: bool = False
    moderator_muted: bool = False
    hand_raised_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "self_muted": self.self_muted,
            "moderator_muted": self.moderator_muted,
            "hand_raised_at": None if self.hand_raised_at is None
            else self.hand_raised_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: object) -> ParticipantState:
        if not isinstance(data, dict):
            raise ValueError("a participant's state must be an object")
        raised = data.get("hand_raised_at")
        if raised is not None and not isinstance(raised, str):
            raise ValueError("hand_raised_at must be a timestamp or null")
        at = None
        if raised is not None:
            at = datetime.fromisoformat(raised)
            if at.tzinfo is None:
                raise ValueError("hand_raised_at must carry its time zone")
        return cls(
            self_muted=_flag(data, "self_muted"),
            moderator_muted=_flag(data, "moderator_muted"),
            hand_raised_at=at,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentState:
    """The document on the wall: its pages as files every node reads (the shared volume)."""

    presenter: str
    title: str
    files: tuple[str, ...]
    page: int

    def to_json(self) -> dict[str, Any]:
        return {"presenter": self.presenter, "title": self.title, "files": list(self.files),
                "page": self.page}

    @classmethod
    def from_json(cls, data: object) -> DocumentState:
        if not isinstance(data, dict):
            raise ValueError("a document's state must be an object")
        presenter, title, files, page = (data.get(k) for k in ("presenter", "title", "files",
                                                                "page"))
        if not isinstance(presenter, str) or not isinstance(title, str):
            raise ValueError("a document's presenter and title are strings")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ValueError("a document's files are a list of paths")
        if isinstance(page, bool) or not isinstance(page, int):
            raise ValueError("a document's page is a number")
        return cls(presenter=presenter, title=title, files=tuple(files), page=page)


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomState:
    """What a room's hosts decided and where its participants stood, by participant key."""

    locked: bool = False
    waiting_room: bool = False
    spotlight: str | None = None
    participants: Mapping[str, ParticipantState] = field(default_factory=dict)
    document: DocumentState | None = None  # a shared screen is not kept: it needs its sender

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "locked": self.locked,
            "waiting_room": self.waiting_room,
            "spotlight": self.spotlight,
            "participants": {key: p.to_json() for key, p in self.participants.items()},
            "document": None if self.document is None else self.document.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> RoomState:
        """The state written by :meth:`to_json`; raises ``ValueError`` for anything else."""
        if not isinstance(data, dict):
            raise ValueError("a room's state must be an object")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown room state version {data.get('version')!r}")
        spotlight = data.get("spotlight")
        if spotlight is not None and not isinstance(spotlight, str):
            raise ValueError("spotlight must be a participant key or null")
        people = data.get("participants")
        if not isinstance(people, dict):
            raise ValueError("participants must be an object")
        document = data.get("document")
        return cls(
            document=None if document is None else DocumentState.from_json(document),
            locked=_flag(data, "locked"),
            waiting_room=_flag(data, "waiting_room"),
            spotlight=spotlight,
            participants={str(key): ParticipantState.from_json(value)
                          for key, value in people.items()},
        )


def _flag(data: Mapping[str, object], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value
