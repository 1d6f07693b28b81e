"""Due dates in working days of the street's calendar: the library's table where it has one,
weekends plus the administrator's entries where it has none (2027)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import chinese_calendar
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import Actor
from server.schedule import workdays
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, local, record


def test_the_library_knows_national_day_2026() -> None:
    # chinesecalendar's 2026 arrangement: Oct 1-7 off, Saturday Oct 10 worked (调休).
    assert [chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 13)] == [
        False, False, False, False, False, False, False, True, True, True, False, True]


async def test_due_date_across_national_day_2026(db_session: AsyncSession,
                                                 clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 9, 29)  # Tuesday before the holiday
    item = await record(db, clock)
    await accept(db, clock, item.id)
    # Sep 30 (1), Oct 1-7 off, Oct 8 (2), Oct 9 (3), Saturday Oct 10 worked (4), Oct 12 (5).
    assert item.due_day == date(2026, 10, 12)
    assert item.due_at == local(2026, 10, 13, 0, 0)
    clock.now = local(2026, 9, 30, 17, 0)
    again = await record(db, clock)
    await accept(db, clock, again.id, workdays="3")
    assert again.due_day == date(2026, 10, 10)  # the makeup Saturday counts


async def test_due_date_in_2027_without_a_table(db_session: AsyncSession,
                                                clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2027, 2, 3)  # Wednesday; no published 2027 arrangement
    item = await record(db, clock)
    await accept(db, clock, item.id)
    assert item.due_day == date(2027, 2, 10)  # weekends only: Feb 4, 5, 8, 9, 10
    # The administrator enters the Spring Festival; a new deadline follows it.
    for day in range(8, 13):
        await workdays.save_entry(db, workdays.WorkdayEntry.from_fields(
            {"day": f"2027-02-{day:02d}", "kind": "holiday", "name": "春节",
             "source_notice": "国办发明电"}), actor=Actor(None), clock=clock)
    await workdays.save_entry(db, workdays.WorkdayEntry.from_fields(
        {"day": "2027-02-06", "kind": "workday", "name": "春节调休"}),
        actor=Actor(None), clock=clock)
    reassigned = await accept(db, clock, item.id, dept="police", action="reassign")
    # Feb 4 (1), 5 (2), Saturday Feb 6 worked (3), Feb 8-12 off, Feb 15 (4), Feb 16 (5).
    assert reassigned.due_day == date(2027, 2, 16)


async def test_due_date_shown_on_the_page(
    signed_in: Callable[[str], Awaitable[TestClient]], clock: MutableClock
) -> None:
    from server.core.db import session_factory
    from server.core.keys import ENGINE

    host = await signed_in("host")
    clock.now = local(2026, 9, 29)
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        item = await record(db, clock)
        await accept(db, clock, item.id)
        await act(db, clock, "court", item.id, "update", note="已派人查看")
    page = await (await host.get(f"/opinions/{item.id}")).text()
    assert 'data-testid="opinion-due">10月12日（周一）<' in page
