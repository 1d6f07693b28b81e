"""Where rooms meet the server: small Protocols, as in Galène's ``conn``.

The server implements :class:`RoomHooks` (attendance records, event logs,
metrics). Calls are queued and run one after another on a background task,
so a slow database never holds up a room, and their order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from rooms.events import RoomEvent
from rooms.identity import ParticipantIdentity

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RoomHooks(Protocol):
    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        """``identity`` entered the room (after admission, if it waited)."""

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        """``identity`` left, was removed, or was replaced by a newer connection."""

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        """Anything else that happened: speaking, hands, floor, mutes, settings."""


class NoHooks:
    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        return None

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        return None

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        return None


class HookDispatcher:
    """Runs hook calls in order on one task; a failing hook is logged, not raised."""

    def __init__(
        self, hooks: RoomHooks, *, max_pending: int = 10_000, close_timeout: float = 5.0
    ) -> None:
        self.hooks = hooks
        self.close_timeout = close_timeout
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue(
            max_pending
        )
        self._worker: asyncio.Task[None] | None = None
        self.dropped = 0

    def _put(self, call: Callable[[], Awaitable[None]]) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="room-hooks")
        try:
            self._queue.put_nowait(call)
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning("room hooks are not keeping up; dropped a call")

    def joined(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self._put(lambda: self.hooks.on_join(room_id, identity, at))

    def left(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self._put(lambda: self.hooks.on_leave(room_id, identity, at))

    def event(self, room_id: str, event: RoomEvent) -> None:
        self._put(lambda: self.hooks.on_event(room_id, event))

    async def _run(self) -> None:
        while (call := await self._queue.get()) is not None:
            try:
                await call()
            except Exception:
                logger.exception("room hook failed")

    async def close(self) -> None:
        """Run the calls already queued (for at most ``close_timeout`` seconds), then stop."""
        if self._worker is None:
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(self._worker, self.close_timeout)
        except TimeoutError:
            logger.warning("room hooks still busy after %.1f s; cancelled", self.close_timeout)
        self._worker = None
