"""The street's working-day calendar: the library's table plus the administrator's entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import DayEntry, DayKind, WorkdayCalendar
from server.accounts.directory import Actor
from server.core import audit
from server.core.clock import Clock
from server.core.errors import NotFound, ValidationFailed
from server.core.fields import MAX_DAY, MIN_DAY, FieldReader
from server.models import CalendarDay, CalendarDayKind, CalendarYear


@dataclass(frozen=True, kw_only=True)
class WorkdayEntry:
    """One day of the calendar as the administrator enters it (1970-01-01..2099-12-31)."""

    day: date
    kind: CalendarDayKind
    name: str
    source_notice: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> WorkdayEntry:
        form = FieldReader(data)
        day = form.day("day")
        kind = form.choice("kind", CalendarDayKind)
        name = form.line("name", max_len=100)
        notice = form.line("source_notice", max_len=200, required=False)
        form.check()
        assert kind is not None  # form.check() raised otherwise
        return cls(day=day, kind=kind, name=name, source_notice=notice)


@dataclass(frozen=True, kw_only=True)
class YearCompletion:
    """Whether a year's holiday arrangement is all entered, and the notice it came from."""

    complete: bool
    source_notice: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> YearCompletion:
        form = FieldReader(data)
        complete = form.flag("complete")
        notice = form.line("source_notice", max_len=200, required=False)
        form.check()
        return cls(complete=complete, source_notice=notice)


async def load_calendar(db: AsyncSession) -> WorkdayCalendar:
    days = await db.scalars(select(CalendarDay).order_by(CalendarDay.day))
    years = await db.scalars(select(CalendarYear.year))
    return WorkdayCalendar(
        entries=tuple(DayEntry(day=d.day, kind=DayKind(d.kind.value), name=d.name,
                               source_notice=d.source_notice) for d in days),
        complete_years=frozenset(years),
    )


async def list_entries(db: AsyncSession, year: int | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1),
                          CalendarDay.day <= date(year, 12, 31))
    return list(await db.scalars(stmt))


async def save_entry(
    db: AsyncSession, command: WorkdayEntry, *, actor: Actor, clock: Clock
) -> CalendarDay:
    """Enter or correct one day; an entry for the same day is replaced."""
    day, kind, name, notice = command.day, command.kind, command.name, command.source_notice
    row = await db.get(CalendarDay, day)
    before = ({"kind": row.kind, "name": row.name, "source_notice": row.source_notice}
              if row else {})
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name, source_notice=notice,
                          updated_at=clock(), updated_by_id=actor.user_id)
        db.add(row)
    else:
        row.kind, row.name, row.source_notice = kind, name, notice
        row.updated_at, row.updated_by_id = clock(), actor.user_id
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="calendar_day.update" if before else "calendar_day.create",
                 target_type="calendar_day", target_id=day.isoformat(),
                 changes=audit.diff(before, {"kind": kind, "name": name,
                                             "source_notice": notice}))
    await db.flush()
    return row


async def delete_entry(db: AsyncSession, day: date, *, actor: Actor, clock: Clock) -> None:
    row = await db.get(CalendarDay, day)
    if row is None:
        raise NotFound("Not found.")
    await db.delete(row)
    audit.record(db, at=clock(), actor_id=actor.user_id, action="calendar_day.delete",
                 target_type="calendar_day", target_id=day.isoformat(),
                 changes={"kind": [row.kind.value, None], "name": [row.name, None]})


async def set_year_complete(
    db: AsyncSession, year: int, command: YearCompletion, *, actor: Actor, clock: Clock,
) -> None:
    if not MIN_DAY.year <= year <= MAX_DAY.year:
        raise ValidationFailed("Out of range.")
    complete, notice = command.complete, command.source_notice
    row = await db.get(CalendarYear, year)
    if complete and row is None:
        db.add(CalendarYear(year=year, source_notice=notice, completed_at=clock(),
                            completed_by_id=actor.user_id))
    elif not complete and row is not None:
        await db.delete(row)
    else:
        return
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="calendar_year.complete" if complete else "calendar_year.reopen",
                 target_type="calendar_year", target_id=year)
