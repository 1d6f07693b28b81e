"""Who may watch which recording (docs/architecture.md, "Recordings").

- the administrator and the meeting host: every recording;
- a legal officer: recordings of the sessions its department was on duty for;
- a deputy: recordings of its own duty-station sessions;
- a site: recordings made while the site was in the room (its attendance overlaps the
  recording), recordings of the sessions it sent questions to, and recordings of the
  ad-hoc meetings it was called to;
- nobody else (residents have no account; any other account sees none).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.errors import Forbidden, NotFound
from server.models import (
    Attendance,
    Meeting,
    MeetingSite,
    ProgrammeSession,
    Question,
    Recording,
    Role,
)

STREET_OFFICE = frozenset({Role.ADMIN, Role.HOST})


async def may_watch(db: AsyncSession, viewer: Principal, recording: Recording) -> bool:
    if recording.deleted_at is not None:
        return False
    if viewer.role in STREET_OFFICE:
        return True
    session = await db.get(ProgrammeSession, recording.session_id) \
        if recording.session_id is not None else None
    if viewer.role is Role.OFFICER:
        return session is not None and viewer.department_id is not None \
            and session.department_id == viewer.department_id
    if viewer.role is Role.DEPUTY:
        return session is not None and viewer.deputy_id is not None \
            and session.deputy_id == viewer.deputy_id
    if viewer.role is Role.SITE and viewer.site_id is not None:
        return await _site_took_part(db, viewer.site_id, recording)
    return False


async def _site_took_part(db: AsyncSession, site_id: int, recording: Recording) -> bool:
    ends_at = recording.started_at + timedelta(seconds=recording.duration_s)
    attended = exists().where(
        Attendance.site_id == site_id, Attendance.room == recording.room,
        Attendance.joined_at <= ends_at,
        or_(Attendance.left_at.is_(None), Attendance.left_at >= recording.started_at))
    conditions = [attended]
    if recording.session_id is not None:
        conditions.append(exists().where(Question.session_id == recording.session_id,
                                         Question.site_id == site_id))
    # Called to the ad-hoc meeting held in this room while the recording ran.
    conditions.append(exists().where(
        MeetingSite.site_id == site_id, MeetingSite.meeting_id == Meeting.id,
        Meeting.room == recording.room, Meeting.started_at <= ends_at,
        or_(Meeting.ended_at.is_(None), Meeting.ended_at >= recording.started_at)))
    return bool(await db.scalar(select(or_(*conditions))))


async def watchable(db: AsyncSession, viewer: Principal, recording_id: int) -> Recording:
    """The recording, if this viewer may watch it. Deleted under the retention rule: not
    found, as an unknown id."""
    recording = await db.get(Recording, recording_id)
    if recording is None or recording.deleted_at is not None:
        raise NotFound("There is no such recording.")
    if not await may_watch(db, viewer, recording):
        raise Forbidden("You may not watch this recording.")
    return recording


async def visible(db: AsyncSession, viewer: Principal, *, room: str | None = None,
                  session_id: int | None = None) -> list[Recording]:
    """The recordings this viewer may watch, newest first."""
    query = select(Recording).where(Recording.deleted_at.is_(None))
    if room is not None:
        query = query.where(Recording.room == room)
    if session_id is not None:
        query = query.where(Recording.session_id == session_id)
    if viewer.role is Role.OFFICER:
        query = query.where(Recording.session_id.in_(select(ProgrammeSession.id).where(
            ProgrammeSession.department_id == viewer.department_id)))
    elif viewer.role is Role.DEPUTY:
        query = query.where(Recording.session_id.in_(select(ProgrammeSession.id).where(
            ProgrammeSession.deputy_id == viewer.deputy_id)))
    elif viewer.role not in STREET_OFFICE and viewer.role is not Role.SITE:
        return []
    rows = list(await db.scalars(query.order_by(Recording.started_at.desc(),
                                                Recording.id.desc())))
    return [r for r in rows if await may_watch(db, viewer, r)]
