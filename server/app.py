"""The app factory: every resource is opened and closed in `cleanup_ctx`, no globals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import time

from aiohttp import web

from scheduling.jobs import DailyJobSpec, JobKind, make_scheduler, supervision_job
from server import cluster
from server.accounts.access import check_route_table
from server.core import db as database
from server.core import jobs
from server.core.clock import Clock, system_clock
from server.core.config import Settings
from server.core.keys import (
    CLOCK,
    DATABASE,
    DEMO_STREET,
    ENGINE,
    METRICS,
    SCHEDULER,
    SEED_DEMO,
    SETTINGS,
)
from server.core.leadership import LEADERSHIP, Leadership
from server.core.metrics import Metrics
from server.demo import activity as demo_activity
from server.demo import street as demo
from server.edge import middlewares, room_socket, routes
from server.legal import packet
from server.meetings import documents
from server.meetings import registry as room_registry
from server.meetings.room_control import ROOM_CONTROL
from server.notify import sender as notice_sender
from server.opinions import supervision
from server.recordings import hooks as recording_catalogue
from server.recordings import retention as recording_retention
from server.residents import retention
from server.residents.limits import RESIDENT_LIMITS, ResidentLimits
from server.schedule import session_jobs
from web import pages
from web.i18n import DEFAULT_LOCALE
from web.render import CATALOGS
from web.render import setup as setup_rendering

log = logging.getLogger("yizhan")


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = database.create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[DATABASE] = database.session_factory(engine)
    await database.migrate(engine)
    async with app[DATABASE]() as db, db.begin():
        if app[SEED_DEMO] and await demo.database_is_empty(db):
            logins = await demo.seed_demo(db, clock=app[CLOCK])
            await demo_activity.seed_activity(
                db, clock=app[CLOCK], uploads_dir=app[SETTINGS].uploads_dir,
                timezone=app[SETTINGS].timezone)
            log.info("seeded the demo street; sign in with password %r as one of: %s",
                     demo.DEMO_PASSWORD, ", ".join(login.username for login in logins))
            print(f"Demo street seeded. Password for every demo account: {demo.DEMO_PASSWORD}")
            print("Accounts: " + ", ".join(login.username for login in logins), flush=True)
        street = await demo.the_street_or_none(db)
        app[DEMO_STREET] = bool(street and street.is_demo)
    yield
    await engine.dispose()


def job_table(settings: Settings) -> jobs.JobTable:
    """Every job the app runs, listed here rather than registered by importing a module."""
    return jobs.JobTable(
        session={
            JobKind.CUTOFF.value: (session_jobs.on_cutoff, packet.compile_at_cutoff),
            JobKind.REMINDER_24H.value: (session_jobs.on_reminder_24h,),
            JobKind.REMINDER_30MIN.value: (session_jobs.on_reminder_30min,),
            JobKind.ROOM_OPEN.value: (session_jobs.on_room_open,),
            JobKind.ROOM_CLOSE.value: (session_jobs.on_room_close,),
        },
        daily=(
            jobs.DailyJob(supervision_job(timezone=settings.timezone), supervision.run),
            jobs.DailyJob(DailyJobSpec(job_id="daily:replan", at=time(2, 0),
                                       timezone=settings.timezone),
                          session_jobs.replan_every_programme),
            jobs.DailyJob(DailyJobSpec(job_id="daily:retention", at=time(3, 0),
                                       timezone=settings.timezone), retention.run),
            jobs.DailyJob(DailyJobSpec(job_id="daily:recordings", at=time(3, 30),
                                       timezone=settings.timezone), recording_retention.run),
            jobs.DailyJob(DailyJobSpec(job_id="daily:documents", at=time(3, 45),
                                       timezone=settings.timezone), documents.run),
        ),
    )


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    table = job_table(settings)
    rooms = lambda: app.get(ROOM_CONTROL)  # noqa: E731 - opened after the scheduler
    jobs.bind(jobs.JobRuntime(database=app[DATABASE], clock=app[CLOCK], settings=settings,
                              table=table, rooms=rooms))
    if not settings.run_scheduler:
        yield
        jobs.unbind()
        return
    scheduler = make_scheduler(database.sync_url(settings.database_url), settings.timezone)
    # Paused until this process holds the scheduler lock (server/core/leadership.py).
    scheduler.start(paused=True)
    app[SCHEDULER] = scheduler
    jobs.bind(jobs.JobRuntime(database=app[DATABASE], clock=app[CLOCK], settings=settings,
                              table=table, scheduler=scheduler, rooms=rooms))
    jobs.schedule_daily_jobs(scheduler, table)
    leadership = Leadership(scheduler, settings.database_url, on_lead=lambda: (
        session_jobs.reconcile(app[DATABASE], scheduler, clock=app[CLOCK],
                               window=settings.room_window)))
    app[LEADERSHIP] = leadership
    await leadership.start()
    yield
    await leadership.stop()
    scheduler.shutdown(wait=False)
    jobs.unbind()


def init_app(
    settings: Settings, *, clock: Clock = system_clock, seed_demo: bool = True
) -> web.Application:
    app = web.Application(client_max_size=settings.max_upload_bytes)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[SEED_DEMO] = seed_demo
    app[METRICS] = Metrics()
    app[RESIDENT_LIMITS] = ResidentLimits(clock)
    setup_rendering(app)
    middlewares.setup(app)
    pages.setup(app)
    routes.add_routes(app.router)
    room_registry.setup(app)
    room_socket.setup(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_scheduler)
    app.cleanup_ctx.append(notice_sender.background(
        lambda m: app[CATALOGS].get(DEFAULT_LOCALE).gettext(m)))
    app.cleanup_ctx.append(room_registry.room_registry)
    app.cleanup_ctx.append(recording_catalogue.list_on_start)
    app.cleanup_ctx.append(cluster.cluster_ctx)  # nothing unless YIZHAN_REDIS_URL is set
    app.on_shutdown.insert(0, cluster.release_before_shutdown)  # before the rooms close
    check_route_table(app)
    return app
