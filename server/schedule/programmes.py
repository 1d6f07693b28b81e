"""Programmes and their rotations: the administrator's use cases.

Saving a programme or its rotation re-plans its sessions in the same transaction
(`server.schedule.planning.replan`); the caller applies the returned job changes after commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import DEFAULT_TIMEZONE, utc, zone
from scheduling.errors import SchedulingError
from scheduling.occurrences import HolidayPolicy
from scheduling.planner import DEFAULT_WEEKS, SessionStatus
from scheduling.recurrence import (
    MonthlyByDay,
    MonthlyByWeekday,
    Pattern,
    RecurrenceRule,
    Weekday,
    Weekly,
)
from server.accounts.directory import Actor, get, the_street
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, ValidationFailed
from server.core.fields import FieldReader, parse_id
from server.models import MEETING_ROOM_PREFIX, Programme, ProgrammeSession, RotationMember, UnitKind
from server.schedule.planning import ReplanResult, as_validation, replan, rule_of
from server.schedule.units import Unit, duty_candidates, rotation_of, units_of_kind

PATTERNS = ("weekly", "monthly_weekday", "monthly_day")
NTH_VALUES = (1, 2, 3, 4, -1)
MAX_WEEKS_AHEAD = 104
MAX_CUTOFF_HOURS = 14 * 24
EARLIEST = date(2000, 1, 1)
YEARS_AHEAD = 5  # a programme starts or ends at most this many years from today
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
PROGRAMME_FIELDS = ("name", "room", "rrule", "start_date", "end_date", "start_time",
                    "duration_minutes", "timezone", "holiday_policy", "cutoff_minutes",
                    "unit_kind", "weeks_ahead", "active")


def _date(form: FieldReader, name: str, *, required: bool) -> date | None:
    value = form.day(name) if required else form.optional_day(name)
    if name in form.errors:
        return None
    if value is not None and value < EARLIEST:
        form.fail(name, N_("Out of range."))
    return value


def parse_time(form: FieldReader, name: str) -> time | None:
    raw = form.line(name, max_len=5)
    match = TIME_RE.match(raw)
    if raw and match is None:
        form.fail(name, N_("Enter a time as HH:MM."))
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _pattern(form: FieldReader, data: Mapping[str, object]) -> Pattern | None:
    kind = str(data.get("pattern", "")).strip()
    if kind not in PATTERNS:
        form.fail("pattern", N_("Choose one of the options."))
        return None
    if kind == "monthly_day":
        day = form.integer("month_day", minimum=1, maximum=31)
        return MonthlyByDay(day=day) if "month_day" not in form.errors else None
    weekday = form.integer("weekday", minimum=0, maximum=6)
    if "weekday" in form.errors:
        return None
    if kind == "weekly":
        return Weekly(weekday=Weekday(weekday))
    nth = form.integer("nth", minimum=-1, maximum=4)
    if "nth" not in form.errors and nth not in NTH_VALUES:
        form.fail("nth", N_("Choose one of the options."))
    return MonthlyByWeekday(weekday=Weekday(weekday), n=nth) if "nth" not in form.errors \
        else None


@dataclass(frozen=True, kw_only=True)
class ProgrammeCommand:
    """A programme as the administrator sets it up; the form's fields, command.

    `rule` carries the pattern, start and end dates, start time, duration and time zone
    (the form's `pattern`, `weekday`, `nth`, `month_day`, `start_date`, `end_date`,
    `start_time`, `duration_minutes` and `timezone`). How far ahead a programme may start
    depends on today, so `save_programme` checks that.
    """

    name: str
    room: str
    rule: RecurrenceRule
    holiday_policy: HolidayPolicy
    cutoff_hours: int
    unit_kind: UnitKind
    weeks_ahead: int
    active: bool

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> ProgrammeCommand:
        form = FieldReader(data)
        name = form.line("name", max_len=100)
        room = form.code("room")
        if room.startswith(MEETING_ROOM_PREFIX):
            form.fail("room", N_("Room codes starting with 'meeting-' belong to ad-hoc meetings."))
        pattern = _pattern(form, data)
        start_time = parse_time(form, "start_time")
        duration = form.integer("duration_minutes", minimum=1, maximum=24 * 60)
        tz_name = form.line("timezone", max_len=64)
        if tz_name:
            try:
                zone(tz_name)
            except LookupError:
                form.fail("timezone", N_("Unknown time zone."))
        start_date = _date(form, "start_date", required=True)
        end_date = _date(form, "end_date", required=False)
        if start_date and end_date and end_date < start_date:
            form.fail("end_date", N_("The end date is before the start date."))
        policy = form.choice("holiday_policy", HolidayPolicy)
        cutoff_hours = form.integer("cutoff_hours", minimum=0, maximum=MAX_CUTOFF_HOURS)
        unit_kind = form.choice("unit_kind", UnitKind)
        weeks_ahead = form.integer("weeks_ahead", minimum=1, maximum=MAX_WEEKS_AHEAD)
        active = form.flag("active")
        form.check()
        # form.check() raised if any of these is missing.
        assert pattern is not None
        assert start_time is not None
        assert start_date is not None
        assert policy is not None
        assert unit_kind is not None
        try:
            rule = RecurrenceRule(pattern=pattern, start_date=start_date,
                                  start_time=start_time, duration=timedelta(minutes=duration),
                                  timezone=tz_name, end_date=end_date)
        except SchedulingError as exc:
            raise as_validation(exc, "pattern") from exc
        return cls(name=name, room=room, rule=rule, holiday_policy=policy,
                   cutoff_hours=cutoff_hours, unit_kind=unit_kind, weeks_ahead=weeks_ahead,
                   active=active)


def _within_years_ahead(rule: RecurrenceRule, today: date) -> None:
    errors = {name: N_("Too far in the future.")
              for name, value in (("start_date", rule.start_date), ("end_date", rule.end_date))
              if value is not None and value.year > today.year + YEARS_AHEAD}
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)


def _snapshot(programme: Programme) -> dict[str, object]:
    return {f: getattr(programme, f) for f in PROGRAMME_FIELDS}


async def save_programme(
    db: AsyncSession, command: ProgrammeCommand, *, actor: Actor, clock: Clock,
    programme_id: int | None = None,
) -> tuple[Programme, ReplanResult]:
    """Create or edit a programme and re-plan it."""
    now = clock()
    _within_years_ahead(command.rule, now.astimezone(zone(DEFAULT_TIMEZONE)).date())
    programme = await get(db, Programme, programme_id) if programme_id else None
    if programme is not None and programme.unit_kind is not command.unit_kind \
            and await rotation_of(db, programme):
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "unit_kind": N_("Empty the rotation before changing what rotates.")})
    rule = command.rule
    before = _snapshot(programme) if programme else {}
    if programme is None:
        today = now.astimezone(rule.zone).date()
        programme = Programme(
            street_id=(await the_street(db)).id, created_at=now,
            rotation_anchor=max(rule.start_date, today), rotation_start_index=0)
        db.add(programme)
    programme.name, programme.room, programme.rrule = command.name, command.room, rule.rrule
    programme.start_date, programme.end_date = rule.start_date, rule.end_date
    programme.start_time = rule.start_time
    programme.duration_minutes = int(rule.duration.total_seconds() // 60)
    programme.timezone, programme.holiday_policy = rule.timezone, command.holiday_policy
    programme.cutoff_minutes = command.cutoff_hours * 60
    programme.unit_kind, programme.weeks_ahead = command.unit_kind, command.weeks_ahead
    programme.active, programme.updated_at = command.active, now
    await db.flush()
    audit.record(db, at=now, actor_id=actor.user_id,
                 action="programme.update" if before else "programme.create",
                 target_type="programme", target_id=programme.id,
                 changes=audit.diff(before, _snapshot(programme)))
    return programme, await replan(db, programme.id, clock=clock, actor_id=actor.user_id)


def form_values(programme: Programme | None, *, today: date) -> dict[str, str]:
    if programme is None:
        return {"pattern": "weekly", "weekday": "3", "nth": "1", "month_day": "1",
                "start_time": "09:30", "duration_minutes": "60", "timezone": DEFAULT_TIMEZONE,
                "start_date": today.isoformat(), "end_date": "",
                "holiday_policy": HolidayPolicy.NEXT_WORKDAY.value, "cutoff_hours": "24",
                "unit_kind": UnitKind.DEPARTMENT.value, "weeks_ahead": str(DEFAULT_WEEKS),
                "active": "on", "name": "", "room": ""}
    rule = rule_of(programme)
    values = {
        "name": programme.name, "room": programme.room, "weekday": "3", "nth": "1",
        "month_day": "1", "start_time": programme.start_time.strftime("%H:%M"),
        "duration_minutes": str(programme.duration_minutes), "timezone": programme.timezone,
        "start_date": programme.start_date.isoformat(),
        "end_date": programme.end_date.isoformat() if programme.end_date else "",
        "holiday_policy": programme.holiday_policy.value,
        "cutoff_hours": str(programme.cutoff_minutes // 60),
        "unit_kind": programme.unit_kind.value, "weeks_ahead": str(programme.weeks_ahead),
        "active": "on" if programme.active else "",
    }
    pattern = rule.pattern
    if isinstance(pattern, Weekly):
        values.update(pattern="weekly", weekday=str(int(pattern.weekday)))
    elif isinstance(pattern, MonthlyByWeekday):
        values.update(pattern="monthly_weekday", weekday=str(int(pattern.weekday)),
                      nth=str(pattern.n))
    else:
        values.update(pattern="monthly_day", month_day=str(pattern.day))
    return values


# -- rotation --------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationView:
    programme_id: int
    programme_name: str
    unit_kind: UnitKind
    members: list[Unit]
    candidates: list[Unit]
    positions: dict[int, int]
    next_unit_id: int | None


async def rotation_view(db: AsyncSession, programme_id: int, *, clock: Clock) -> RotationView:
    programme = await get(db, Programme, programme_id)
    members = await rotation_of(db, programme)
    candidates = list((await duty_candidates(db, programme.unit_kind)).values())
    return RotationView(
        programme_id=programme.id, programme_name=programme.name,
        unit_kind=programme.unit_kind, members=members, candidates=candidates,
        positions={u.id: i for i, u in enumerate(members, start=1)},
        next_unit_id=await next_on_duty(db, programme, clock=clock))


async def next_on_duty(db: AsyncSession, programme: Programme, *, clock: Clock) -> int | None:
    """The unit of the next session that takes place (the rotation's next turn)."""
    now = utc(clock())
    row = await db.scalar(
        select(ProgrammeSession).where(ProgrammeSession.programme_id == programme.id,
                                       ProgrammeSession.status == SessionStatus.PLANNED,
                                       ProgrammeSession.starts_at > now)
        .order_by(ProgrammeSession.starts_at).limit(1))
    return row.unit_id if row is not None else None


POSITION_RE = re.compile(r"^position_(\d{1,19})$")


@dataclass(frozen=True, kw_only=True)
class RotationCommand:
    """The rotation's units in order, and who takes the next session.

    The form has a `position_<unit id>` field per candidate unit (empty: not on the
    rotation) and `next_unit` (empty: the first on the rotation).
    """

    positions: tuple[tuple[int, int], ...]  # (unit id, position), as entered
    next_unit: int | None

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> RotationCommand:
        form = FieldReader(data)
        positions: list[tuple[int, int]] = []
        for name in data:
            match = POSITION_RE.match(name)
            unit_id = parse_id(match.group(1)) if match else None
            if unit_id is None or not str(data.get(name) or "").strip():
                continue
            position = form.integer(name, minimum=1, maximum=999)
            if name not in form.errors:
                positions.append((unit_id, position))
        if not form.errors and len({p for _, p in positions}) != len(positions):
            form.fail("units", N_("Give each unit a different position."))
        next_unit = form.optional_id("next_unit")
        if "next_unit" in form.errors:
            form.errors["next_unit"] = N_("Choose one of the units on the rotation.")
        form.check()
        return cls(positions=tuple(sorted(positions)), next_unit=next_unit)


async def save_rotation(
    db: AsyncSession, programme_id: int, command: RotationCommand, *, actor: Actor,
    clock: Clock,
) -> ReplanResult:
    """Set the rotation's units and order, and who takes the next session; re-plan."""
    programme = await get(db, Programme, programme_id)
    candidates = await duty_candidates(db, programme.unit_kind)
    chosen = sorted((position, unit_id) for unit_id, position in command.positions
                    if unit_id in candidates)
    if not chosen:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "units": N_("The rotation needs at least one unit.")})
    order = [unit_id for _, unit_id in chosen]
    next_unit = order[0] if command.next_unit is None else command.next_unit
    if next_unit not in order:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "next_unit": N_("Choose one of the units on the rotation.")})
    before = [u.id for u in await rotation_of(db, programme)]
    # First bring the plan up to date with the old rotation: the turns already served
    # move the pointer, then the new order takes over from the next session on.
    result = await replan(db, programme.id, clock=clock, actor_id=actor.user_id)
    await db.execute(delete(RotationMember).where(RotationMember.programme_id == programme.id))
    await db.flush()
    for position, unit_id in enumerate(order, start=1):
        db.add(RotationMember(
            programme_id=programme.id, position=position,
            department_id=unit_id if programme.unit_kind is UnitKind.DEPARTMENT else None,
            deputy_id=unit_id if programme.unit_kind is UnitKind.DEPUTY else None))
    programme.rotation_start_index = order.index(next_unit)
    programme.updated_at = clock()
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id, action="programme.rotation",
                 target_type="programme", target_id=programme.id,
                 changes={"units": [before, order], "next_unit": [None, next_unit]})
    result.merge(await replan(db, programme.id, clock=clock, actor_id=actor.user_id))
    return result


# -- listing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeSummary:
    id: int
    name: str
    room: str
    rrule: str
    start_time: str
    duration_minutes: int
    timezone: str
    unit_kind: UnitKind
    active: bool
    rotation: list[Unit]
    next_start: datetime | None
    next_unit: str | None


async def list_programmes(db: AsyncSession, *, clock: Clock) -> list[ProgrammeSummary]:
    now = utc(clock())
    out = []
    for programme in await db.scalars(select(Programme).order_by(Programme.id)):
        rotation = await rotation_of(db, programme)
        units = await units_of_kind(db, programme.unit_kind)
        upcoming = await db.scalar(
            select(ProgrammeSession).where(ProgrammeSession.programme_id == programme.id,
                                           ProgrammeSession.status == SessionStatus.PLANNED,
                                           ProgrammeSession.starts_at > now)
            .order_by(ProgrammeSession.starts_at).limit(1))
        unit = units.get(upcoming.unit_id) if upcoming and upcoming.unit_id else None
        out.append(ProgrammeSummary(
            id=programme.id, name=programme.name, room=programme.room, rrule=programme.rrule,
            start_time=programme.start_time.strftime("%H:%M"),
            duration_minutes=programme.duration_minutes, timezone=programme.timezone,
            unit_kind=programme.unit_kind, active=programme.active, rotation=rotation,
            next_start=upcoming.starts_at if upcoming else None,
            next_unit=unit.name if unit else None))
    return out


async def planning_horizon(db: AsyncSession, today: date) -> date:
    """The furthest day any active programme plans to (for the missing-year warnings)."""
    weeks = await db.scalar(select(func.max(Programme.weeks_ahead)).where(Programme.active))
    return today + timedelta(weeks=weeks or 0)
