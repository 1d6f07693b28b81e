"""The bridge from APScheduler's persisted jobs to the running app.

Persisted jobs name a module-level function ("server.core.jobs:run_session_job",
"server.core.jobs:run_daily_job"); that function needs the app's database, clock and the
table of handlers. The one running app of this process binds itself here on start
(`bind`) and unbinds on stop. This module-level slot is the only global state we keep, and
only because a job store can persist nothing but a textual reference.

Which handler runs for which job is not registered here by import side effects: the app
factory (`server.app.job_table`) lists every job and hands the table over in the runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.jobs import DailyJobSpec, schedule_daily_job
from server.core.clock import Clock
from server.core.config import Settings

log = logging.getLogger("yizhan.jobs")

SESSION_FUNC_REF = "server.core.jobs:run_session_job"
DAILY_FUNC_REF = "server.core.jobs:run_daily_job"

SessionHandler = Callable[["JobRuntime", int], Awaitable[None]]
DailyHandler = Callable[["JobRuntime"], Awaitable[None]]


@dataclass(frozen=True)
class DailyJob:
    """A job at a wall-clock time every day, and what it does."""

    spec: DailyJobSpec
    handler: DailyHandler


@dataclass(frozen=True)
class JobTable:
    """Every job the app runs: a session job's kind → its handlers in order; daily jobs."""

    session: Mapping[str, Sequence[SessionHandler]] = field(default_factory=dict)
    daily: Sequence[DailyJob] = ()

    def daily_job(self, job_id: str) -> DailyJob | None:
        return next((job for job in self.daily if job.spec.job_id == job_id), None)


class RoomCloser(Protocol):
    """What a job may do to a live room (``server.meetings.room_control.RoomControl``)."""

    async def close(self, room: str) -> bool: ...


def _no_rooms() -> RoomCloser | None:
    return None


@dataclass(frozen=True)
class JobRuntime:
    database: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    table: JobTable = field(default_factory=JobTable)
    # This process's scheduler, for daily jobs that (re)schedule session jobs.
    scheduler: AsyncIOScheduler | None = None
    # The live rooms, once the room registry is open (the room-close job dismisses them).
    rooms: Callable[[], RoomCloser | None] = _no_rooms


_runtime: JobRuntime | None = None


def bind(runtime: JobRuntime) -> None:
    global _runtime
    _runtime = runtime


def unbind() -> None:
    global _runtime
    _runtime = None


def _current() -> JobRuntime:
    if _runtime is None:
        raise RuntimeError("a job ran with no app bound")
    return _runtime


def schedule_daily_jobs(scheduler: AsyncIOScheduler, table: JobTable) -> list[str]:
    """Put every daily job of the table into the scheduler (replacing what is stored)."""
    return [schedule_daily_job(scheduler, job.spec, DAILY_FUNC_REF, args=(job.spec.job_id,))
            for job in table.daily]


async def run_session_job(session_id: int, kind: str) -> None:
    runtime = _current()
    for handler in runtime.table.session.get(kind, ()):
        try:
            await handler(runtime, session_id)
        except Exception:
            log.exception("session job %s for session %s failed", kind, session_id)


async def run_daily_job(job_id: str) -> None:
    runtime = _current()
    job = runtime.table.daily_job(job_id)
    if job is None:
        log.warning("daily job %s is not in this app's job table; skipped", job_id)
        return
    try:
        await job.handler(runtime)
    except Exception:
        log.exception("daily job %s failed", job_id)
