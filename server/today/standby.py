"""The site's standby screen: what the meeting-room PC shows between sessions.

Read-only and computed from the database at every poll, so a server restart loses nothing:
the site's sessions of today and of the seven days after, who is on duty in each
programme, and the site's questions for the next legal consultation day. Which rooms the
site is called into right now is asked of `server.meetings.calls` (`active_calls`), the
one rule the standby screen and the rooms share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from scheduling.planner import SessionStatus
from server.core.errors import NotFound
from server.legal.categories import category_names
from server.legal.consultation import SessionInfo, department_names
from server.legal.views import STATUS_LABELS
from server.models import (
    Deputy,
    Programme,
    ProgrammeSession,
    Question,
    QuestionStatus,
    Site,
    UnitKind,
)
from server.today.dashboard import next_legal_session

DAYS_AHEAD = 7  # "this week": the seven days after today
MAX_SESSIONS = 40
MAX_QUESTIONS = 30
SHOWN = (SessionStatus.PLANNED, SessionStatus.CANCELLED)  # a cancelled one is worth saying


@dataclass(frozen=True, kw_only=True, slots=True)
class StandbySession:
    id: int
    title: str  # the programme's name
    room: str
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    unit_kind: UnitKind
    unit_name: str  # the department or deputy on duty; "" when none is set


@dataclass(frozen=True, kw_only=True, slots=True)
class DutyUnit:
    """Who holds a programme's current or next session."""

    programme: str
    unit_kind: UnitKind
    unit_name: str
    starts_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class StandbyQuestion:
    id: int
    text: str  # "" for a question raised live
    category: str
    status: QuestionStatus
    status_label: str  # msgid


@dataclass(frozen=True, kw_only=True, slots=True)
class StandbyView:
    site_id: int
    site_name: str
    now: datetime
    today: list[StandbySession]  # starting today (local day), those already over included
    week: list[StandbySession]  # starting on one of the seven days after today
    on_duty: list[DutyUnit]
    legal_session: StandbySession | None  # the next legal consultation day
    questions: list[StandbyQuestion]  # this site's questions for it


@dataclass(frozen=True, slots=True)
class _Names:
    departments: dict[int, str]
    deputies: dict[int, str]

    def unit(self, row: ProgrammeSession) -> str:
        if row.department_id is not None:
            return self.departments.get(row.department_id, "")
        if row.deputy_id is not None:
            return self.deputies.get(row.deputy_id, "")
        return ""


def _session(row: ProgrammeSession, programme: Programme, names: _Names) -> StandbySession:
    return StandbySession(
        id=row.id, title=programme.name, room=programme.room, starts_at=utc(row.starts_at),
        ends_at=utc(row.ends_at), cancelled=row.status is SessionStatus.CANCELLED,
        unit_kind=programme.unit_kind, unit_name=names.unit(row))


def _legal(info: SessionInfo) -> StandbySession:
    return StandbySession(
        id=info.id, title=info.programme_name, room=info.room, starts_at=utc(info.starts_at),
        ends_at=utc(info.ends_at), cancelled=not info.takes_place(),
        unit_kind=UnitKind.DEPARTMENT, unit_name=info.department_name)


async def standby_view(db: AsyncSession, site_id: int, *, now: datetime,
                       tz: ZoneInfo) -> StandbyView:
    """What ``site_id``'s standby screen shows at ``now``; NotFound for an unknown site."""
    site = await db.get(Site, site_id)
    if site is None or not site.active:
        raise NotFound("This account's site does not exist or is no longer active.")
    names = _Names(departments=await department_names(db),
                   deputies={d.id: d.name for d in await db.scalars(select(Deputy))})
    day_start = utc(datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz))
    tomorrow = utc(datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(0),
                                    tzinfo=tz))
    until = utc(datetime.combine(now.astimezone(tz).date() + timedelta(days=DAYS_AHEAD + 1),
                                 time(0), tzinfo=tz))
    rows = (await db.execute(
        select(ProgrammeSession, Programme)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.street_id == site.street_id, Programme.active,
               ProgrammeSession.status.in_(SHOWN),
               ProgrammeSession.starts_at >= day_start, ProgrammeSession.starts_at < until)
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
        .limit(MAX_SESSIONS))).all()
    sessions = [_session(row, programme, names) for row, programme in rows]
    legal, questions = await _questions(db, site.id, now)
    return StandbyView(
        site_id=site.id, site_name=site.display_name or site.name, now=utc(now),
        today=[s for s in sessions if s.starts_at < tomorrow],
        week=[s for s in sessions if s.starts_at >= tomorrow],
        on_duty=await _on_duty(db, site.street_id, now, names),
        legal_session=legal, questions=questions)


async def _on_duty(db: AsyncSession, street_id: int, now: datetime,
                   names: _Names) -> list[DutyUnit]:
    """Per active programme, the unit of its session on now or next."""
    programmes = await db.scalars(select(Programme).where(Programme.street_id == street_id,
                                                          Programme.active)
                                  .order_by(Programme.id))
    found = []
    for programme in programmes:
        row = await db.scalar(
            select(ProgrammeSession)
            .where(ProgrammeSession.programme_id == programme.id,
                   ProgrammeSession.status == SessionStatus.PLANNED,
                   ProgrammeSession.ends_at > utc(now))
            .order_by(ProgrammeSession.starts_at).limit(1))
        if row is not None and names.unit(row):
            found.append(DutyUnit(programme=programme.name, unit_kind=programme.unit_kind,
                                  unit_name=names.unit(row), starts_at=utc(row.starts_at)))
    return found


async def _questions(db: AsyncSession, site_id: int, now: datetime
                     ) -> tuple[StandbySession | None, list[StandbyQuestion]]:
    info = await next_legal_session(db, now)
    if info is None:
        return None, []
    categories = await category_names(db)
    rows = await db.scalars(
        select(Question).where(Question.session_id == info.id, Question.site_id == site_id,
                               Question.status != QuestionStatus.MERGED)
        .order_by(Question.position, Question.id).limit(MAX_QUESTIONS))
    return _legal(info), [
        StandbyQuestion(id=q.id, text=q.text, category=categories.get(q.category_id, ""),
                        status=q.status, status_label=STATUS_LABELS[q.status])
        for q in rows]
