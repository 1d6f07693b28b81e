"""Session jobs: put them in the scheduler, and what each one does when it runs.

Each session that takes place has the five jobs of `scheduling.jobs.session_jobs`, stored
in the app database and run by `server.core.jobs:run_session_job`. Use cases return the job
changes (`server.schedule.planning.JobChanges`); `apply` writes them to the job store after the
transaction committed (the job store is a separate connection: writing it inside an open
SQLite transaction would wait for that very transaction).

A job whose time has passed is scheduled again only if it has not run yet (it is still in
the store) or its session is new; so a re-plan or a restart never runs a cutoff twice.
Handlers are idempotent anyway: inbox messages carry a dedupe key per session and kind.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from scheduling.clock import utc, zone
from scheduling.jobs import (
    DEFAULT_ROOM_WINDOW,
    JobKind,
    RoomWindow,
    remove_session_jobs,
    schedule_session_jobs,
    session_jobs,
)
from scheduling.planner import SessionStatus
from server.core.clock import Clock, moment_label
from server.core.errors import N_, DomainError
from server.core.jobs import SESSION_FUNC_REF, JobRuntime
from server.meetings.calls import open_sessions
from server.models import Programme, ProgrammeSession
from server.notify import inbox
from server.notify.notices import (
    Notice,
    channels_from,
    deliver,
    host_users,
    publish,
    site_users,
    unit_users,
)
from server.schedule.planning import JobChanges, replan
from server.schedule.units import units_of_kind

log = logging.getLogger("yizhan.jobs")

FUNC_REF = SESSION_FUNC_REF


def apply(scheduler: AsyncIOScheduler | None, changes: JobChanges, *, clock: Clock,
          window: RoomWindow = DEFAULT_ROOM_WINDOW) -> None:
    """Write job changes to the scheduler's store; without a scheduler here, the one that
    runs the jobs picks the sessions up when it starts or at the daily re-plan."""
    if scheduler is None or not scheduler.running:
        return
    now = utc(clock())
    try:
        for session_id in sorted(changes.remove):
            remove_session_jobs(scheduler, session_id)
        for session_id, times in sorted(changes.schedule.items()):
            specs = session_jobs(session_id, times.start, times.end, times.cutoff, window=window)
            if session_id not in changes.fresh:
                specs = [s for s in specs
                         if utc(s.run_at) > now or scheduler.get_job(s.job_id) is not None]
            schedule_session_jobs(scheduler, specs, FUNC_REF, clock=clock)
    except Exception:  # the use case committed; the next reconcile repairs the store
        log.exception("could not update the session jobs")


async def reconcile(
    database: async_sessionmaker[AsyncSession], scheduler: AsyncIOScheduler, *, clock: Clock,
    window: RoomWindow = DEFAULT_ROOM_WINDOW,
) -> JobChanges:
    """Make the job store match the sessions still ahead (on start and on take-over)."""
    now = utc(clock())
    async with database() as db:
        rows = list(await db.scalars(select(ProgrammeSession).where(
            ProgrammeSession.ends_at > now - window.close_grace)))
    changes = JobChanges()
    for row in rows:
        if row.status is SessionStatus.PLANNED:
            changes.add(row)
        else:
            changes.drop(row.id)
    apply(scheduler, changes, clock=clock, window=window)
    return changes


# -- what the jobs do ------------------------------------------------------------------

_TITLES = {
    JobKind.CUTOFF: N_("Questions for %(programme)s on %(date)s are closed"),
    JobKind.REMINDER_24H: N_("Reminder: %(programme)s on %(date)s, on duty: %(unit)s"),
    JobKind.REMINDER_30MIN: N_("%(programme)s starts in 30 minutes (%(date)s)"),
    JobKind.ROOM_OPEN: N_("The room for %(programme)s is open"),
    JobKind.ROOM_CLOSE: N_("The room for %(programme)s is closed"),
}


async def _recipients(db: AsyncSession, kind: JobKind, programme: Programme,
                      row: ProgrammeSession) -> set[int]:
    unit = set(await unit_users(db, programme.unit_kind, row.unit_id))
    if kind is JobKind.CUTOFF:
        return unit | set(await host_users(db))
    if kind in (JobKind.REMINDER_24H, JobKind.REMINDER_30MIN):
        return unit | set(await site_users(db))
    if kind is JobKind.ROOM_OPEN:
        return unit | set(await site_users(db)) | set(await host_users(db))
    return set(await host_users(db))


# Notices that ask people to come link straight into the room (made absolute by the
# outbox's sender with YIZHAN_PUBLIC_URL); the others link to the session's page, which
# links into the room.
_INTO_ROOM = (JobKind.REMINDER_24H, JobKind.REMINDER_30MIN, JobKind.ROOM_OPEN)


def room_link(room: str) -> str:
    return f"/rooms/{room}"


async def _run(runtime: JobRuntime, session_id: int,
               kind: JobKind) -> tuple[Notice | None, str | None]:
    """The notice, and the room to close once the transaction committed."""
    now = runtime.clock()
    async with runtime.database() as db, db.begin():
        row = await db.get(ProgrammeSession, session_id)
        if row is None:
            return None, None
        programme = await db.get(Programme, row.programme_id)
        opened = row.room_opened_at is not None
        if programme is None or (row.status is not SessionStatus.PLANNED
                                 and not (kind is JobKind.ROOM_CLOSE and opened)):
            return None, None
        close = None
        if kind is JobKind.ROOM_OPEN and row.room_opened_at is None:
            row.room_opened_at = now
        elif kind is JobKind.ROOM_CLOSE:
            if row.room_closed_at is None:
                row.room_closed_at = now
            await db.flush()
            # Back-to-back sessions in one room: the next one's room is already open.
            if not await open_sessions(db, now, room=programme.room,
                                       window=runtime.settings.room_window):
                close = programme.room
        units = await units_of_kind(db, programme.unit_kind)
        unit = units.get(row.unit_id) if row.unit_id is not None else None
        local = row.starts_at.astimezone(zone(programme.timezone))
        link = room_link(programme.room) if kind in _INTO_ROOM else f"/schedule/sessions/{row.id}"
        notice = await deliver(db, await _recipients(db, kind, programme, row), inbox.Message(
            kind=f"session.{kind.value}", title=_TITLES[kind],
            params={"programme": programme.name, "date": moment_label(local),
                    "unit": unit.name if unit else "—"},
            link=link, dedupe_key=f"session:{row.id}:{kind.value}"),
            clock=runtime.clock, session_id=row.id)
        return notice, close


async def run_kind(runtime: JobRuntime, session_id: int, kind: JobKind) -> None:
    try:
        notice, close = await _run(runtime, session_id, kind)
    except StaleDataError:  # someone edited the session at this very moment: once more
        notice, close = await _run(runtime, session_id, kind)
    rooms = runtime.rooms()
    if close is not None and rooms is not None:
        try:
            if await rooms.close(close):
                log.info("closed room %s at the end of session %s", close, session_id)
        except Exception:  # the session is over either way; never fail the job on it
            log.exception("could not close room %s", close)
    if notice is not None:
        await publish(channels_from(runtime.settings), [notice])


async def on_cutoff(runtime: JobRuntime, session_id: int) -> None:
    """Tell the host and the unit on duty that question collection closed."""
    await run_kind(runtime, session_id, JobKind.CUTOFF)


async def on_reminder_24h(runtime: JobRuntime, session_id: int) -> None:
    await run_kind(runtime, session_id, JobKind.REMINDER_24H)


async def on_reminder_30min(runtime: JobRuntime, session_id: int) -> None:
    await run_kind(runtime, session_id, JobKind.REMINDER_30MIN)


async def on_room_open(runtime: JobRuntime, session_id: int) -> None:
    """Record that the room is open (the rooms feature reads `room_opened_at`)."""
    await run_kind(runtime, session_id, JobKind.ROOM_OPEN)


async def on_room_close(runtime: JobRuntime, session_id: int) -> None:
    """Record the closing and dismiss everyone still in the room (unless the room's next
    session has already opened it)."""
    await run_kind(runtime, session_id, JobKind.ROOM_CLOSE)


async def replan_every_programme(runtime: JobRuntime) -> None:
    """Keep the horizon rolling; one programme's failure does not stop the others."""
    async with runtime.database() as db:
        ids = list(await db.scalars(select(Programme.id).where(Programme.active)
                                    .order_by(Programme.id)))
    for programme_id in ids:
        try:
            async with runtime.database() as db, db.begin():
                result = await replan(db, programme_id, clock=runtime.clock)
        except DomainError as exc:
            log.warning("daily re-plan of programme %s failed: %s", programme_id, exc.message)
            continue
        apply(runtime.scheduler, result.jobs, clock=runtime.clock,
              window=runtime.settings.room_window)

