"""The street's working-day calendar: the library's table plus the administrator's entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import DayEntry, DayKind, WorkdayCalendar
from server.accounts.directory import Actor
from server.core import audit
from server.core.clock import Clock
from server.core.errors import NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.models import CalendarDay, CalendarDayKind, CalendarYear


async def load_calendar(session: AsyncSession) -> WorkdayCalendar:
    days = await session.scalars(select(CalendarDay).order_by(CalendarDay.day))
    years = await session.scalars(select(CalendarYear.year))
    return WorkdayCalendar(
        entries=tuple(DayEntry(day=d.day, kind=DayKind(d.kind.value), name=d.name,
                               source_notice=d.source_notice) for d in days),
        complete_years=frozenset(years),
    )


async def list_entries(session: AsyncSession, year: int | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1),
                          CalendarDay.day <= date(year, 12, 31))
    return list(await session.scalars(stmt))


async def save_entry(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock
) -> CalendarDay:
    """Enter or correct one day; an entry for the same day is replaced."""
    form = FieldReader(data)
    raw_day = form.text("day", max_len=10)
    kind = form.choice("kind", CalendarDayKind)
    name = form.text("name", max_len=100)
    notice = form.text("source_notice", max_len=200, required=False)
    day: date | None = None
    if raw_day:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            form.fail("day", "Enter a date as YYYY-MM-DD.")
        else:
            if not 1900 <= day.year <= 9999:
                form.fail("day", "Out of range.")
    form.check()
    assert day is not None
    assert kind is not None
    row = await session.get(CalendarDay, day)
    before = ({"kind": row.kind, "name": row.name, "source_notice": row.source_notice}
              if row else {})
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name, source_notice=notice,
                          updated_at=clock(), updated_by_id=actor.user_id)
        session.add(row)
    else:
        row.kind, row.name, row.source_notice = kind, name, notice
        row.updated_at, row.updated_by_id = clock(), actor.user_id
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="calendar_day.update" if before else "calendar_day.create",
                 target_type="calendar_day", target_id=day.isoformat(),
                 changes=audit.diff(before, {"kind": kind, "name": name,
                                             "source_notice": notice}))
    await session.flush()
    return row


async def delete_entry(session: AsyncSession, day: date, *, actor: Actor, clock: Clock) -> None:
    row = await session.get(CalendarDay, day)
    if row is None:
        raise NotFound("Not found.")
    await session.delete(row)
    audit.record(session, at=clock(), actor_id=actor.user_id, action="calendar_day.delete",
                 target_type="calendar_day", target_id=day.isoformat(),
                 changes={"kind": [row.kind.value, None], "name": [row.name, None]})


async def set_year_complete(
    session: AsyncSession, year: int, complete: bool, notice: str, *, actor: Actor,
    clock: Clock,
) -> None:
    if not 1900 <= year <= 9999:
        raise ValidationFailed("Out of range.")
    row = await session.get(CalendarYear, year)
    if complete and row is None:
        session.add(CalendarYear(year=year, source_notice=notice.strip()[:200],
                                 completed_at=clock(), completed_by_id=actor.user_id))
    elif not complete and row is not None:
        await session.delete(row)
    else:
        return
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="calendar_year.complete" if complete else "calendar_year.reopen",
                 target_type="calendar_year", target_id=year)
