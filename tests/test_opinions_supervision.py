"""Supervision (督办): reminders, overdue flag and escalation once, auto-close, working days
only, nothing twice on a re-run; and the job is registered and runs from the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, time

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.accounts.directory import Actor
from server.app import job_table
from server.core import jobs
from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from server.models import Notification, Opinion, OpinionEvent, OpinionStatus, User
from server.opinions import supervision
from server.opinions.supervision import supervise
from server.schedule import workdays
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, local, record


async def inbox(db: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await db.execute(
        select(User.username, Notification.kind, Notification.dedupe_key)
        .join(User, User.id == Notification.recipient_id)
        .where(Notification.kind.not_in(["opinion.new", "opinion.accept"]))
        .order_by(Notification.id))
    return [(u, k, d or "") for u, k, d in rows.all()]


async def escalations(db: AsyncSession, item_id: int) -> int:
    return await db.scalar(select(func.count()).select_from(OpinionEvent).where(
        OpinionEvent.opinion_id == item_id, OpinionEvent.action == "escalate")) or 0


async def test_remind_escalate_once_and_skip_rest_days(db_session: AsyncSession,
                                                       clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)  # Monday
    item = await record(db, clock)
    await accept(db, clock, item.id)  # 5 working days: due Monday Nov 30
    assert (item.due_day, item.due_at) == (date(2026, 11, 30), local(2026, 12, 1, 0, 0))
    other = await record(db, clock)
    await accept(db, clock, other.id, workdays="10")  # due Dec 7: nothing to do this week

    clock.now = local(2026, 11, 26, 9, 0)  # Thursday: due Monday is not within one day
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).reminded == []

    clock.now = local(2026, 11, 27, 9, 0)  # Friday: due by the end of the next working day
    report = await supervise(db, clock=clock, tz=SHANGHAI)
    assert (report.workday, report.reminded, report.escalated) == (True, [item.id], [])
    key = f"opinion:{item.id}:due-soon:2026-11-30"
    assert await inbox(db) == [("court", "opinion.due_soon", key)]
    await supervise(db, clock=clock, tz=SHANGHAI)  # a re-run (restart) adds nothing
    assert await inbox(db) == [("court", "opinion.due_soon", key)]

    clock.now = local(2026, 11, 28, 9, 0)  # Saturday: the job does nothing at all
    report = await supervise(db, clock=clock, tz=SHANGHAI)
    assert (report.workday, report.reminded, report.escalated, report.closed) == (
        False, [], [], [])

    clock.now = local(2026, 11, 30, 9, 0)  # Monday, the due day: same reminder, not twice
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).reminded == [item.id]
    assert len(await inbox(db)) == 1

    clock.now = local(2026, 12, 1, 9, 0)  # Tuesday: overdue, escalated
    report = await supervise(db, clock=clock, tz=SHANGHAI)
    assert report.escalated == [item.id]
    escalate_key = f"opinion:{item.id}:escalate:2026-11-30"
    assert await inbox(db) == [
        ("court", "opinion.due_soon", key), ("admin", "opinion.escalated", escalate_key),
        ("host", "opinion.escalated", escalate_key), ("court", "opinion.overdue", escalate_key)]
    await db.refresh(item)
    assert (item.escalated_at, item.overdue_at) == (clock.now, clock.now)
    assert await escalations(db, item.id) == 1
    event = await db.scalar(select(OpinionEvent).where(OpinionEvent.action == "escalate"))
    assert event is not None
    assert (event.actor_id, event.due_day, event.to_status) == (
        None, date(2026, 11, 30), OpinionStatus.ACCEPTED)

    await supervise(db, clock=clock, tz=SHANGHAI)  # re-run the same morning
    clock.now = local(2026, 12, 2, 9, 0)  # and the next day
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).escalated == []
    assert await escalations(db, item.id) == 1
    assert len(await inbox(db)) == 4


async def test_a_new_deadline_gets_its_own_escalation(db_session: AsyncSession,
                                                      clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    item = await record(db, clock)
    await accept(db, clock, item.id)
    clock.now = local(2026, 12, 1, 9, 0)
    await supervise(db, clock=clock, tz=SHANGHAI)
    reassigned = await accept(db, clock, item.id, dept="police", action="reassign")
    assert reassigned.escalated_at is None
    assert reassigned.overdue_at == local(2026, 12, 1, 9, 0)  # history stays
    assert reassigned.due_day == date(2026, 12, 8)
    clock.now = local(2026, 12, 9, 9, 0)
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).escalated == [item.id]
    assert await escalations(db, item.id) == 2


async def test_auto_close_after_ten_working_days(db_session: AsyncSession,
                                                 clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    item = await record(db, clock)
    await accept(db, clock, item.id)
    clock.now = local(2026, 11, 24, 15, 0)
    await act(db, clock, "court", item.id, "resolve", note="已修复")
    # Ten working days after Tuesday Nov 24: Nov 25 ... Dec 8; it closes from Dec 9 on.
    clock.now = local(2026, 12, 8, 9, 0)
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).closed == []
    clock.now = local(2026, 12, 9, 9, 0)
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).closed == [item.id]
    await db.refresh(item)
    assert (item.status, item.finished_at) == (OpinionStatus.CLOSED, clock.now)
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).closed == []
    site_notes = [k for u, k, _d in await inbox(db) if u == "site01"]
    assert site_notes == ["opinion.resolve", "opinion.auto_close"]


async def test_admin_holiday_entry_makes_the_job_rest(db_session: AsyncSession,
                                                      clock: MutableClock) -> None:
    db = db_session
    clock.now = local(2026, 11, 23)
    item = await record(db, clock)
    await accept(db, clock, item.id)
    await workdays.save_entry(db, workdays.WorkdayEntry.from_fields(
        {"day": "2026-12-01", "kind": "holiday", "name": "临时休息"}),
        actor=Actor(None), clock=clock)
    clock.now = local(2026, 12, 1, 9, 0)
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).workday is False
    assert await escalations(db, item.id) == 0


async def test_job_is_registered_and_runs_with_the_app(
    app_factory: Callable[..., object], aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    app = app_factory()
    assert isinstance(app, web.Application)
    table = job_table(app[SETTINGS])
    supervision_job = table.daily_job("daily:supervision")
    assert supervision_job is not None and supervision_job.handler is supervision.run
    assert supervision_job.spec.at == time(9, 0)
    client = await aiohttp_client(app)
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        clock.now = local(2026, 11, 23)
        item = await record(db, clock)
        await accept(db, clock, item.id)
    clock.now = local(2026, 12, 1, 9, 0)
    await jobs.run_daily_job("daily:supervision")  # what APScheduler calls at 09:00
    await jobs.run_daily_job("daily:supervision")  # and once more after a restart
    async with session_factory(client.app[ENGINE])() as db:
        stored = await db.get(Opinion, item.id)
        assert stored is not None
        assert stored.escalated_at == clock.now
        assert await escalations(db, item.id) == 1
