"""The app factory: every resource is opened and closed in `cleanup_ctx`, no globals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import time

from aiohttp import web

import web as web_pkg
from scheduling.jobs import DailyJobSpec, make_scheduler, schedule_daily_job, supervision_job
from server.accounts.access import check_route_table
from server.core import db, jobs
from server.core.clock import Clock, system_clock
from server.core.config import Settings
from server.core.keys import (
    CLOCK,
    DEMO_STREET,
    ENGINE,
    METRICS,
    SCHEDULER,
    SEED_DEMO,
    SESSIONS,
    SETTINGS,
)
from server.core.leadership import LEADERSHIP, Leadership
from server.core.metrics import Metrics
from server.demo import activity as demo_activity
from server.demo import street as demo
from server.edge import health, middlewares, room_socket
from server.meetings import registry as room_registry
from server.schedule import session_jobs
from web.render import setup as setup_rendering

log = logging.getLogger("yizhan")


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = db.create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[SESSIONS] = db.session_factory(engine)
    await db.migrate(engine)
    async with app[SESSIONS]() as session, session.begin():
        if app[SEED_DEMO] and await demo.database_is_empty(session):
            logins = await demo.seed_demo(session, clock=app[CLOCK])
            await demo_activity.seed_activity(
                session, clock=app[CLOCK], uploads_dir=app[SETTINGS].uploads_dir,
                timezone=app[SETTINGS].timezone)
            log.info("seeded the demo street; sign in with password %r as one of: %s",
                     demo.DEMO_PASSWORD, ", ".join(login.username for login in logins))
            print(f"Demo street seeded. Password for every demo account: {demo.DEMO_PASSWORD}")
            print("Accounts: " + ", ".join(login.username for login in logins), flush=True)
        street = await demo.the_street_or_none(session)
        app[DEMO_STREET] = bool(street and street.is_demo)
    yield
    await engine.dispose()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    jobs.bind(jobs.JobRuntime(sessions=app[SESSIONS], clock=app[CLOCK], settings=settings))
    if not settings.run_scheduler:
        yield
        jobs.unbind()
        return
    scheduler = make_scheduler(db.sync_url(settings.database_url), settings.timezone)
    # Paused until this process holds the scheduler lock (server/core/leadership.py).
    scheduler.start(paused=True)
    app[SCHEDULER] = scheduler
    jobs.bind(jobs.JobRuntime(sessions=app[SESSIONS], clock=app[CLOCK], settings=settings,
                              scheduler=scheduler))
    for job_id in jobs.daily_job_ids():
        if job_id == "daily:supervision":
            schedule_daily_job(scheduler, supervision_job(timezone=settings.timezone),
                               "server.core.jobs:run_supervision")
        elif job_id == "daily:replan":
            schedule_daily_job(scheduler, DailyJobSpec(job_id=job_id, at=time(2, 0),
                                                       timezone=settings.timezone),
                               "server.core.jobs:run_replan")
    leadership = Leadership(scheduler, settings.database_url, on_lead=lambda: (
        session_jobs.reconcile(app[SESSIONS], scheduler, clock=app[CLOCK])))
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
    setup_rendering(app)
    middlewares.setup(app)
    health.add_routes(app)
    web_pkg.add_routes(app)
    room_registry.setup(app)
    room_socket.setup(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_scheduler)
    app.cleanup_ctx.append(room_registry.room_registry)
    check_route_table(app)
    return app
