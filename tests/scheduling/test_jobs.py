from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduling.clock import fixed_clock
from scheduling.errors import InvalidJob, NaiveDatetime
from scheduling.jobs import (
    DailyJobSpec,
    JobKind,
    JobSpec,
    is_still_meaningful,
    make_scheduler,
    remove_session_jobs,
    schedule_daily_job,
    schedule_session_jobs,
    session_jobs,
    supervision_job,
)
from tests.scheduling import job_targets
from tests.scheduling.helpers import SHANGHAI, sh

FUNC = "tests.scheduling.job_targets:record_run"
DAILY = "tests.scheduling.job_targets:record_daily"
START = sh(2026, 10, 8, 15)
END = sh(2026, 10, 8, 16)
CUTOFF = sh(2026, 10, 7, 15)
PLANNED_AT = fixed_clock(sh(2026, 9, 14, 8))
IDS = tuple(f"session:17:{kind}" for kind in JobKind)


async def stop(scheduler: AsyncIOScheduler) -> None:
    """Shut down; AsyncIOScheduler does it in a loop callback, so let that run."""
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)
    assert not scheduler.running


def spec_of(kind: JobKind) -> JobSpec:
    [found] = [s for s in session_jobs(17, START, END, CUTOFF) if s.kind is kind]
    return found


def test_session_jobs() -> None:
    specs = session_jobs(17, START, END, CUTOFF)
    assert [(s.job_id, s.run_at, s.meaningful_until, s.misfire_grace_time) for s in specs] == [
        ("session:17:cutoff", CUTOFF, None, None),
        ("session:17:reminder_24h", sh(2026, 10, 7, 15), START, 24 * 3600),
        ("session:17:reminder_30min", sh(2026, 10, 8, 14, 30), START, 30 * 60),
        ("session:17:room_open", sh(2026, 10, 8, 14, 45), END, 75 * 60),
        ("session:17:room_close", sh(2026, 10, 8, 16, 15), None, None),
    ]
    close = session_jobs("abc", START, END, CUTOFF, close_grace=timedelta(minutes=5))[-1]
    assert (close.job_id, close.run_at) == ("session:abc:room_close", sh(2026, 10, 8, 16, 5))


@pytest.mark.parametrize(
    ("kind", "now", "meaningful"),
    [
        (JobKind.CUTOFF, sh(2027, 1, 1), True),
        (JobKind.REMINDER_24H, sh(2026, 10, 8, 14, 59), True),
        (JobKind.REMINDER_24H, sh(2026, 10, 8, 15, 1), False),
        (JobKind.REMINDER_30MIN, sh(2026, 10, 8, 14, 50), True),
        (JobKind.REMINDER_30MIN, START, True),
        (JobKind.REMINDER_30MIN, START + timedelta(seconds=1), False),
        (JobKind.ROOM_OPEN, sh(2026, 10, 8, 15, 30), True),
        (JobKind.ROOM_OPEN, END + timedelta(seconds=1), False),
        (JobKind.ROOM_CLOSE, sh(2026, 10, 15), True),
    ],
)
def test_still_meaningful(kind: JobKind, now: datetime, meaningful: bool) -> None:
    assert is_still_meaningful(spec_of(kind), now) is meaningful


def test_bad_job_input() -> None:
    with pytest.raises(InvalidJob, match="end after it starts"):
        session_jobs(17, START, START, CUTOFF)
    with pytest.raises(InvalidJob, match="questions must close before"):
        session_jobs(17, START, END, START + timedelta(minutes=1))
    with pytest.raises(InvalidJob, match="cannot close before"):
        session_jobs(17, START, END, CUTOFF, close_grace=timedelta(minutes=-1))
    with pytest.raises(InvalidJob, match="without ':'"):
        session_jobs("a:b", START, END, CUTOFF)
    with pytest.raises(InvalidJob, match="string or an integer"):
        session_jobs(True, START, END, CUTOFF)
    with pytest.raises(NaiveDatetime):
        session_jobs(17, datetime(2026, 10, 8, 15), END, CUTOFF)
    with pytest.raises(InvalidJob, match="before it runs"):
        JobSpec(session_id=1, kind=JobKind.REMINDER_30MIN, run_at=START, meaningful_until=START)
    with pytest.raises(NaiveDatetime):
        is_still_meaningful(spec_of(JobKind.CUTOFF), datetime(2026, 10, 8))
    with pytest.raises(InvalidJob, match="wall-clock time"):
        DailyJobSpec(job_id="daily:x", at=time(9, tzinfo=UTC))
    with pytest.raises(InvalidJob, match="time zone"):
        supervision_job(timezone="Asia/Nowhere")
    with pytest.raises(InvalidJob, match="misfire grace"):
        DailyJobSpec(job_id="daily:x", at=time(9), misfire_grace=timedelta(0))


@pytest.mark.parametrize("ref", ["record_run", "tests.scheduling.job_targets", "a:b c", "1x:y", ""])
async def test_a_callable_is_named_module_colon_function(ref: str) -> None:
    scheduler = make_scheduler(None)
    with pytest.raises(InvalidJob, match=r"package\.module:function"):
        schedule_session_jobs(scheduler, [], ref, clock=PLANNED_AT)
    with pytest.raises(InvalidJob, match=r"package\.module:function"):
        schedule_daily_job(scheduler, supervision_job(), ref)


async def test_schedule_replace_and_remove_in_memory() -> None:
    scheduler = make_scheduler(None)
    scheduler.start(paused=True)
    try:
        specs = session_jobs(17, START, END, CUTOFF)
        assert schedule_session_jobs(scheduler, specs, FUNC, clock=PLANNED_AT) == IDS
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs) == sorted(IDS)
        soon = jobs["session:17:reminder_30min"]
        assert (soon.func_ref, soon.kwargs, soon.misfire_grace_time, soon.coalesce) == (
            FUNC,
            {"session_id": 17, "kind": "reminder_30min"},
            1800,
            True,
        )
        assert soon.next_run_time == sh(2026, 10, 8, 14, 30)
        assert jobs["session:17:cutoff"].misfire_grace_time is None

        # The session moved an hour later: same ids, new times, nothing doubled.
        hour = timedelta(hours=1)
        moved = session_jobs(17, START + hour, END + hour, CUTOFF + hour)
        assert schedule_session_jobs(scheduler, moved, FUNC, clock=PLANNED_AT) == IDS
        assert len(scheduler.get_jobs()) == 5
        assert scheduler.get_job("session:17:reminder_30min").next_run_time == sh(
            2026, 10, 8, 15, 30
        )

        # Re-scheduled after the session started: the reminders are dropped.
        started = fixed_clock(sh(2026, 10, 8, 16, 5))
        kept = ("session:17:cutoff", "session:17:room_open", "session:17:room_close")
        assert schedule_session_jobs(scheduler, moved, FUNC, clock=started) == kept
        assert sorted(job.id for job in scheduler.get_jobs()) == sorted(kept)

        assert remove_session_jobs(scheduler, 17) == kept
        assert scheduler.get_jobs() == []
        assert remove_session_jobs(scheduler, 17) == ()
    finally:
        await stop(scheduler)


async def test_daily_supervision_job() -> None:
    scheduler = make_scheduler(None, timezone=SHANGHAI)
    scheduler.start(paused=True)
    try:
        assert schedule_daily_job(scheduler, supervision_job(), DAILY) == "daily:supervision"
        assert schedule_daily_job(scheduler, supervision_job(), DAILY) == "daily:supervision"
        [job] = scheduler.get_jobs()
        assert (job.id, job.func_ref, job.misfire_grace_time, job.coalesce) == (
            "daily:supervision",
            DAILY,
            8 * 3600,
            True,
        )
        local = job.next_run_time.astimezone(SHANGHAI)
        assert (local.hour, local.minute, local.second) == (9, 0, 0)
        assert job.next_run_time > datetime.now(UTC)
    finally:
        await stop(scheduler)


async def test_jobs_survive_a_restart_in_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    first = make_scheduler(url)
    first.start(paused=True)
    specs = session_jobs(17, sh(2099, 10, 8, 15), sh(2099, 10, 8, 16), sh(2099, 10, 7, 15))
    schedule_session_jobs(first, specs, FUNC, clock=PLANNED_AT)
    schedule_daily_job(first, supervision_job(), DAILY)
    before = {
        job.id: (job.func_ref, job.kwargs, job.next_run_time, job.misfire_grace_time)
        for job in first.get_jobs()
    }
    await stop(first)

    second = make_scheduler(url)
    second.start(paused=True)
    try:
        after = {
            job.id: (job.func_ref, job.kwargs, job.next_run_time, job.misfire_grace_time)
            for job in second.get_jobs()
        }
    finally:
        await stop(second)
    assert after == before
    assert sorted(after) == sorted((*IDS, "daily:supervision"))


async def test_missed_jobs_run_once_on_restart_only_while_meaningful(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    now = datetime.now(UTC)
    # The session began five minutes ago; the server went down two days before.
    start = now - timedelta(minutes=5)
    specs = session_jobs("s1", start, start + timedelta(hours=1), start - timedelta(hours=24))
    before_outage = fixed_clock(now - timedelta(days=2))
    down = make_scheduler(url)
    down.start(paused=True)
    schedule_session_jobs(down, specs, FUNC, clock=before_outage)
    await stop(down)

    job_targets.RUNS.clear()
    events: list[tuple[int, str]] = []
    four_done = asyncio.Event()

    def listen(event: JobEvent) -> None:
        events.append((event.code, event.job_id))
        if len(events) == 4:
            four_done.set()

    up = make_scheduler(url)
    up.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    up.start()
    try:
        async with asyncio.timeout(10):
            await four_done.wait()
        remaining = [job.id for job in up.get_jobs()]
    finally:
        await stop(up)
    assert sorted(events) == sorted(
        [
            (EVENT_JOB_EXECUTED, "session:s1:cutoff"),
            (EVENT_JOB_EXECUTED, "session:s1:room_open"),
            (EVENT_JOB_MISSED, "session:s1:reminder_24h"),
            (EVENT_JOB_MISSED, "session:s1:reminder_30min"),
        ]
    )
    assert sorted(job_targets.RUNS) == [("s1", "cutoff"), ("s1", "room_open")]
    assert remaining == ["session:s1:room_close"]
    # The pure rule says the same as the scheduler did.
    restarted = datetime.now(UTC)
    assert [s.kind.value for s in specs if not is_still_meaningful(s, restarted)] == [
        "reminder_24h",
        "reminder_30min",
    ]
