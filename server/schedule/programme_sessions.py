"""Sessions: what the calendar shows, and the host's hand on a single session.

A host cancels a session (with a reason; it takes nobody's turn, so the rotation moves up)
or moves it by hand (it becomes *pinned*: the planner keeps its time). Both take the
version the host saw, so two people acting at once cannot overwrite each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import add_elapsed, local_datetime, utc, zone
from scheduling.planner import SessionStatus, question_cutoff
from server.accounts.directory import Actor, get
from server.core import audit
from server.core.clock import Clock, moment_label
from server.core.errors import N_, Conflict, ValidationFailed
from server.core.fields import FieldReader
from server.models import (
    ChangeKind,
    ChangeStatus,
    Programme,
    ProgrammeSession,
    RotationChange,
    UnitKind,
    User,
)
from server.notify import inbox
from server.notify.notices import Notice, deliver, host_users, site_users, unit_users
from server.schedule.planning import ReplanResult, check_room, replan, rule_of
from server.schedule.programmes import YEARS_AHEAD, parse_time
from server.schedule.units import Unit, units_of_kind


@dataclass(frozen=True)
class ChangeNote:
    """An accepted override or swap, as the calendar shows it."""

    kind: ChangeKind
    reason: str
    requested_by: str
    decided_by: str
    other_date: date | None = None
    unit_name: str | None = None


@dataclass(frozen=True)
class SessionView:
    id: int
    programme_id: int
    programme_name: str
    room: str
    timezone: str
    nominal_date: date
    local_date: date
    start: datetime
    end: datetime
    cutoff: datetime
    status: str  # planned | skipped | cancelled
    cancelled_by_plan: bool
    cancel_reason: str
    pinned: bool
    unit_kind: str  # department | deputy
    unit_id: int | None
    unit_name: str | None
    unit_active: bool
    holiday_name: str | None
    started: bool
    room_opened_at: datetime | None
    room_closed_at: datetime | None
    sequence: int
    version: int
    notes: tuple[ChangeNote, ...] = ()

    @property
    def local_start(self) -> datetime:
        """The start on the programme's wall clock."""
        return self.start.astimezone(zone(self.timezone))

    @property
    def moved(self) -> bool:
        return self.status == "planned" and self.local_date != self.nominal_date


async def _names(db: AsyncSession) -> dict[int, str]:
    return {u.id: u.display_name for u in await db.scalars(select(User))}


async def session_views(
    db: AsyncSession, rows: list[tuple[ProgrammeSession, Programme]], *, clock: Clock,
    calendar: WorkdayCalendar,
) -> list[SessionView]:
    """Plain views of sessions, with unit names and the overrides and swaps that apply."""
    now = utc(clock())
    ids = [row.id for row, _ in rows]
    changes: dict[int, list[RotationChange]] = {}
    if ids:
        found = await db.scalars(select(RotationChange).where(
            RotationChange.status == ChangeStatus.ACCEPTED,
            RotationChange.session_id.in_(ids) | RotationChange.other_session_id.in_(ids))
            .order_by(RotationChange.decided_at, RotationChange.id))
        for change in found:
            for sid in (change.session_id, change.other_session_id):
                if sid is not None:
                    changes.setdefault(sid, []).append(change)
    linked = {sid for cs in changes.values() for c in cs
              for sid in (c.session_id, c.other_session_id) if sid is not None}
    others = dict((await db.execute(
        select(ProgrammeSession.id, ProgrammeSession.nominal_date)
        .where(ProgrammeSession.id.in_(linked)))).all()) if linked else {}
    users = await _names(db) if changes else {}
    unit_cache: dict[UnitKind, dict[int, Unit]] = {}
    views = []
    for row, programme in rows:
        if programme.unit_kind not in unit_cache:
            unit_cache[programme.unit_kind] = await units_of_kind(db, programme.unit_kind)
        units = unit_cache[programme.unit_kind]
        unit = units.get(row.unit_id) if row.unit_id is not None else None
        tz = zone(programme.timezone)
        notes = []
        for change in changes.get(row.id, []):
            other = change.other_session_id if change.session_id == row.id else change.session_id
            target = units.get(change.target_unit_id) if change.target_unit_id else None
            notes.append(ChangeNote(
                kind=change.kind, reason=change.reason,
                requested_by=users.get(change.requested_by_id, ""),
                decided_by=users.get(change.decided_by_id or 0, ""),
                other_date=others.get(other) if other else None,
                unit_name=target.name if target else None))
        info = calendar.day_info(row.nominal_date)
        views.append(SessionView(
            id=row.id, programme_id=programme.id, programme_name=programme.name,
            room=programme.room, timezone=programme.timezone, nominal_date=row.nominal_date,
            local_date=row.starts_at.astimezone(tz).date(), start=row.starts_at,
            end=row.ends_at, cutoff=row.cutoff_at, status=row.status.value,
            cancelled_by_plan=row.cancelled_by_plan, cancel_reason=row.cancel_reason,
            pinned=row.pinned, unit_kind=programme.unit_kind.value, unit_id=row.unit_id,
            unit_name=unit.name if unit else None,
            unit_active=unit.active if unit else True,
            holiday_name=None if info.is_workday else (info.name_zh or info.name),
            started=utc(row.starts_at) <= now, room_opened_at=row.room_opened_at,
            room_closed_at=row.room_closed_at, sequence=row.sequence, version=row.version,
            notes=tuple(notes)))
    return views


async def sessions_between(
    db: AsyncSession, first: date, last: date, tz: ZoneInfo, *, programme_id: int | None = None,
) -> list[tuple[ProgrammeSession, Programme]]:
    """Sessions whose local start date (in `tz`) is in [first, last]."""
    lower = local_datetime(first, datetime.min.time(), tz) - timedelta(days=1)
    upper = local_datetime(last, datetime.min.time(), tz) + timedelta(days=2)
    stmt = (select(ProgrammeSession, Programme)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(ProgrammeSession.starts_at >= lower, ProgrammeSession.starts_at < upper)
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id))
    if programme_id is not None:
        stmt = stmt.where(ProgrammeSession.programme_id == programme_id)
    rows = [(s, p) for s, p in await db.execute(stmt)]
    return [(s, p) for s, p in rows if first <= s.starts_at.astimezone(tz).date() <= last]


async def session_view(db: AsyncSession, session_id: int, *, clock: Clock,
                       calendar: WorkdayCalendar) -> SessionView:
    row = await get(db, ProgrammeSession, session_id)
    programme = await get(db, Programme, row.programme_id)
    [view] = await session_views(db, [(row, programme)], clock=clock, calendar=calendar)
    return view


def read_version(data: Mapping[str, object]) -> int | None:
    """The `version` a form or body carries; None when missing or not a number.

    A wrong version is a conflict, never a field error: the person cannot fix it by typing.
    """
    raw = data.get("version")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


@dataclass(frozen=True, kw_only=True)
class CancelSession:
    """A host's cancellation: the version they saw, and the reason the units are told."""

    version: int | None
    reason: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> CancelSession:
        form = FieldReader(data)
        reason = form.text("reason", max_len=500)
        form.check()
        return cls(version=read_version(data), reason=reason)


@dataclass(frozen=True, kw_only=True)
class MoveSession:
    """A host's move: the version they saw, and the new local date and time."""

    version: int | None
    date: dt.date
    time: dt.time

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> MoveSession:
        form = FieldReader(data)
        day = form.day("date")
        at = parse_time(form, "time")
        form.check()
        assert at is not None  # form.check() raised otherwise
        return cls(version=read_version(data), date=day, time=at)


def _check_version(row: ProgrammeSession, version: int | None) -> None:
    if version != row.version:
        raise Conflict("Someone else changed this session. Please reload and try again.")


def _must_be_ahead(row: ProgrammeSession, now: datetime) -> None:
    if utc(row.starts_at) <= now:
        raise ValidationFailed("This session has already taken place.")
    if row.status is not SessionStatus.PLANNED:
        raise ValidationFailed("This session does not take place.")


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed this session. Please reload and try again.") \
            from exc


async def _editable(db: AsyncSession, session_id: int, version: int | None,
                    now: datetime) -> tuple[ProgrammeSession, Programme]:
    """The session and its programme, when the host may still change it at this version."""
    row = await get(db, ProgrammeSession, session_id)
    programme = await get(db, Programme, row.programme_id)
    _must_be_ahead(row, now)
    _check_version(row, version)
    return row, programme


async def cancel_session(
    db: AsyncSession, session_id: int, command: CancelSession, *, actor: Actor, clock: Clock,
) -> tuple[ReplanResult, list[Notice]]:
    """A host's cancellation, with a reason; the rotation moves up by one."""
    now = utc(clock())
    row, programme = await _editable(db, session_id, command.version, now)
    reason = command.reason
    row.status, row.cancel_reason = SessionStatus.CANCELLED, reason
    row.cancelled_by_id, row.cancelled_at, row.cancelled_by_plan = actor.user_id, now, False
    row.pinned = False
    row.sequence += 1
    row.updated_at = now
    await _flush(db)
    audit.record(db, at=now, actor_id=actor.user_id, action="session.cancel",
                 target_type="programme_session", target_id=row.id,
                 changes={"status": ["planned", "cancelled"], "reason": [None, reason]})
    local = row.starts_at.astimezone(zone(programme.timezone))
    people = {*await unit_users(db, programme.unit_kind, row.unit_id), *await site_users(db),
              *await host_users(db)}
    notice = await deliver(db, people, inbox.Message(
        kind="session.cancelled", title=N_("%(programme)s on %(date)s is cancelled"),
        body=reason, params={"programme": programme.name, "date": moment_label(local),
                             "reason": reason},
        link=f"/schedule/sessions/{row.id}", dedupe_key=f"session:{row.id}:cancelled"),
        clock=clock, session_id=row.id)
    result = await replan(db, programme.id, clock=clock, actor_id=actor.user_id)
    result.jobs.drop(row.id)
    return result, [notice] if notice else []


def _date_refused(message: str) -> ValidationFailed:
    return ValidationFailed("Please correct the marked fields.", field_errors={"date": message})


async def move_session(
    db: AsyncSession, session_id: int, command: MoveSession, *, actor: Actor, clock: Clock,
) -> tuple[ReplanResult, list[Notice]]:
    """Set a session's date and time by hand; it stays between its neighbours."""
    now = utc(clock())
    row, programme = await _editable(db, session_id, command.version, now)
    tz = zone(programme.timezone)
    day, at = command.date, command.time
    if day.year > now.astimezone(tz).year + YEARS_AHEAD:
        raise _date_refused(N_("Too far in the future."))
    start = local_datetime(day, at, tz)
    if utc(start) <= now:
        raise _date_refused(N_("The new time has already passed."))
    lower, upper = await _neighbour_bounds(db, row, programme, tz)
    if (lower is not None and day <= lower) or (upper is not None and day >= upper):
        raise _date_refused(N_("A session cannot move past the sessions before or after it."))
    before = {"start": row.starts_at, "end": row.ends_at}
    duration = row.ends_at - row.starts_at
    row.starts_at = start.astimezone(tz)
    row.ends_at = add_elapsed(row.starts_at, duration)
    row.cutoff_at = question_cutoff(row.starts_at, timedelta(minutes=programme.cutoff_minutes))
    row.pinned = True
    row.sequence += 1
    row.updated_at = now
    await _flush(db)
    await check_room(db, programme.room, now, tz)
    audit.record(db, at=now, actor_id=actor.user_id, action="session.move",
                 target_type="programme_session", target_id=row.id,
                 changes=audit.diff(before, {"start": row.starts_at, "end": row.ends_at}))
    people = {*await unit_users(db, programme.unit_kind, row.unit_id), *await site_users(db)}
    local = row.starts_at.astimezone(tz)
    notice = await deliver(db, people, inbox.Message(
        kind="session.moved", title=N_("%(programme)s moved to %(date)s"),
        params={"programme": programme.name, "date": moment_label(local)},
        link=f"/schedule/sessions/{row.id}",
        dedupe_key=f"session:{row.id}:moved:{row.sequence}"), clock=clock, session_id=row.id)
    result = await replan(db, programme.id, clock=clock, actor_id=actor.user_id)
    result.jobs.add(row)
    return result, [notice] if notice else []


async def _neighbour_bounds(
    db: AsyncSession, row: ProgrammeSession, programme: Programme, tz: ZoneInfo,
) -> tuple[date | None, date | None]:
    """Exclusive local-date bounds: a move never crosses a neighbouring session."""
    previous = await db.scalar(select(ProgrammeSession).where(
        ProgrammeSession.programme_id == row.programme_id,
        ProgrammeSession.nominal_date < row.nominal_date)
        .order_by(ProgrammeSession.nominal_date.desc()).limit(1))
    following = await db.scalar(select(ProgrammeSession).where(
        ProgrammeSession.programme_id == row.programme_id,
        ProgrammeSession.nominal_date > row.nominal_date)
        .order_by(ProgrammeSession.nominal_date).limit(1))
    lower = upper = None
    if previous is not None:
        lower = max(previous.nominal_date, previous.starts_at.astimezone(tz).date())
    if following is not None:
        upper = min(following.nominal_date, following.starts_at.astimezone(tz).date())
    else:
        upper = rule_of(programme).nominal_after(row.nominal_date)
    return lower, upper
