"""The demo street's two programmes, with their rotations and sessions materialised."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import DEFAULT_TIMEZONE, zone
from scheduling.occurrences import HolidayPolicy
from scheduling.recurrence import MonthlyByWeekday, Pattern, RecurrenceRule, Weekday, Weekly
from server.accounts.directory import list_departments, list_deputies
from server.core.clock import Clock
from server.models import Programme, RotationMember, UnitKind
from server.schedule.planning import replan

LEGAL_DAY = "线上法律咨询服务日"
DUTY_STATION = "代表委员线上工作驿站"


async def seed_programmes(db: AsyncSession, street_id: int, *, clock: Clock) -> None:
    """The weekly legal consultation day (the 4 departments take turns, Thursdays
    09:30-10:30) and the monthly duty station (the 6 deputies, first Wednesday
    14:30-16:30), planned from today."""
    now = clock()
    today = now.astimezone(zone(DEFAULT_TIMEZONE)).date()

    def programme(name: str, room: str, pattern: Pattern, start: time, minutes: int,
                  kind: UnitKind, weeks: int) -> Programme:
        rule = RecurrenceRule(pattern=pattern, start_date=today, start_time=start,
                              duration=timedelta(minutes=minutes))
        return Programme(
            street_id=street_id, name=name, room=room, rrule=rule.rrule, start_date=today,
            end_date=None, start_time=start, duration_minutes=minutes,
            timezone=DEFAULT_TIMEZONE, holiday_policy=HolidayPolicy.NEXT_WORKDAY,
            cutoff_minutes=24 * 60, unit_kind=kind, weeks_ahead=weeks, active=True,
            rotation_anchor=today, rotation_start_index=0, created_at=now, updated_at=now)

    legal = programme(LEGAL_DAY, "legal", Weekly(weekday=Weekday.THURSDAY), time(9, 30), 60,
                      UnitKind.DEPARTMENT, 12)
    duty = programme(DUTY_STATION, "duty-station",
                     MonthlyByWeekday(weekday=Weekday.WEDNESDAY, n=1), time(14, 30), 120,
                     UnitKind.DEPUTY, 26)
    db.add_all([legal, duty])
    await db.flush()
    departments = [d for d in await list_departments(db, active_only=True) if d.is_legal]
    for position, department in enumerate(departments, start=1):
        db.add(RotationMember(programme_id=legal.id, position=position,
                              department_id=department.id))
    for position, deputy in enumerate(await list_deputies(db, active_only=True), start=1):
        db.add(RotationMember(programme_id=duty.id, position=position, deputy_id=deputy.id))
    await db.flush()
    await replan(db, legal.id, clock=clock)
    await replan(db, duty.id, clock=clock)
