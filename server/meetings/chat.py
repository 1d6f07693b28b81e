"""Room chat in the database: the rooms' hooks store every message, and deletions.

The media engine hands each chat message to the hooks as a ``ChatPosted`` event (and a
host's deletion as ``ChatDeleted``), in order, on its hooks task; over a process
boundary the same plain events arrive. :class:`ChatStore` writes them to
``room_chat_message``, with the programme session whose room window (from the room's
opening, 15 minutes before the start, to the end of its closing grace) held the
moment, so a session's chat can be read back with it.

Nothing a person wrote is lost to a database hiccup: an event that cannot be written
stays queued, in order, is retried with growing pauses (and before any later event),
and :meth:`ChatStore.close` (after the rooms closed, before the database does) tries
once more; what still cannot be written is logged in full, the one place left.
Writes are idempotent (a message is keyed by the room's id for it), so a retry after
a commit whose answer was lost does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms import ChatDeleted, ChatPosted, ParticipantIdentity, RoomEvent
from scheduling.jobs import ROOM_CLOSE_GRACE, ROOM_OPEN_BEFORE
from scheduling.planner import SessionStatus
from server.core.db import transaction
from server.meetings.room_access import SITE_TAG, USER_TAG, id_in_tags
from server.models import Programme, ProgrammeSession, RoomChatMessage

log = logging.getLogger("yizhan.rooms")

ChatEvent = ChatPosted | ChatDeleted
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # then every 30 s
CLOSE_ATTEMPTS = 3


async def session_at(db: AsyncSession, room: str, at: datetime) -> int | None:
    """The programme session whose room window holds ``at`` (the latest-starting one)."""
    return await db.scalar(
        select(ProgrammeSession.id)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.room == room, ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.starts_at <= at + ROOM_OPEN_BEFORE,
               ProgrammeSession.ends_at >= at - ROOM_CLOSE_GRACE)
        .order_by(ProgrammeSession.starts_at.desc()).limit(1))


async def write(db: AsyncSession, room: str, event: ChatEvent) -> None:
    """Store one chat event; storing it twice changes nothing."""
    if isinstance(event, ChatPosted):
        if await db.scalar(select(RoomChatMessage.id).where(
                RoomChatMessage.message_key == event.message_id)) is not None:
            return
        db.add(RoomChatMessage(
            message_key=event.message_id, room=room,
            session_id=await session_at(db, room, event.at),
            participant_key=event.participant_id,
            user_id=id_in_tags(event.sender_tags, USER_TAG),
            site_id=id_in_tags(event.sender_tags, SITE_TAG),
            display_name=event.display_name[:200], role=event.role, audience=event.audience,
            text=event.text, sent_at=event.at))
    else:
        await db.execute(
            update(RoomChatMessage)
            .where(RoomChatMessage.message_key == event.message_id,
                   RoomChatMessage.deleted_at.is_(None))
            .values(deleted_at=event.at, deleted_by_key=event.by,
                    deleted_by_id=id_in_tags(event.by_tags, USER_TAG)))


class ChatStore:
    """``rooms.RoomHooks`` that stores chat; joins, leaves and other events it leaves alone."""

    def __init__(self, database: async_sessionmaker[AsyncSession], *,
                 retry_delays: Sequence[float] = RETRY_DELAYS_S) -> None:
        self._database = database
        self._delays = tuple(retry_delays)
        self._pending: deque[tuple[str, ChatEvent]] = deque()
        self._lock = asyncio.Lock()
        self._retrying: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Events waiting for the database (0 when all is stored)."""
        return len(self._pending)

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        return None

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        return None

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        if not isinstance(event, ChatPosted | ChatDeleted):
            return
        self._pending.append((room_id, event))
        if not await self._flush():
            self._retry_later()

    async def _flush(self) -> bool:
        """Write what is pending, oldest first; ``False`` at the first that fails."""
        async with self._lock:
            while self._pending:
                room_id, event = self._pending[0]
                try:
                    async with transaction(self._database) as db:
                        await write(db, room_id, event)
                except Exception:
                    log.exception("could not store a chat event of room %s; will retry",
                                  room_id, extra={"ctx_room": room_id,
                                                  "ctx_message": event.message_id,
                                                  "ctx_pending": len(self._pending)})
                    return False
                self._pending.popleft()
                _log_stored(room_id, event)
            return True

    def _retry_later(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry(), name="chat-store-retry")

    async def _retry(self) -> None:
        attempt = 0
        while self._pending:
            await asyncio.sleep(self._delays[min(attempt, len(self._delays) - 1)])
            attempt += 1
            if await self._flush():
                return

    async def close(self) -> None:
        """Last tries (after the rooms closed, so no new events come); then log what is left."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None
        for attempt in range(CLOSE_ATTEMPTS):
            if await self._flush():
                return
            await asyncio.sleep(self._delays[min(attempt, len(self._delays) - 1)])
        for room_id, event in self._pending:
            log.error("chat event of room %s NOT stored at shutdown", room_id,
                      extra={"ctx_room": room_id, "ctx_event": event.to_dict()})


def _log_stored(room_id: str, event: ChatEvent) -> None:
    # The text stays out of the log: a deleted message must not live on there.
    if isinstance(event, ChatPosted):
        log.info("chat message in room %s", room_id, extra={
            "ctx_room": room_id, "ctx_message": event.message_id,
            "ctx_participant": event.participant_id, "ctx_audience": event.audience,
            "ctx_chars": len(event.text)})
    else:
        log.info("chat message deleted in room %s", room_id, extra={
            "ctx_room": room_id, "ctx_message": event.message_id, "ctx_by": event.by})


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredChat:
    """One stored message, as a page reads it."""

    key: str
    room: str
    session_id: int | None
    participant_key: str
    site_id: int | None
    display_name: str
    role: str
    audience: str
    text: str
    sent_at: datetime
    deleted_at: datetime | None
    deleted_by_key: str | None
    question_id: int | None


def stored(row: RoomChatMessage) -> StoredChat:
    return StoredChat(
        key=row.message_key, room=row.room, session_id=row.session_id,
        participant_key=row.participant_key, site_id=row.site_id,
        display_name=row.display_name, role=row.role, audience=row.audience, text=row.text,
        sent_at=row.sent_at, deleted_at=row.deleted_at, deleted_by_key=row.deleted_by_key,
        question_id=row.question_id)
