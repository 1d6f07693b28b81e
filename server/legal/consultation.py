"""The legal consultation day's sessions as the questions feature sees them.

Questions attach to sessions of a programme whose rotation is of legal departments (the
weekly legal consultation day); the session's department is the one on duty. A session
collects questions while it takes place and its cutoff has not passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc, zone
from scheduling.planner import SessionStatus
from server.accounts.users import Principal
from server.core.clock import moment_label
from server.core.errors import Forbidden, NotFound, ValidationFailed
from server.models import Department, Programme, ProgrammeSession, Role, UnitKind

STREET_OFFICE = frozenset({Role.ADMIN, Role.HOST})


@dataclass(frozen=True)
class SessionInfo:
    id: int
    programme_id: int
    programme_name: str
    room: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    cutoff_at: datetime
    status: SessionStatus
    department_id: int | None
    department_name: str

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(zone(self.timezone))

    @property
    def label(self) -> str:
        """Date and time, e.g. "2026-11-26 09:30", for messages and file names."""
        return moment_label(self.local_start)

    def takes_place(self) -> bool:
        return self.status is SessionStatus.PLANNED

    def collecting(self, now: datetime) -> bool:
        return self.takes_place() and utc(now) < utc(self.cutoff_at)

    def over(self, now: datetime) -> bool:
        return utc(self.ends_at) <= utc(now)

    def started(self, now: datetime) -> bool:
        return utc(self.starts_at) <= utc(now)


def _info(row: ProgrammeSession, programme: Programme,
          departments: dict[int, str]) -> SessionInfo:
    return SessionInfo(
        id=row.id, programme_id=programme.id, programme_name=programme.name,
        room=programme.room, timezone=programme.timezone, starts_at=row.starts_at,
        ends_at=row.ends_at, cutoff_at=row.cutoff_at, status=row.status,
        department_id=row.department_id,
        department_name=departments.get(row.department_id, "") if row.department_id else "")


async def department_names(db: AsyncSession) -> dict[int, str]:
    return {d.id: d.name for d in await db.scalars(select(Department))}


# Sessions of the legal consultation day: legal departments take turns on duty.
LEGAL = Programme.unit_kind == UnitKind.DEPARTMENT


async def session_info(db: AsyncSession, session_id: int) -> SessionInfo:
    """A session of a legal programme, or NotFound."""
    row = (await db.execute(
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(ProgrammeSession.id == session_id, LEGAL))).first()
    if row is None:
        raise NotFound("Not found.")
    return _info(row[0], row[1], await department_names(db))


async def infos(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, SessionInfo]:
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    rows = (await db.execute(
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(ProgrammeSession.id.in_(ids)))).all()
    names = await department_names(db)
    return {s.id: _info(s, p, names) for s, p in rows}


async def next_collecting(db: AsyncSession, programme_id: int, now: datetime, *,
                          after: datetime | None = None) -> SessionInfo | None:
    """The programme's earliest session still collecting (and starting after `after`)."""
    stmt = (select(ProgrammeSession, Programme)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(ProgrammeSession.programme_id == programme_id,
                   ProgrammeSession.status == SessionStatus.PLANNED,
                   ProgrammeSession.cutoff_at > utc(now))
            .order_by(ProgrammeSession.starts_at).limit(1))
    if after is not None:
        stmt = stmt.where(ProgrammeSession.starts_at > utc(after))
    row = (await db.execute(stmt)).first()
    return _info(row[0], row[1], await department_names(db)) if row else None


async def collecting_sessions(db: AsyncSession, now: datetime, *, limit: int = 4
                              ) -> list[SessionInfo]:
    """Sessions that take questions now, soonest first."""
    rows = (await db.execute(
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(LEGAL, Programme.active, ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.cutoff_at > utc(now))
        .order_by(ProgrammeSession.starts_at).limit(limit))).all()
    names = await department_names(db)
    return [_info(s, p, names) for s, p in rows]


async def sessions_around(db: AsyncSession, now: datetime, *, before: int = 6,
                          ahead: int = 4) -> list[SessionInfo]:
    """The last sessions that took place and the next ones, in time order."""
    base = (select(ProgrammeSession, Programme)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(LEGAL, ProgrammeSession.status == SessionStatus.PLANNED))
    past = (await db.execute(base.where(ProgrammeSession.ends_at <= utc(now))
                             .order_by(ProgrammeSession.starts_at.desc())
                             .limit(before))).all()
    future = (await db.execute(base.where(ProgrammeSession.ends_at > utc(now))
                               .order_by(ProgrammeSession.starts_at)
                               .limit(ahead))).all()
    names = await department_names(db)
    return [_info(s, p, names) for s, p in [*reversed(past), *future]]


async def session_in_room(db: AsyncSession, room: str, now: datetime) -> SessionInfo:
    """The room's session on now, else its next one, else its last one."""
    base = (select(ProgrammeSession, Programme)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(LEGAL, Programme.room == room,
                   ProgrammeSession.status == SessionStatus.PLANNED))
    row = (await db.execute(base.where(ProgrammeSession.ends_at > utc(now))
                            .order_by(ProgrammeSession.starts_at).limit(1))).first()
    if row is None:
        row = (await db.execute(base.order_by(ProgrammeSession.starts_at.desc())
                                .limit(1))).first()
    if row is None:
        raise NotFound("Not found.")
    return _info(row[0], row[1], await department_names(db))


def on_duty(viewer: Principal, info: SessionInfo) -> bool:
    return (viewer.role is Role.OFFICER and viewer.department_id is not None
            and viewer.department_id == info.department_id)


def may_run(viewer: Principal, info: SessionInfo) -> bool:
    """The street office and the officers on duty run the live queue and answer."""
    return viewer.role in STREET_OFFICE or on_duty(viewer, info)


def require_runner(viewer: Principal, info: SessionInfo) -> None:
    if viewer.role is Role.OFFICER and not on_duty(viewer, info):
        raise Forbidden("Your department is not on duty for this session.")
    if not may_run(viewer, info):
        raise Forbidden("You may not do this for this session.")


def require_takes_place(info: SessionInfo) -> None:
    if not info.takes_place():
        raise ValidationFailed("This session does not take place.")
