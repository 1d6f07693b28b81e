"""Timed jobs around a session, on APScheduler 3.x.

Each session gets five jobs with stable ids ``session:<id>:<kind>``:

============== ======================== =================================
kind           runs at                  still meaningful (misfire rule)
============== ======================== =================================
cutoff         the question cutoff      always: the packet must go out
reminder_24h   start - 24 h             until the session starts
reminder_30min start - 30 min           until the session starts
room_open      start - 15 min           until the session ends
room_close     end + grace (15 min)     always: a room must not stay open
============== ======================== =================================

A job missed while the server was down runs once on restart only while it
is still meaningful. That is APScheduler's ``misfire_grace_time`` (seconds
from the run time to the end of meaningfulness; None for "always") with
``coalesce=True``; ``is_still_meaningful(spec, now)`` states the same rule as
a pure function (and ``schedule_session_jobs`` drops specs that are already
past it).

Jobs are stored by textual reference (``"package.module:function"``) so
that the SQLAlchemy job store can persist them; the callable lives in the
server and is called as ``await func(session_id=..., kind="cutoff")``.
Daily jobs (supervision, 督办) get ``func()`` with no arguments.

Add, replace or remove jobs only while the scheduler is started (paused or
running): APScheduler does not look into a persistent store before that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from scheduling.clock import DEFAULT_TIMEZONE, Clock, add_elapsed, require_aware, utc, zone
from scheduling.errors import InvalidJob

REMINDER_DAY_BEFORE = timedelta(hours=24)
REMINDER_SOON_BEFORE = timedelta(minutes=30)
ROOM_OPEN_BEFORE = timedelta(minutes=15)
ROOM_CLOSE_GRACE = timedelta(minutes=15)



@dataclass(frozen=True, kw_only=True)
class RoomWindow:
    """When a session's room is open: from ``open_before`` its start to ``close_grace``
    after its end (the settings' ``YIZHAN_ROOM_OPEN_BEFORE``/``YIZHAN_ROOM_CLOSE_GRACE``)."""

    open_before: timedelta = ROOM_OPEN_BEFORE
    close_grace: timedelta = ROOM_CLOSE_GRACE

    def __post_init__(self) -> None:
        if self.open_before < timedelta(0) or self.close_grace < timedelta(0):
            raise InvalidJob("a room opens before its session and closes after it")

    def opens(self, start: datetime) -> datetime:
        return add_elapsed(start, -self.open_before)

    def closes(self, end: datetime) -> datetime:
        return add_elapsed(end, self.close_grace)


DEFAULT_ROOM_WINDOW = RoomWindow()

_FUNC_REF = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class JobKind(StrEnum):
    CUTOFF = "cutoff"
    REMINDER_24H = "reminder_24h"
    REMINDER_30MIN = "reminder_30min"
    ROOM_OPEN = "room_open"
    ROOM_CLOSE = "room_close"


def session_job_id(session_id: str | int, kind: JobKind) -> str:
    return f"session:{session_id}:{JobKind(kind).value}"


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    session_id: str | int
    kind: JobKind
    run_at: datetime
    meaningful_until: datetime | None
    """The last instant a missed run still makes sense; None: always."""

    def __post_init__(self) -> None:
        if isinstance(self.session_id, bool) or not isinstance(self.session_id, str | int):
            raise InvalidJob(f"a session id is a string or an integer: {self.session_id!r}")
        if isinstance(self.session_id, str) and (
            not self.session_id or ":" in self.session_id or not self.session_id.isprintable()
        ):
            raise InvalidJob(
                f"a session id must be printable text without ':': {self.session_id!r}"
            )
        object.__setattr__(self, "kind", JobKind(self.kind))
        require_aware(self.run_at, "run_at")
        if self.meaningful_until is not None:
            require_aware(self.meaningful_until, "meaningful_until")
            if utc(self.meaningful_until) <= utc(self.run_at):
                raise InvalidJob(f"job {self.job_id} stops being meaningful before it runs")

    @property
    def job_id(self) -> str:
        return session_job_id(self.session_id, self.kind)

    @property
    def misfire_grace_time(self) -> int | None:
        """APScheduler's grace in whole seconds (at least 1), None for no limit."""
        if self.meaningful_until is None:
            return None
        return max(1, int((self.meaningful_until - self.run_at).total_seconds()))


def session_jobs(
    session_id: str | int,
    start: datetime,
    end: datetime,
    cutoff: datetime,
    *,
    close_grace: timedelta | None = None,
    window: RoomWindow = DEFAULT_ROOM_WINDOW,
) -> list[JobSpec]:
    """The five jobs; the room's open and close follow ``window`` (``close_grace``, when
    given, overrides the window's grace)."""
    if close_grace is None:
        close_grace = window.close_grace
    require_aware(start, "start")
    require_aware(end, "end")
    require_aware(cutoff, "cutoff")
    if utc(end) <= utc(start):
        raise InvalidJob(f"session {session_id} must end after it starts")
    if utc(cutoff) > utc(start):
        raise InvalidJob(f"session {session_id}: questions must close before it starts")
    if close_grace < timedelta(0):
        raise InvalidJob("the room cannot close before the session ends")

    def spec(kind: JobKind, run_at: datetime, until: datetime | None) -> JobSpec:
        return JobSpec(session_id=session_id, kind=kind, run_at=run_at, meaningful_until=until)

    return [
        spec(JobKind.CUTOFF, cutoff, None),
        spec(JobKind.REMINDER_24H, add_elapsed(start, -REMINDER_DAY_BEFORE), start),
        spec(JobKind.REMINDER_30MIN, add_elapsed(start, -REMINDER_SOON_BEFORE), start),
        spec(JobKind.ROOM_OPEN, window.opens(start), end),
        spec(JobKind.ROOM_CLOSE, add_elapsed(end, close_grace), None),
    ]


def is_still_meaningful(spec: JobSpec, now: datetime) -> bool:
    """Whether running ``spec`` at ``now`` (on time or late) still makes sense."""
    require_aware(now, "now")
    return spec.meaningful_until is None or utc(now) <= utc(spec.meaningful_until)


def make_scheduler(
    jobstore_url: str | None, timezone: tzinfo | str = DEFAULT_TIMEZONE
) -> AsyncIOScheduler:
    """An unstarted scheduler: SQLAlchemy job store at a *sync* URL, or in memory for None.

    ``coalesce=True``: runs missed while down collapse into one.
    """
    tz = zone(timezone) if isinstance(timezone, str) else timezone
    jobstore = MemoryJobStore() if jobstore_url is None else SQLAlchemyJobStore(url=jobstore_url)
    return AsyncIOScheduler(
        jobstores={"default": jobstore},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=tz,
    )


def schedule_session_jobs(
    scheduler: AsyncIOScheduler,
    specs: Iterable[JobSpec],
    func_ref: str,
    *,
    clock: Clock,
) -> tuple[str, ...]:
    """Add or replace the jobs by id; specs no longer meaningful are removed instead.

    A spec whose run time has passed but that is still meaningful (a session
    planned less than 24 hours ahead: its cutoff) runs as soon as the
    scheduler processes it. Returns the ids of the jobs now scheduled.
    """
    _check_func_ref(func_ref)
    now = require_aware(clock(), "clock()")
    scheduled: list[str] = []
    for spec in specs:
        if not is_still_meaningful(spec, now):
            _remove(scheduler, spec.job_id)
            continue
        scheduler.add_job(
            func_ref,
            trigger=DateTrigger(run_date=spec.run_at),
            id=spec.job_id,
            name=spec.job_id,
            kwargs={"session_id": spec.session_id, "kind": spec.kind.value},
            misfire_grace_time=spec.misfire_grace_time,
            coalesce=True,
            replace_existing=True,
        )
        scheduled.append(spec.job_id)
    return tuple(scheduled)


def remove_session_jobs(scheduler: AsyncIOScheduler, session_id: str | int) -> tuple[str, ...]:
    """Remove a (cancelled) session's jobs; returns the ids that were there."""
    removed = []
    for kind in JobKind:
        job_id = session_job_id(session_id, kind)
        if _remove(scheduler, job_id):
            removed.append(job_id)
    return tuple(removed)


@dataclass(frozen=True, kw_only=True)
class DailyJobSpec:
    """A job at a wall-clock time every day, e.g. supervision at 09:00 Shanghai time.

    Missed while down, it runs once on restart within ``misfire_grace`` (by
    default 8 hours: still the same office day). Whether a day is a working
    day is the job's own business (``WorkdayCalendar.is_workday``).
    """

    job_id: str
    at: time
    timezone: str = DEFAULT_TIMEZONE
    misfire_grace: timedelta = timedelta(hours=8)

    def __post_init__(self) -> None:
        if not isinstance(self.job_id, str) or not self.job_id or not self.job_id.isprintable():
            raise InvalidJob(f"a job id is printable text: {self.job_id!r}")
        if not isinstance(self.at, time) or self.at.tzinfo is not None:
            raise InvalidJob("a daily job runs at a wall-clock time without a zone")
        try:
            zone(self.timezone)
        except LookupError as exc:
            raise InvalidJob(str(exc)) from None
        if not timedelta(seconds=1) <= self.misfire_grace <= timedelta(days=1):
            raise InvalidJob("a daily job's misfire grace is between 1 second and 1 day")


def supervision_job(at: time = time(9, 0), timezone: str = DEFAULT_TIMEZONE) -> DailyJobSpec:
    """The daily 督办 run: chase up overdue opinion items."""
    return DailyJobSpec(job_id="daily:supervision", at=at, timezone=timezone)


def schedule_daily_job(
    scheduler: AsyncIOScheduler, spec: DailyJobSpec, func_ref: str,
    args: tuple[str, ...] = (),
) -> str:
    _check_func_ref(func_ref)
    scheduler.add_job(
        func_ref,
        args=list(args),
        trigger=CronTrigger(
            hour=spec.at.hour,
            minute=spec.at.minute,
            second=spec.at.second,
            timezone=zone(spec.timezone),
        ),
        id=spec.job_id,
        name=spec.job_id,
        misfire_grace_time=int(spec.misfire_grace.total_seconds()),
        coalesce=True,
        replace_existing=True,
    )
    return spec.job_id


def _check_func_ref(func_ref: str) -> None:
    if not isinstance(func_ref, str) or not _FUNC_REF.match(func_ref):
        raise InvalidJob(f"a job callable is named 'package.module:function', not {func_ref!r}")


def _remove(scheduler: AsyncIOScheduler, job_id: str) -> bool:
    try:
        scheduler.remove_job(job_id)
    except JobLookupError:
        return False
    return True
