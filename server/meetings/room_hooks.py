"""The app's room hooks: several ``rooms.RoomHooks`` called in turn, each on its own.

Attendance (:mod:`server.meetings.attendance`) and the chat store
(:mod:`server.meetings.chat`) both listen to the rooms; one failing must not keep the
other from hearing an event, so each call is tried separately and a failure logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from rooms import ParticipantIdentity, RoomEvent, RoomHooks

log = logging.getLogger("yizhan.rooms")


class RoomHooksChain:
    def __init__(self, *hooks: RoomHooks) -> None:
        self.hooks = hooks

    async def _each(self, what: str, call: Callable[[RoomHooks], Awaitable[None]]) -> None:
        for hooks in self.hooks:
            try:
                await call(hooks)
            except Exception:
                log.exception("room hook %s.%s failed", type(hooks).__name__, what)

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._each("on_join", lambda h: h.on_join(room_id, identity, at))

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._each("on_leave", lambda h: h.on_leave(room_id, identity, at))

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        await self._each("on_event", lambda h: h.on_event(room_id, event))
