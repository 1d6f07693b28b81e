"""The catalogue's wiring: a recording that stops is listed at once, and at start-up every
finished recording on disk that has no row is listed.

Wraps the app's other hooks (attendance): every call goes on to them, and the engine's
``RecordingSaved`` event also writes the recording's row, with its session and each
question's place, from the index the recorder just wrote.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms import ParticipantIdentity, RecordingSaved, RoomEvent, RoomHooks
from server.core.clock import Clock
from server.core.db import transaction
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.recordings.catalogue import Saved, register, scan
from server.recordings.index import read_index

log = logging.getLogger("yizhan.recordings")


class RecordingHooks:
    """``rooms.RoomHooks``: ``inner``'s, plus the catalogue of recordings."""

    def __init__(self, inner: RoomHooks, database: async_sessionmaker[AsyncSession],
                 directory: Path, *, clock: Clock) -> None:
        self._inner = inner
        self._database = database
        self._directory = directory
        self._clock = clock

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._inner.on_join(room_id, identity, at)

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._inner.on_leave(room_id, identity, at)

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        await self._inner.on_event(room_id, event)
        if isinstance(event, RecordingSaved):
            await self.saved(room_id, event)

    async def saved(self, room_id: str, event: RecordingSaved) -> None:
        index = await asyncio.to_thread(read_index, self._directory / event.index_file)
        async with transaction(self._database) as db:
            await register(db, Saved(room=room_id, file=event.file,
                                     index_file=event.index_file,
                                     started_at=event.started_at, duration=event.duration),
                           index, clock=self._clock)


async def list_on_start(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``, after the room registry (which rebuilt the indexes of recordings a
    crash cut short): list every finished recording on disk that has no row yet."""
    directory = app[SETTINGS].recordings_dir
    async with transaction(app[DATABASE]) as db:
        added = await scan(db, directory, clock=app[CLOCK])
    if added:
        log.info("listed %s recordings found on disk", len(added))
    yield
