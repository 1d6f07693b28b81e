"""Who may enter a room now.

Hosts and administrators enter every room at any time (to prepare a session before its
room opens). Fixed rooms are free to enter, as they always were. A programme's own room
is open to everyone else only while one of its sessions' rooms is open (from the room
window's lead before the start to its grace after the end, or as the room jobs recorded
it); before that the refusal says when it opens. A meeting's room is open while the
meeting runs, to the sites it called (and to staff); once it has ended nobody enters it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc, zone
from scheduling.jobs import RoomWindow
from scheduling.planner import SessionStatus
from server.accounts.users import Principal
from server.core.clock import moment_label
from server.core.errors import N_, Forbidden
from server.meetings.calls import open_sessions, session_open_window
from server.meetings.room_access import KnownRoom, RoomKind
from server.models import Meeting, MeetingSite, Programme, ProgrammeSession, Role

PREPARERS = (Role.ADMIN, Role.HOST)


class RoomNotOpen(Forbidden):
    code = "room_not_open"


async def next_opening(db: AsyncSession, room: str, now: datetime,
                       window: RoomWindow) -> str | None:
    """When ``room`` opens next, as the street's notices write it; None if no session."""
    row = (await db.execute(
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.room == room, Programme.active,
               ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.ends_at > utc(now))
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id).limit(1))).first()
    if row is None:
        return None
    session, programme = row
    opens, _ = session_open_window(session, window)
    return moment_label(opens.astimezone(zone(programme.timezone)))


async def check_entry(db: AsyncSession, principal: Principal, room: KnownRoom, *,
                      now: datetime, window: RoomWindow) -> None:
    """Raise :class:`RoomNotOpen` when ``principal`` may not enter ``room`` at ``now``."""
    if room.kind is RoomKind.MEETING:
        meeting = await db.get(Meeting, room.meeting_id) if room.meeting_id else None
        if meeting is None or meeting.ended_at is not None:
            raise RoomNotOpen(N_("This meeting has ended."))
        if principal.role is Role.SITE and not await db.scalar(select(MeetingSite.id).where(
                MeetingSite.meeting_id == meeting.id, MeetingSite.site_id == principal.site_id)):
            raise RoomNotOpen(N_("This meeting did not call your site."))
        return
    if room.kind is RoomKind.FIXED or principal.role in PREPARERS:
        return
    if await open_sessions(db, now, room=room.id, window=window):
        return
    opens = await next_opening(db, room.id, now, window)
    if opens is None:
        raise RoomNotOpen(N_("This room is not open: no session is planned in it."))
    raise RoomNotOpen(N_("This room is not open yet; it opens at %(time)s."),
                      params={"time": opens})
