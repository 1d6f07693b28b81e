"""Who holds a room's duty right now, as the schedule says.

An officer speaks in the legal consultation room while a session of a programme held in
that room is on (from the room's opening, 15 minutes before the start, to the end of its
closing grace, 15 minutes after) and their department is that session's unit; a deputy
likewise at the duty station. Outside such a window they take part as observers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.jobs import ROOM_CLOSE_GRACE, ROOM_OPEN_BEFORE
from scheduling.planner import SessionStatus
from server.accounts.users import Principal
from server.meetings.room_access import KnownRoom
from server.models import Programme, ProgrammeSession, Role


class ScheduleOnDuty:
    def __init__(self, database: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        # A getter: the app's database opens after the routes are set up.
        self._database = database

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
                ProgrammeSession.starts_at <= at + ROOM_OPEN_BEFORE,
                ProgrammeSession.ends_at >= at - ROOM_CLOSE_GRACE,
                unit,
            )
            .limit(1)
        )
        async with self._database()() as db:
            return await db.scalar(stmt) is not None
