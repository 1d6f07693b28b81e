"""Session jobs: scheduled with the sessions, run by the handlers, missed while down,
told to the inbox and to the webhook."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.jobs import JobKind, make_scheduler
from scheduling.occurrences import HolidayPolicy
from scheduling.planner import SessionStatus
from scheduling.recurrence import Weekday
from server.core import db
from server.core.config import ConfigError, settings_from_env
from server.core.jobs import JobRuntime
from server.core.keys import DATABASE, SCHEDULER
from server.models import Notification, Programme, ProgrammeSession, UnitKind
from server.notify import notices as notifications
from server.schedule import session_jobs
from server.schedule.planning import JobChanges
from tests.conftest import AppFactory, MutableClock, make_settings
from tests.support.schedule import (
    SHANGHAI,
    inbox_keys,
    legal_day,
    sessions_of,
    user_id,
)


@pytest.fixture
async def factory(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(db_url)
    yield db.session_factory(engine)
    await engine.dispose()


def runtime(factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path,
            **settings: object) -> JobRuntime:
    return JobRuntime(database=factory, clock=clock,
                      settings=make_settings("sqlite://", tmp_path, **settings))


async def first_legal_session(factory: async_sessionmaker[AsyncSession]) -> ProgrammeSession:
    async with factory() as s:
        return (await sessions_of(s, (await legal_day(s)).id))[0]


async def add_session(factory: async_sessionmaker[AsyncSession], start: datetime,
                      minutes: int = 60) -> int:
    """A session at `start` of a weekly programme of its own (no plan touches it)."""
    local = start.astimezone(SHANGHAI)
    async with factory() as s, s.begin():
        programme = Programme(
            street_id=1, name="测试节目", room="test-room",
            rrule=f"FREQ=WEEKLY;BYDAY={Weekday(local.weekday()).code}",
            start_date=local.date(), start_time=local.time().replace(tzinfo=None),
            duration_minutes=minutes, timezone="Asia/Shanghai",
            holiday_policy=HolidayPolicy.SKIP, unit_kind=UnitKind.DEPARTMENT, weeks_ahead=1,
            active=True, rotation_anchor=local.date(), created_at=start, updated_at=start)
        s.add(programme)
        await s.flush()
        row = ProgrammeSession(
            programme_id=programme.id, nominal_date=local.date(),
            starts_at=start, ends_at=start + timedelta(minutes=minutes),
            cutoff_at=start - timedelta(hours=24), department_id=1,
            status=SessionStatus.PLANNED, created_at=start, updated_at=start)
        s.add(row)
        await s.flush()
        return row.id


async def test_handlers_tell_the_right_people_once_and_record_the_room(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    rt = runtime(factory, clock, tmp_path)
    first = await first_legal_session(factory)
    for kind in JobKind:
        await session_jobs.run_kind(rt, first.id, kind)
        await session_jobs.run_kind(rt, first.id, kind)  # a re-run changes nothing
    async with factory() as s:
        court = await inbox_keys(s, "court")
        host = await inbox_keys(s, "host")
        site = await inbox_keys(s, "site14")
        police = await inbox_keys(s, "police")
        row = await s.get(ProgrammeSession, first.id)
        messages = await s.scalar(select(Notification).where(
            Notification.dedupe_key == f"session:{first.id}:reminder_24h",
            Notification.recipient_id == await user_id(s, "court")))
    key = f"session:{first.id}:"
    assert court == [key + k for k in ("cutoff", "reminder_24h", "reminder_30min", "room_open")]
    assert host == [key + k for k in ("cutoff", "room_open", "room_close")]
    assert site == [key + k for k in ("reminder_24h", "reminder_30min", "room_open")]
    assert police == []
    assert row is not None
    assert (row.room_opened_at, row.room_closed_at) == (clock.now, clock.now)
    assert messages is not None
    assert messages.params == {"programme": "线上法律咨询服务日", "date": "11月26日（周四）09:30",
                               "unit": "区人民法院"}


async def test_handlers_leave_cancelled_sessions_alone(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    first = await first_legal_session(factory)
    async with factory() as s, s.begin():
        row = await s.get(ProgrammeSession, first.id)
        assert row is not None
        row.status = SessionStatus.CANCELLED
    for kind in JobKind:
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), first.id, kind)
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), 999999, kind)
    async with factory() as s:
        assert await inbox_keys(s, "host") == []


def job_ids(scheduler: Any) -> set[str]:
    return {job.id for job in scheduler.get_jobs()}


async def test_jobs_follow_the_sessions_through_the_pages(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    # APScheduler fires by the real clock: align the app's clock with it and plan a
    # session of our own a few days ahead.
    clock.now = datetime.now(UTC).replace(microsecond=0)
    app = app_factory(run_scheduler=True)
    client = await aiohttp_client(app)
    scheduler = app[SCHEDULER]
    start = clock.now + timedelta(days=3)
    sid = await add_session(app[DATABASE], start)
    session_jobs.apply(scheduler, _changes(sid, start), clock=clock)
    kinds = [k.value for k in JobKind]
    assert {f"session:{sid}:{k}" for k in kinds} <= job_ids(scheduler)
    assert "daily:replan" in job_ids(scheduler)
    replan = scheduler.get_job("daily:replan")
    assert replan.func_ref == "server.core.jobs:run_daily_job"
    assert tuple(replan.args) == ("daily:replan",)
    assert replan.next_run_time.astimezone(SHANGHAI).strftime("%H:%M") == "02:00"
    # Moved by hand: same job ids, new times.
    from tests.conftest import login
    await login(client, "host")
    page = await (await client.get(f"/schedule/sessions/{sid}")).text()
    token = page.split('name="_csrf" value="')[1].split('"')[0]
    async with app[DATABASE]() as s:
        row = await s.get(ProgrammeSession, sid)
        assert row is not None
        version = row.version
    new_day = (start + timedelta(days=1)).astimezone(SHANGHAI)
    resp = await client.post(f"/schedule/sessions/{sid}/move", data={
        "_csrf": token, "version": str(version), "date": new_day.date().isoformat(),
        "time": new_day.strftime("%H:%M")}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert scheduler.get_job(f"session:{sid}:room_open").next_run_time == \
        new_day.replace(second=0) - timedelta(minutes=15)
    # Cancelled: its jobs are gone.
    async with app[DATABASE]() as s:
        row = await s.get(ProgrammeSession, sid)
        assert row is not None
        version = row.version
    resp = await client.post(f"/schedule/sessions/{sid}/cancel", data={
        "_csrf": token, "version": str(version), "reason": "停电"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert not {f"session:{sid}:{k}" for k in kinds} & job_ids(scheduler)


def _changes(sid: int, start: datetime, *, fresh: bool = True) -> JobChanges:
    changes = JobChanges()
    row = ProgrammeSession(id=sid, starts_at=start, ends_at=start + timedelta(hours=1),
                           cutoff_at=start - timedelta(hours=24))
    changes.add(row, fresh=fresh)
    return changes


async def test_jobs_missed_while_down_run_once_on_restart_only_while_meaningful(
    app_factory: AppFactory, clock: MutableClock,
) -> None:
    """Through the real job store: schedule, stop, advance the clock, restart."""
    real_now = datetime.now(UTC).replace(microsecond=0)
    clock.now = real_now - timedelta(days=2)
    # The session began five minutes ago (in real time); the server went down before.
    start = real_now - timedelta(minutes=5)
    down = app_factory(run_scheduler=True)
    runner = web.AppRunner(down)
    await runner.setup()
    scheduler = down[SCHEDULER]
    scheduler.pause()  # down before any of these came due
    # The demo sessions' missed jobs started at start-up may still be writing (SQLite takes
    # one writer): let them finish before this test writes its own.
    executor = scheduler._lookup_executor("default")
    async with asyncio.timeout(15):
        while any(executor._instances.values()):  # noqa: ASYNC110 - polling an executor
            await asyncio.sleep(0.05)
    sid = await add_session(down[DATABASE], start)
    session_jobs.apply(scheduler, _changes(sid, start), clock=clock)
    assert {f"session:{sid}:{k.value}" for k in JobKind} <= job_ids(scheduler)
    await runner.cleanup()

    clock.now = real_now
    up = app_factory(run_scheduler=True)
    runner = web.AppRunner(up)
    await runner.setup()
    try:
        async with asyncio.timeout(15):
            while True:
                async with up[DATABASE]() as s:
                    keys = await inbox_keys(s, "host")
                    row = await s.get(ProgrammeSession, sid)
                if {f"session:{sid}:cutoff", f"session:{sid}:room_open"} <= set(keys):
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything else that was going to run has run
        async with up[DATABASE]() as s:
            site = await inbox_keys(s, "site01")
        remaining = {j for j in job_ids(up[SCHEDULER]) if j.startswith(f"session:{sid}:")}
    finally:
        await runner.cleanup()
    assert row is not None
    assert row.room_opened_at == real_now
    # The reminders came too late to mean anything: they did not run.
    assert [k for k in site if k.startswith(f"session:{sid}:")] == [f"session:{sid}:room_open"]
    assert remaining == {f"session:{sid}:room_close"}


FINISHED: list[str] = []


async def slow_job() -> None:
    """A job still running when the server stops."""
    await asyncio.sleep(0.3)
    FINISHED.append("done")


async def test_stopping_the_server_lets_running_jobs_finish(
    app_factory: AppFactory, clock: MutableClock
) -> None:
    clock.now = datetime.now(UTC)
    FINISHED.clear()
    app = app_factory(run_scheduler=True)
    runner = web.AppRunner(app)
    await runner.setup()
    started = asyncio.Event()

    def submitted(event: JobSubmissionEvent) -> None:
        if event.job_id == "test:slow":
            started.set()

    app[SCHEDULER].add_listener(submitted, EVENT_JOB_SUBMITTED)
    try:
        app[SCHEDULER].add_job("tests.test_schedule_jobs:slow_job", id="test:slow",
                               trigger=DateTrigger(run_date=datetime.now(UTC)))
        async with asyncio.timeout(5):
            await started.wait()
    finally:
        await runner.cleanup()
    assert FINISHED == ["done"]


async def test_a_re_plan_never_runs_a_past_job_again(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock
) -> None:
    scheduler = make_scheduler(None)
    scheduler.start(paused=True)
    try:
        start = clock.now + timedelta(hours=12)  # its cutoff has passed
        session_jobs.apply(scheduler, _changes(5, start, fresh=False), clock=clock)
        assert job_ids(scheduler) == {f"session:5:{k}" for k in
                                      ("reminder_30min", "room_open", "room_close")}
        session_jobs.apply(scheduler, _changes(6, start, fresh=True), clock=clock)
        assert "session:6:cutoff" in job_ids(scheduler)  # a new session still gets it
        # Its cutoff has not run yet (still in the store): a re-plan keeps it.
        session_jobs.apply(scheduler, _changes(6, start, fresh=False), clock=clock)
        assert "session:6:cutoff" in job_ids(scheduler)
        removal = JobChanges()
        removal.drop(6)
        session_jobs.apply(scheduler, removal, clock=clock)
        assert not any(j.startswith("session:6:") for j in job_ids(scheduler))
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


async def test_the_daily_replan_rolls_the_horizon_and_schedules_new_sessions(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    scheduler = make_scheduler(None)
    scheduler.start(paused=True)
    try:
        clock.advance(weeks=1)
        rt = JobRuntime(database=factory, clock=clock,
                        settings=make_settings("sqlite://", tmp_path), scheduler=scheduler)
        await session_jobs.replan_every_programme(rt)
        async with factory() as s:
            rows = await sessions_of(s, (await legal_day(s)).id)
        assert len(rows) == 13
        assert {f"session:{rows[-1].id}:{k.value}" for k in JobKind} == job_ids(scheduler)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


# -- the webhook channel -------------------------------------------------------------


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """A local receiver; `behaviour["status"]` / `["delay"]` make it fail or hang."""
    received: list[dict[str, Any]] = []
    behaviour: dict[str, Any] = {"status": 204, "delay": 0.0}

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.json())
        await asyncio.sleep(behaviour["delay"])
        return web.Response(status=behaviour["status"])

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/hook")), received, behaviour
    finally:
        await server.close()


async def test_the_webhook_gets_each_notice_once(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path,
    webhook: tuple[str, list[dict[str, Any]], dict[str, Any]],
) -> None:
    url, received, _ = webhook
    rt = runtime(factory, clock, tmp_path, webhook_url=url)
    first = await first_legal_session(factory)
    await session_jobs.run_kind(rt, first.id, JobKind.REMINDER_24H)
    await session_jobs.run_kind(rt, first.id, JobKind.REMINDER_24H)
    assert received == [{
        "kind": "session.reminder_24h",
        "text": "Reminder: 线上法律咨询服务日 on 11月26日（周四）09:30, on duty: 区人民法院",
        "params": {"programme": "线上法律咨询服务日", "date": "11月26日（周四）09:30",
                   "unit": "区人民法院"},
        "link": "/rooms/legal", "session_id": first.id,  # a reminder links into the room
        "recipients": 15,  # the 14 sites and the court's officer
    }]


@pytest.mark.parametrize("failure", ["status", "hang", "unreachable"])
async def test_a_failing_webhook_never_breaks_the_job(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path,
    webhook: tuple[str, list[dict[str, Any]], dict[str, Any]], failure: str,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    url, _, behaviour = webhook
    monkeypatch.setattr(notifications, "WEBHOOK_TIMEOUT_S", 0.2)
    if failure == "status":
        behaviour["status"] = 500
    elif failure == "hang":
        behaviour["delay"] = 5.0
    else:
        url = "http://127.0.0.1:9/hook"  # the discard port: nobody listens
    rt = runtime(factory, clock, tmp_path, webhook_url=url)
    first = await first_legal_session(factory)
    with caplog.at_level(logging.WARNING, logger="yizhan.notifications"):
        async with asyncio.timeout(3):
            await session_jobs.run_kind(rt, first.id, JobKind.CUTOFF)
    async with factory() as s:
        assert await inbox_keys(s, "host") == [f"session:{first.id}:cutoff"]
    assert "channel WebhookChannel failed for session.cutoff" in caplog.text


def test_the_webhook_url_comes_from_the_environment(tmp_path: Path) -> None:
    base = {"YIZHAN_VAR_DIR": str(tmp_path)}
    assert settings_from_env(base).webhook_url is None
    assert settings_from_env({**base, "YIZHAN_WEBHOOK_URL": " https://hooks.example/yz "}
                             ).webhook_url == "https://hooks.example/yz"
    with pytest.raises(ConfigError, match="YIZHAN_WEBHOOK_URL must be an http"):
        settings_from_env({**base, "YIZHAN_WEBHOOK_URL": "file:///etc/passwd"})
