"""The bridge from APScheduler's persisted jobs to the running app.

Persisted jobs name a module-level function ("server.core.jobs:run_session_job"); that function
needs the app's database and clock. The one running app of this process binds itself here
on start (`bind`) and unbinds on stop. This module-level slot is the only global state we
keep, and only because a job store can persist nothing but a textual reference.
Feature modules register handlers with `on_session_job` and `on_daily_job`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.clock import Clock
from server.core.config import Settings

log = logging.getLogger("yizhan.jobs")


@dataclass(frozen=True)
class JobRuntime:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    # This process's scheduler, for daily jobs that (re)schedule session jobs.
    scheduler: AsyncIOScheduler | None = None


SessionHandler = Callable[[JobRuntime, int], Awaitable[None]]
DailyHandler = Callable[[JobRuntime], Awaitable[None]]

_session_handlers: dict[str, list[SessionHandler]] = {}
_daily_handlers: dict[str, list[DailyHandler]] = {}
_runtime: JobRuntime | None = None


def on_session_job(kind: str) -> Callable[[SessionHandler], SessionHandler]:
    def register(handler: SessionHandler) -> SessionHandler:
        _session_handlers.setdefault(kind, []).append(handler)
        return handler
    return register


def on_daily_job(job_id: str) -> Callable[[DailyHandler], DailyHandler]:
    def register(handler: DailyHandler) -> DailyHandler:
        _daily_handlers.setdefault(job_id, []).append(handler)
        return handler
    return register


def daily_job_ids() -> list[str]:
    return sorted(_daily_handlers)


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


async def run_session_job(session_id: int, kind: str) -> None:
    runtime = _current()
    for handler in _session_handlers.get(kind, []):
        try:
            await handler(runtime, session_id)
        except Exception:
            log.exception("session job %s for session %s failed", kind, session_id)


async def run_daily_job(job_id: str) -> None:
    runtime = _current()
    for handler in _daily_handlers.get(job_id, []):
        try:
            await handler(runtime)
        except Exception:
            log.exception("daily job %s failed", job_id)


async def run_supervision() -> None:
    await run_daily_job("daily:supervision")


async def run_replan() -> None:
    await run_daily_job("daily:replan")
