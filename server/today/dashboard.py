"""The dashboard's view builders: for each role, what to do now, as plain dataclasses.

Read-only: every query here reuses the features' own views (legal questions, opinion
summaries, duty changes, follow-ups, the working-day calendar) and changes nothing, so
opening the dashboard never marks a packet read or a message seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import YearStatus
from scheduling.clock import utc
from scheduling.planner import SessionStatus
from server.accounts.users import Principal
from server.core.clock import Clock
from server.core.errors import N_
from server.legal.consultation import SessionInfo, collecting_sessions, infos, sessions_around
from server.legal.follow_ups import FollowUpRow, list_follow_ups
from server.legal.packet import get_packet, packet_link
from server.legal.views import QuestionView, views
from server.legal.views import load_names as legal_names
from server.models import (
    Opinion,
    OpinionStatus,
    PacketRead,
    Programme,
    ProgrammeSession,
    Question,
    Role,
    Site,
    UnitKind,
    User,
)
from server.opinions.lifecycle import OPEN
from server.opinions.views import OpinionSummary, summary
from server.opinions.views import load_names as opinion_names
from server.schedule.rotation_changes import ChangeView, list_changes
from server.schedule.workdays import load_calendar

LIST_LIMIT = 20


@dataclass(frozen=True, kw_only=True)
class SessionTodo:
    """A session seen from now: when it starts, until when it takes questions, its room."""

    id: int
    programme_name: str
    room: str
    starts_at: datetime
    ends_at: datetime
    cutoff_at: datetime
    unit_name: str
    now: datetime

    @property
    def room_href(self) -> str:
        return f"/rooms/{self.room}"

    @property
    def collecting(self) -> bool:
        return utc(self.now) < utc(self.cutoff_at)

    @property
    def started(self) -> bool:
        return utc(self.starts_at) <= utc(self.now)

    @property
    def countdown(self) -> tuple[int, int, int]:
        """Days, hours and minutes until the start (zeros once it has started)."""
        seconds = max(0, int((utc(self.starts_at) - utc(self.now)).total_seconds()))
        return seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60

    @property
    def cutoff_countdown(self) -> tuple[int, int, int]:
        seconds = max(0, int((utc(self.cutoff_at) - utc(self.now)).total_seconds()))
        return seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60


def _todo(info: SessionInfo, now: datetime) -> SessionTodo:
    return SessionTodo(id=info.id, programme_name=info.programme_name, room=info.room,
                       starts_at=info.starts_at, ends_at=info.ends_at,
                       cutoff_at=info.cutoff_at, unit_name=info.department_name, now=now)


@dataclass(frozen=True, kw_only=True)
class PacketStatus:
    """Where a session's question packet stands for one officer."""

    session_id: int
    state: str  # "waiting" (before the cutoff), "compiling" (cutoff passed), "sent"
    mark: str | None  # "ready" (sent, not opened yet) or "changed" (changed since opened)
    version: int | None
    sent_at: datetime | None
    updated_at: datetime | None
    cutoff_at: datetime

    @property
    def href(self) -> str:
        return packet_link(self.session_id)

    @property
    def label(self) -> str:
        return {"waiting": N_("Sent automatically at the cutoff"),
                "compiling": N_("The cutoff has passed: the packet is being compiled"),
                "sent": N_("Sent")}[self.state]


@dataclass(frozen=True, kw_only=True)
class SiteToday:
    next_session: SessionTodo | None
    submit_href: str
    questions: list[QuestionView]
    to_confirm: list[OpinionSummary]


@dataclass(frozen=True, kw_only=True)
class HostToday:
    today_sessions: list[SessionTodo]
    to_accept: list[OpinionSummary]
    overdue: list[OpinionSummary]
    swaps: list[ChangeView]


@dataclass(frozen=True, kw_only=True)
class OfficerToday:
    next_duty: SessionTodo | None
    packet: PacketStatus | None
    follow_ups: list[FollowUpRow]


@dataclass(frozen=True, kw_only=True)
class RecordedItem:
    item: OpinionSummary
    next_actor: str  # who acts next, in words (a msgid or a department's name)


@dataclass(frozen=True, kw_only=True)
class DeputyToday:
    next_duty: SessionTodo | None
    recorded: list[RecordedItem]


@dataclass(frozen=True, kw_only=True)
class AdminToday:
    next_year: int
    next_year_status: YearStatus
    inactive_users: list[str]  # display names (user names)
    sites_without_users: list[str]

    @property
    def next_year_ready(self) -> bool:
        return self.next_year_status is not YearStatus.MISSING

    @property
    def all_set(self) -> bool:
        return self.next_year_ready and not self.inactive_users and not self.sites_without_users


Today = SiteToday | HostToday | OfficerToday | DeputyToday | AdminToday


async def today_for(db: AsyncSession, viewer: Principal, *, clock: Clock,
                    tz: ZoneInfo) -> Today | None:
    """The viewer's to-dos; None for a role without a dashboard of its own."""
    now = clock()
    if viewer.role is Role.SITE and viewer.site_id is not None:
        return await site_today(db, viewer, now=now)
    if viewer.role is Role.HOST:
        return await host_today(db, viewer, now=now, tz=tz)
    if viewer.role is Role.OFFICER and viewer.department_id is not None:
        return await officer_today(db, viewer, viewer.department_id, now=now, tz=tz)
    if viewer.role is Role.DEPUTY and viewer.deputy_id is not None:
        return await deputy_today(db, viewer, viewer.deputy_id, now=now)
    if viewer.role is Role.ADMIN:
        return await admin_today(db, now=now, tz=tz)
    return None


# -- the site ------------------------------------------------------------------------------


async def next_legal_session(db: AsyncSession, now: datetime) -> SessionInfo | None:
    """The next session that takes questions, else the next one at all."""
    collecting = await collecting_sessions(db, now, limit=1)
    if collecting:
        return collecting[0]
    ahead = [s for s in await sessions_around(db, now, before=0, ahead=1) if not s.over(now)]
    return ahead[0] if ahead else None


async def site_today(db: AsyncSession, viewer: Principal, *, now: datetime) -> SiteToday:
    info = await next_legal_session(db, now)
    rows: list[Question] = []
    if info is not None:
        rows = list(await db.scalars(
            select(Question).where(Question.session_id == info.id,
                                   Question.site_id == viewer.site_id)
            .order_by(Question.position, Question.id)))
    names = await opinion_names(db)
    resolved = await db.scalars(
        select(Opinion).where(Opinion.site_id == viewer.site_id,
                              Opinion.status == OpinionStatus.RESOLVED)
        .order_by(Opinion.resolved_at, Opinion.id).limit(LIST_LIMIT))
    submit = "/legal/questions/new"
    if info is not None and info.collecting(now):
        submit += f"?session_id={info.id}"
    return SiteToday(
        next_session=_todo(info, now) if info else None, submit_href=submit,
        questions=await views(db, rows, viewer=viewer, names=await legal_names(db)),
        to_confirm=[summary(o, names, now) for o in resolved])


# -- the host --------------------------------------------------------------------------------


def _day_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    day: date = now.astimezone(tz).date()
    start = datetime.combine(day, time(0), tzinfo=tz)
    return utc(start), utc(start + timedelta(days=1))


async def _sessions_today(db: AsyncSession, now: datetime, tz: ZoneInfo) -> list[SessionTodo]:
    start, end = _day_bounds(now, tz)
    ids = list(await db.scalars(
        select(ProgrammeSession.id).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.active, ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.starts_at >= start, ProgrammeSession.starts_at < end)))
    found = await infos(db, ids)
    deputies = await _deputy_units(db, ids)
    return [_todo(i, now) if i.department_name else
            SessionTodo(id=i.id, programme_name=i.programme_name, room=i.room,
                        starts_at=i.starts_at, ends_at=i.ends_at, cutoff_at=i.cutoff_at,
                        unit_name=deputies.get(i.id, ""), now=now)
            for i in sorted(found.values(), key=lambda s: s.starts_at)]


async def _deputy_units(db: AsyncSession, session_ids: list[int]) -> dict[int, str]:
    if not session_ids:
        return {}
    names = (await opinion_names(db)).deputies
    rows = await db.execute(select(ProgrammeSession.id, ProgrammeSession.deputy_id)
                            .where(ProgrammeSession.id.in_(session_ids)))
    return {int(s): names.get(d, "") for s, d in rows if d is not None}


async def host_today(db: AsyncSession, viewer: Principal, *, now: datetime,
                     tz: ZoneInfo) -> HostToday:
    names = await opinion_names(db)
    received = await db.scalars(select(Opinion).where(Opinion.status == OpinionStatus.RECEIVED)
                                .order_by(Opinion.received_at, Opinion.id).limit(LIST_LIMIT))
    late = await db.scalars(select(Opinion).where(Opinion.status.in_(OPEN),
                                                  Opinion.due_at.is_not(None),
                                                  Opinion.due_at <= utc(now))
                            .order_by(Opinion.due_at, Opinion.id).limit(LIST_LIMIT))
    swaps = [c for c in await list_changes(db, viewer)
             if c.status == "pending" and c.can_decide]
    return HostToday(today_sessions=await _sessions_today(db, now, tz),
                     to_accept=[summary(o, names, now) for o in received],
                     overdue=[summary(o, names, now) for o in late], swaps=swaps)


# -- the officer -----------------------------------------------------------------------------


async def _next_duty(db: AsyncSession, now: datetime, *, kind: UnitKind,
                     unit_id: int) -> SessionTodo | None:
    unit = (ProgrammeSession.department_id if kind is UnitKind.DEPARTMENT
            else ProgrammeSession.deputy_id)
    ident = await db.scalar(
        select(ProgrammeSession.id).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.active, Programme.unit_kind == kind, unit == unit_id,
               ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.ends_at > utc(now))
        .order_by(ProgrammeSession.starts_at).limit(1))
    if ident is None:
        return None
    info = (await infos(db, [ident]))[ident]
    todo = _todo(info, now)
    if kind is UnitKind.DEPUTY:
        units = await _deputy_units(db, [ident])
        todo = SessionTodo(id=todo.id, programme_name=todo.programme_name, room=todo.room,
                           starts_at=todo.starts_at, ends_at=todo.ends_at,
                           cutoff_at=todo.cutoff_at, unit_name=units.get(ident, ""), now=now)
    return todo


async def packet_status(db: AsyncSession, session: SessionTodo, viewer: Principal,
                        ) -> PacketStatus:
    packet = await get_packet(db, session.id)
    if packet is None:
        return PacketStatus(session_id=session.id,
                            state="waiting" if session.collecting else "compiling", mark=None,
                            version=None, sent_at=None, updated_at=None,
                            cutoff_at=session.cutoff_at)
    read_version = await db.scalar(select(PacketRead.read_version).where(
        PacketRead.packet_id == packet.id, PacketRead.user_id == viewer.user_id))
    mark = ("ready" if read_version is None
            else "changed" if read_version < packet.version else None)
    return PacketStatus(session_id=session.id, state="sent", mark=mark, version=packet.version,
                        sent_at=packet.compiled_at, updated_at=packet.updated_at,
                        cutoff_at=session.cutoff_at)


async def officer_today(db: AsyncSession, viewer: Principal, department_id: int, *,
                        now: datetime, tz: ZoneInfo) -> OfficerToday:
    duty = await _next_duty(db, now, kind=UnitKind.DEPARTMENT, unit_id=department_id)
    follow_ups = await list_follow_ups(db, viewer, open_only=True,
                                       today=now.astimezone(tz).date())
    return OfficerToday(next_duty=duty,
                        packet=await packet_status(db, duty, viewer) if duty else None,
                        follow_ups=follow_ups[:LIST_LIMIT])


# -- the deputy ------------------------------------------------------------------------------


def next_actor(item: OpinionSummary) -> str:
    if item.status is OpinionStatus.RECEIVED:
        return N_("The street office accepts it")
    if item.status in OPEN:
        return item.department or N_("The street office")
    if item.status is OpinionStatus.RESOLVED:
        return N_("The site confirms it with the resident")
    return N_("Nobody: finished")


async def deputy_today(db: AsyncSession, viewer: Principal, deputy_id: int, *,
                       now: datetime) -> DeputyToday:
    names = await opinion_names(db)
    rows = await db.scalars(select(Opinion).where(Opinion.recorded_by_id == viewer.user_id)
                            .order_by(Opinion.updated_at.desc(), Opinion.id.desc())
                            .limit(LIST_LIMIT))
    recorded = [summary(o, names, now) for o in rows]
    return DeputyToday(
        next_duty=await _next_duty(db, now, kind=UnitKind.DEPUTY, unit_id=deputy_id),
        recorded=[RecordedItem(item=s, next_actor=next_actor(s)) for s in recorded])


# -- the administrator -----------------------------------------------------------------------


async def admin_today(db: AsyncSession, *, now: datetime, tz: ZoneInfo) -> AdminToday:
    next_year = now.astimezone(tz).year + 1
    calendar = await load_calendar(db)
    inactive = [f"{u.display_name} ({u.username})" for u in await db.scalars(
        select(User).where(User.active.is_(False)).order_by(User.username))]
    staffed = select(User.site_id).where(User.active, User.site_id.is_not(None))
    empty = [s.name for s in await db.scalars(
        select(Site).where(Site.active, Site.id.not_in(staffed)).order_by(Site.position))]
    return AdminToday(next_year=next_year, next_year_status=calendar.year_status(next_year),
                      inactive_users=inactive, sites_without_users=empty)
