"""Who holds a room's duty right now, as the schedule says.

An officer speaks in a room while a session of a programme held in that room is on (from
the room's opening, by default 15 minutes before the start, to the end of its closing
grace, by default 15 minutes after: the settings' room window) and their department is
that session's unit; a deputy likewise for a programme of deputies. Outside such a
window they take part as observers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.jobs import DEFAULT_ROOM_WINDOW, RoomWindow
from scheduling.planner import SessionStatus
from server.accounts.users import Principal
from server.meetings.room_access import KnownRoom
from server.models import Programme, ProgrammeSession, Role


class ScheduleOnDuty:
    def __init__(self, database: Callable[[], async_sessionmaker[AsyncSession]], *,
                 window: RoomWindow = DEFAULT_ROOM_WINDOW) -> None:
        # A getter: the app's database opens after the routes are set up.
        self._database = database
        self._window = window

    async def on_duty(self, principal: Principal, room: KnownRoom, at: datetime) -> bool:
        if principal.role is Role.OFFICER and principal.department_id is not None:
            unit = ProgrammeSession.department_id == principal.department_id
        elif principal.role is Role.DEPUTY and principal.deputy_id is not None:
            unit = ProgrammeSession.deputy_id == principal.deputy_id
        else:
            return False
        stmt = (
            select(ProgrammeSession.id)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(
                Programme.room == room.id,
                ProgrammeSession.status == SessionStatus.PLANNED,
                ProgrammeSession.starts_at <= at + self._window.open_before,
                ProgrammeSession.ends_at >= at - self._window.close_grace,
                unit,
            )
            .limit(1)
        )
        async with self._database()() as db:
            return await db.scalar(stmt) is not None
