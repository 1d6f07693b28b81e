"""Materialising a programme's sessions: `scheduling.planner.plan` applied to the database.

Sessions keep their identity by nominal date: the plan's diff is applied by updating rows in
place, never by deleting and re-creating them, so questions and opinions attached to a
session's id move with it. A session the rule no longer produces is *cancelled by plan*
(and told to the hosts); a later plan that produces its date again reinstates it.

The rotation is rebased on every plan: the sessions that have taken place since the stored
anchor move the pointer on, and the anchor moves past them. A unit deactivated while on
the rotation is therefore passed over from the next session on, without re-interpreting the
turns it already served.

Job changes are returned, not applied: the scheduler's job store is written after the
transaction commits (`server.schedule.session_jobs.apply`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from scheduling.bookings import RoomBooking, find_overlaps
from scheduling.calendar import WorkdayCalendar
from scheduling.clock import utc, zone
from scheduling.errors import (
    DateOutOfRange,
    EmptyRotation,
    InvalidRecurrence,
    InvalidRotation,
    InvalidSession,
    RoomOverlap,
    SchedulingError,
)
from scheduling.planner import (
    Change,
    PlannedSession,
    RotationState,
    SessionStatus,
    plan,
)
from scheduling.recurrence import RecurrenceRule
from scheduling.rotation import RotationUnit, next_index
from server.core import audit
from server.core.clock import Clock, day_label
from server.core.errors import N_, Conflict, NotFound, ValidationFailed
from server.models import (
    ChangeKind,
    ChangeStatus,
    Programme,
    ProgrammeSession,
    Role,
    RotationChange,
)
from server.notify import inbox
from server.schedule.units import Unit, rotation_of, set_unit, units_of_kind
from server.schedule.workdays import load_calendar

_MESSAGES: Mapping[type[SchedulingError], str] = {
    InvalidRecurrence: N_("The recurrence is not valid."),
    EmptyRotation: N_("The rotation has no active unit."),
    InvalidRotation: N_("The rotation is not valid."),
    InvalidSession: N_("The session times are not valid."),
    RoomOverlap: N_("Sessions would overlap in the same room."),
    DateOutOfRange: N_("The date is too far in the future."),
}


def as_validation(exc: SchedulingError, field_name: str | None = None) -> ValidationFailed:
    """A scheduling error as the user's fault, with a translatable message."""
    message = next((m for cls, m in _MESSAGES.items() if isinstance(exc, cls)),
                   N_("The schedule cannot be made this way."))
    return ValidationFailed(message, field_errors={field_name: message} if field_name else None)


@dataclass(frozen=True)
class SessionTimes:
    start: datetime
    end: datetime
    cutoff: datetime


@dataclass
class JobChanges:
    """What the scheduler must do once the transaction has committed."""

    schedule: dict[int, SessionTimes] = field(default_factory=dict)
    # Sessions created now: their jobs that are already due still run (a session
    # planned less than 24 hours ahead gets its cutoff at once).
    fresh: set[int] = field(default_factory=set)
    remove: set[int] = field(default_factory=set)

    def add(self, row: ProgrammeSession, *, fresh: bool = False) -> None:
        self.remove.discard(row.id)
        self.schedule[row.id] = SessionTimes(row.starts_at, row.ends_at, row.cutoff_at)
        if fresh:
            self.fresh.add(row.id)

    def drop(self, session_id: int) -> None:
        self.schedule.pop(session_id, None)
        self.fresh.discard(session_id)
        self.remove.add(session_id)

    def merge(self, other: JobChanges) -> None:
        for session_id in other.remove:
            self.drop(session_id)
        for session_id, times in other.schedule.items():
            self.remove.discard(session_id)
            self.schedule[session_id] = times
        self.fresh |= other.fresh


@dataclass
class ReplanResult:
    created: int = 0
    updated: int = 0
    lost: int = 0
    missing_years: tuple[int, ...] = ()
    jobs: JobChanges = field(default_factory=JobChanges)

    def merge(self, other: ReplanResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.lost += other.lost
        self.missing_years = tuple(sorted(set(self.missing_years) | set(other.missing_years)))
        self.jobs.merge(other.jobs)


def rule_of(programme: Programme) -> RecurrenceRule:
    return RecurrenceRule.from_rrule(
        programme.rrule, start_date=programme.start_date, start_time=programme.start_time,
        duration=timedelta(minutes=programme.duration_minutes), timezone=programme.timezone,
        end_date=programme.end_date)


def _as_planned(row: ProgrammeSession) -> PlannedSession:
    # A cancellation by plan is the planner's own kind of "not taking place": one it
    # may take back, like a skip. A person's cancellation is final.
    status = SessionStatus.SKIPPED if row.cancelled_by_plan else row.status
    return PlannedSession(nominal_date=row.nominal_date, start=row.starts_at, end=row.ends_at,
                          cutoff=row.cutoff_at, unit=row.unit_id, status=status,
                          pinned=row.pinned)


async def lock_programme(db: AsyncSession, programme_id: int, *, clock: Clock) -> Programme:
    """Load a programme and bump its version, so concurrent re-plans of it serialise."""
    programme = await db.get(Programme, programme_id)
    if programme is None:
        raise NotFound("Not found.")
    programme.replanned_at = clock()
    flag_modified(programme, "replanned_at")
    try:
        await db.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed this programme. Please reload and try again.") \
            from exc
    return programme


async def sessions_of(db: AsyncSession, programme_id: int) -> list[ProgrammeSession]:
    rows = await db.scalars(select(ProgrammeSession)
                            .where(ProgrammeSession.programme_id == programme_id)
                            .order_by(ProgrammeSession.nominal_date))
    return list(rows)


async def _accepted_changes(db: AsyncSession, programme_id: int) -> list[RotationChange]:
    rows = await db.scalars(select(RotationChange).where(
        RotationChange.programme_id == programme_id,
        RotationChange.status == ChangeStatus.ACCEPTED).order_by(RotationChange.decided_at,
                                                                  RotationChange.id))
    return list(rows)


@dataclass(frozen=True)
class _Rotation:
    state: RotationState | None
    anchor: date
    start_index: int


def _rebased_rotation(
    programme: Programme, rotation: list[Unit], rows: list[ProgrammeSession],
    changes: list[RotationChange], guests: Mapping[int, Unit], now: datetime,
) -> _Rotation:
    anchor, index = programme.rotation_anchor, programme.rotation_start_index
    if not any(unit.active for unit in rotation):
        return _Rotation(None, anchor, index)
    index %= len(rotation)
    by_id = {row.id: row for row in rows}
    overrides: dict[date, int] = {}
    swaps: list[tuple[date, date]] = []
    for change in changes:
        first = by_id.get(change.session_id)
        if first is None:
            continue
        if change.kind is ChangeKind.OVERRIDE and change.target_unit_id is not None:
            overrides[first.nominal_date] = change.target_unit_id
        elif change.kind is ChangeKind.SWAP and change.other_session_id in by_id:
            swaps.append((first.nominal_date, by_id[change.other_session_id].nominal_date))
    held = [row for row in rows if row.status is SessionStatus.PLANNED
            and not row.cancelled_by_plan and row.nominal_date >= anchor]
    history = [row for row in held if utc(row.starts_at) <= now]
    if history:
        # A unit that served a session was active then, whatever it is now.
        served = {row.unit_id for row in history}
        then = [RotationUnit(id=u.id, active=u.active or u.id in served) for u in rotation]
        days = [row.nominal_date for row in history]
        idle = {unit.id for unit in then if not unit.active}
        served_overrides = {d: overrides[d] for d in days
                            if d in overrides and overrides[d] not in idle}
        index = next_index(days, then, served_overrides, index)
        anchor = max(anchor, days[-1] + timedelta(days=1))
    members = {unit.id: unit for unit in rotation}
    inactive = {uid for uid, unit in {**guests, **members}.items() if not unit.active}
    state = RotationState(
        units=tuple(RotationUnit(id=u.id, active=u.active) for u in rotation),
        anchor=anchor, start_index=index,
        overrides={d: u for d, u in overrides.items() if d >= anchor and u not in inactive},
        swaps=tuple((a, b) for a, b in swaps if a >= anchor and b >= anchor))
    return _Rotation(state, anchor, index)


async def replan(
    db: AsyncSession, programme_id: int, *, clock: Clock, actor_id: int | None = None,
    calendar: WorkdayCalendar | None = None,
) -> ReplanResult:
    """Bring a programme's stored sessions in line with its rule, rotation and calendar."""
    programme = await lock_programme(db, programme_id, clock=clock)
    now = utc(clock())
    rows = await sessions_of(db, programme.id)
    if not programme.active:
        return await _retire(db, programme, rows, now, clock=clock, actor_id=actor_id)
    try:
        rule = rule_of(programme)
    except SchedulingError as exc:
        raise as_validation(exc) from exc
    calendar = calendar or await load_calendar(db)
    rotation = await rotation_of(db, programme)
    guests = await units_of_kind(db, programme.unit_kind)
    changes = await _accepted_changes(db, programme.id)
    try:
        rebased = _rebased_rotation(programme, rotation, rows, changes, guests, now)
        today = now.astimezone(rule.zone).date()
        since = min(rebased.anchor, today)
        existing = [row for row in rows if row.nominal_date >= since or utc(row.starts_at) > now]
        diff = plan(rule=rule, policy=programme.holiday_policy, calendar=calendar,
                    existing=[_as_planned(row) for row in existing], clock=lambda: now,
                    rotation=rebased.state, weeks=programme.weeks_ahead,
                    cutoff_before=timedelta(minutes=programme.cutoff_minutes))
    except SchedulingError as exc:
        raise as_validation(exc) from exc
    programme.rotation_anchor, programme.rotation_start_index = rebased.anchor, rebased.start_index
    result = ReplanResult(missing_years=diff.missing_years)
    by_date = {row.nominal_date: row for row in existing}
    kind = programme.unit_kind
    for planned in diff.create:
        row = ProgrammeSession(
            programme_id=programme.id, nominal_date=planned.nominal_date,
            starts_at=planned.start, ends_at=planned.end, cutoff_at=planned.cutoff,
            status=SessionStatus.PLANNED, pinned=False, cancelled_by_plan=False,
            cancel_reason="", sequence=0, created_at=now, updated_at=now)
        set_unit(row, kind, _int_unit(planned.unit))
        db.add(row)
        by_date[planned.nominal_date] = row
    await db.flush()
    for planned in diff.create:
        result.jobs.add(by_date[planned.nominal_date], fresh=True)
    result.created = len(diff.create)
    for update in diff.update:
        row = by_date[update.after.nominal_date]
        after = update.after
        row.starts_at, row.ends_at, row.cutoff_at = after.start, after.end, after.cutoff
        set_unit(row, kind, _int_unit(after.unit))
        if Change.SKIPPED in update.changes:
            row.status, row.cancelled_by_plan = SessionStatus.SKIPPED, False
        elif after.status is SessionStatus.PLANNED:
            row.status, row.cancelled_by_plan, row.cancel_reason = SessionStatus.PLANNED, False, ""
        row.sequence += 1
        row.updated_at = now
        if row.status is SessionStatus.PLANNED:
            if update.changes & {Change.MOVED, Change.CUTOFF, Change.REINSTATED}:
                result.jobs.add(row, fresh=Change.REINSTATED in update.changes)
        else:
            result.jobs.drop(row.id)
    result.updated = len(diff.update)
    for gone in diff.vanished:
        row = by_date[gone.nominal_date]
        if row.status is SessionStatus.PLANNED:
            row.sequence += 1
        if not row.cancelled_by_plan:
            row.status, row.cancelled_by_plan, row.pinned = SessionStatus.CANCELLED, True, False
            row.updated_at = now
        result.jobs.drop(row.id)
    await db.flush()
    lost = [by_date[s.nominal_date] for s in diff.lost]
    result.lost = len(lost)
    await tell_hosts_lost(db, programme, lost, clock=clock)
    await check_room(db, programme.room, now, rule.zone)
    if result.created or result.updated or diff.vanished:
        audit.record(db, at=now, actor_id=actor_id, action="programme.replan",
                     target_type="programme", target_id=programme.id,
                     changes={"created": [None, result.created],
                              "updated": [None, result.updated],
                              "lost": [None, result.lost]})
    return result


def _int_unit(unit: object) -> int | None:
    return unit if isinstance(unit, int) else None


async def _retire(
    db: AsyncSession, programme: Programme, rows: list[ProgrammeSession], now: datetime, *,
    clock: Clock, actor_id: int | None,
) -> ReplanResult:
    """An inactive programme keeps its history; its future sessions are cancelled by plan."""
    result = ReplanResult()
    lost = []
    for row in rows:
        if utc(row.starts_at) <= now or row.cancelled_by_plan \
                or row.status is SessionStatus.CANCELLED:
            continue
        if row.status is SessionStatus.PLANNED:
            lost.append(row)
            row.sequence += 1
        row.status, row.cancelled_by_plan, row.pinned = SessionStatus.CANCELLED, True, False
        row.updated_at = now
        result.jobs.drop(row.id)
    await db.flush()
    result.lost = len(lost)
    await tell_hosts_lost(db, programme, lost, clock=clock)
    if lost:
        audit.record(db, at=now, actor_id=actor_id, action="programme.retire",
                     target_type="programme", target_id=programme.id,
                     changes={"lost": [None, len(lost)]})
    return result


async def tell_hosts_lost(
    db: AsyncSession, programme: Programme, rows: Iterable[ProgrammeSession], *, clock: Clock
) -> None:
    hosts = await inbox.recipients(db, roles=[Role.HOST])
    for row in rows:
        local = row.starts_at.astimezone(zone(programme.timezone))
        await inbox.deliver(db, hosts, inbox.Message(
            kind="session.lost",
            title=N_("%(programme)s on %(date)s will no longer take place"),
            body=N_("The plan changed (rule, rotation or working-day calendar). "
                    "Check what was attached to this session."),
            params={"programme": programme.name, "date": day_label(local.date())},
            link=f"/schedule/sessions/{row.id}",
            dedupe_key=f"session:{row.id}:lost:{row.sequence}"), clock=clock)


async def check_room(db: AsyncSession, room: str, now: datetime, tz: ZoneInfo) -> None:
    """Refuse a plan that puts two sessions in one room at once (from now on)."""
    rows = await db.execute(
        select(ProgrammeSession.id, ProgrammeSession.starts_at, ProgrammeSession.ends_at)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.room == room, Programme.active,
               ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.ends_at > now))
    bookings = [RoomBooking(session=sid, room=room, start=start, end=end)
                for sid, start, end in rows]
    overlaps = find_overlaps(bookings)
    if overlaps:
        first = overlaps[0]
        raise ValidationFailed(
            N_("Sessions would overlap in room %(room)s on %(date)s."),
            params={"room": room, "date": first.start.astimezone(tz).date().isoformat()})


async def replan_all(db: AsyncSession, *, clock: Clock, actor_id: int | None = None
                     ) -> ReplanResult:
    """Re-plan every programme (after the working-day calendar changed)."""
    calendar = await load_calendar(db)
    result = ReplanResult()
    ids = await db.scalars(select(Programme.id).order_by(Programme.id))
    for programme_id in list(ids):
        result.merge(await replan(db, programme_id, clock=clock, actor_id=actor_id,
                                  calendar=calendar))
    return result
