"""Which rooms a site is called into right now.

A site is called by a running ad-hoc meeting that named it, and by every session of its
street's programmes whose room is open (all sites of a street take part in every
programme's sessions). A session's room is open from ``room_opened_at`` (set by the
room-open job) or, before the job ran, from the computed opening (``RoomWindow``), until
``room_closed_at`` or the computed closing. The site's standby screen asks this to ring
and enter the room by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from scheduling.jobs import DEFAULT_ROOM_WINDOW, RoomWindow
from scheduling.planner import SessionStatus
from server.models import Meeting, MeetingSite, Programme, ProgrammeSession, Site


@dataclass(frozen=True, kw_only=True, slots=True)
class Call:
    room: str  # room id to enter
    title: str  # what to show
    kind: str  # "meeting" (ad-hoc) or "session" (a scheduled session whose room is open)
    started_at: datetime  # when the call/room opening began (UTC)
    ends_at: datetime | None  # the session's scheduled end; None for an ad-hoc meeting


def session_open_window(row: ProgrammeSession, window: RoomWindow) -> tuple[datetime, datetime]:
    """When ``row``'s room opens and closes: as recorded by the room jobs, else as planned."""
    opened = row.room_opened_at or window.opens(row.starts_at)
    closed = row.room_closed_at or window.closes(row.ends_at)
    return utc(opened), utc(closed)


async def open_sessions(
    db: AsyncSession, now: datetime, *, street_id: int | None = None, room: str | None = None,
    window: RoomWindow = DEFAULT_ROOM_WINDOW,
) -> list[tuple[ProgrammeSession, Programme]]:
    """Sessions (of a street, in a room) whose room is open at ``now``, earliest first."""
    now = utc(now)
    stmt = (
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(
            Programme.active,
            ProgrammeSession.status == SessionStatus.PLANNED,
            or_(ProgrammeSession.room_opened_at <= now,
                ProgrammeSession.starts_at <= now + window.open_before),
            or_(ProgrammeSession.room_closed_at > now,
                and_(ProgrammeSession.room_closed_at.is_(None),
                     ProgrammeSession.ends_at >= now - window.close_grace)),
        )
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    )
    if street_id is not None:
        stmt = stmt.where(Programme.street_id == street_id)
    if room is not None:
        stmt = stmt.where(Programme.room == room)
    found = []
    for row, programme in (await db.execute(stmt)).all():
        opened, closed = session_open_window(row, window)
        if opened <= now < closed:
            found.append((row, programme))
    return found


async def active_calls(
    db: AsyncSession, site_id: int, now: datetime, *, window: RoomWindow = DEFAULT_ROOM_WINDOW,
) -> list[Call]:
    """The rooms ``site_id`` should be in at ``now``: ad-hoc meetings first, then sessions.

    Pass the app's window (``server.core.config.room_window(settings)``) where the lead
    time may be configured; the default is 15 minutes either side.
    """
    site = await db.get(Site, site_id)
    if site is None or not site.active:
        return []
    calls: list[Call] = []
    meetings = await db.scalars(
        select(Meeting)
        .join(MeetingSite, MeetingSite.meeting_id == Meeting.id)
        .where(MeetingSite.site_id == site_id, Meeting.street_id == site.street_id,
               Meeting.ended_at.is_(None), Meeting.started_at <= utc(now))
        .order_by(Meeting.started_at, Meeting.id))
    for meeting in meetings:
        calls.append(Call(room=meeting.room, title=meeting.title, kind="meeting",
                          started_at=utc(meeting.started_at), ends_at=None))
    for row, programme in await open_sessions(db, now, street_id=site.street_id, window=window):
        opened, _ = session_open_window(row, window)
        calls.append(Call(room=programme.room, title=programme.name, kind="session",
                          started_at=opened, ends_at=utc(row.ends_at)))
    return calls
