"""Only one scheduler per deployment runs the jobs.

On PostgreSQL several server processes may share one database and so one job store; each
would run every due job. So every process starts its scheduler *paused*, and only the one
that holds a session-level `pg_try_advisory_lock` on a dedicated connection resumes it.
The others stay on standby and try again every `RETRY_INTERVAL_S` seconds, so one of them
takes over when the holder stops or loses its connection (PostgreSQL releases a session
lock with its connection). The holder also wakes its scheduler up on every round, so jobs
that standby processes wrote into the shared store are picked up within a round.

SQLite serves a single process: no lock, the scheduler simply runs.

On stop, job processing pauses and the jobs already running may finish (for a bounded
time) before the scheduler shuts down: a job is not cut off in the middle of its
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("yizhan.leadership")

# A fixed key every Yizhan process of one database agrees on ("YIZHAN" in ASCII).
LOCK_KEY = 0x59495A48414E
RETRY_INTERVAL_S = 30.0
DRAIN_TIMEOUT_S = 10.0


class LeaderState(enum.StrEnum):
    LEADER = "leader"
    STANDBY = "standby"


class Leadership:
    def __init__(self, scheduler: AsyncIOScheduler, database_url: str, *,
                 on_lead: Callable[[], Awaitable[object]]) -> None:
        self._scheduler = scheduler
        self._url = database_url
        self._on_lead = on_lead
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.state = LeaderState.STANDBY
        # Jobs handed to the executor and not finished yet (one instance per job id).
        self._running_jobs: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        scheduler.add_listener(self._track_jobs, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED
                               | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def _track_jobs(self, event: JobSubmissionEvent | JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self._running_jobs.add(event.job_id)
            self._idle.clear()
        else:  # executed, failed, or too late to mean anything
            self._running_jobs.discard(event.job_id)
            if not self._running_jobs:
                self._idle.set()

    @property
    def standby(self) -> bool:
        return self.state is LeaderState.STANDBY

    async def start(self) -> None:
        if make_url(self._url).get_backend_name() != "postgresql":
            await self._lead()
            return
        self._engine = create_async_engine(self._url, poolclass=NullPool,
                                           isolation_level="AUTOCOMMIT")
        await self._try_to_lead()
        self._task = asyncio.create_task(self._rounds(), name="scheduler-leadership")

    async def stop(self) -> None:
        """Stop taking jobs, let running ones finish, then give the lock back."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.pause()
        try:
            await asyncio.wait_for(self._idle.wait(), DRAIN_TIMEOUT_S)
        except TimeoutError:
            log.warning("scheduled jobs still running at shutdown: %s",
                        sorted(self._running_jobs))
        await self._release()
        if self._engine is not None:
            await self._engine.dispose()

    async def _rounds(self) -> None:
        while True:
            await asyncio.sleep(RETRY_INTERVAL_S)
            if self._conn is None:
                await self._try_to_lead()
            elif await self._still_connected():
                self._scheduler.wakeup()
            else:
                log.warning("lost the scheduler lock's connection: standing by")
                self._scheduler.pause()
                self.state = LeaderState.STANDBY

    async def _try_to_lead(self) -> None:
        assert self._engine is not None
        conn: AsyncConnection | None = None
        try:
            conn = await self._engine.connect()
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": LOCK_KEY})
        except Exception as exc:
            log.warning("could not ask for the scheduler lock: %s", exc)
            got = False
        if not got:
            if conn is not None:
                await conn.close()
            return
        self._conn = conn
        await self._lead()

    async def _lead(self) -> None:
        self.state = LeaderState.LEADER
        self._scheduler.resume()
        log.info("this process runs the scheduled jobs")
        try:
            await self._on_lead()
        except Exception:
            log.exception("could not bring the job store up to date on taking the lead")

    async def _still_connected(self) -> bool:
        assert self._conn is not None
        try:
            await self._conn.execute(text("SELECT 1"))
        except Exception:
            await self._release()
            return False
        return True

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        with contextlib.suppress(Exception):
            await conn.close()


LEADERSHIP = web.AppKey("leadership", Leadership)
