"""What the schedule pages share: ids from the path, form data (each handler parses it
into its use case's command), and finishing a use case
(session jobs and channel notices once the transaction has committed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date

from aiohttp import web

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import zone
from server.accounts.directory import Actor
from server.core.errors import DomainError, NotFound
from server.core.fields import parse_id
from server.core.keys import CLOCK, SCHEDULER, SETTINGS, current_principal
from server.notify.notices import Notice, channels_from, publish
from server.schedule.planning import ReplanResult
from server.schedule.session_jobs import apply
from web.render import translate

BACKGROUND = web.AppKey[set[asyncio.Task[None]]]("schedule_background")


def setup(app: web.Application) -> None:
    """Keep channel deliveries that outlive their request, and wait for them on close."""
    app[BACKGROUND] = set()

    async def drain(app: web.Application) -> None:
        tasks = app[BACKGROUND]
        pending = list(tasks)
        if pending:
            await asyncio.wait(pending, timeout=15)

    app.on_cleanup.append(drain)


def path_id(request: web.Request, name: str) -> int:
    """An id from the path; a segment that is no id (or past 2**31-1) names nothing: 404."""
    ident = parse_id(request.match_info.get(name))
    if ident is None:
        raise NotFound("Not found.")
    return ident


async def form_data(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def actor(request: web.Request) -> Actor:
    return Actor(current_principal(request).user_id)


def error_text(request: web.Request, exc: DomainError) -> str:
    """A domain error's message for the page, translated with its parameters."""
    return translate(request, exc.message, **exc.params)


def local_today(request: web.Request) -> date:
    return request.app[CLOCK]().astimezone(zone(request.app[SETTINGS].timezone)).date()


def finish(request: web.Request, result: ReplanResult | None,
           notices: Iterable[Notice] = ()) -> None:
    """After commit: write the session jobs, hand notices to the channels (in the
    background, so a slow webhook never holds up the page)."""
    if result is not None:
        apply(request.app.get(SCHEDULER), result.jobs, clock=request.app[CLOCK],
              window=request.app[SETTINGS].room_window)
    channels = channels_from(request.app[SETTINGS])
    notices = list(notices)
    if channels and notices:
        task = asyncio.create_task(publish(channels, notices))
        tasks = request.app[BACKGROUND]
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def missing_years(calendar: WorkdayCalendar, *spans: tuple[date, date]) -> list[int]:
    """Years in any of the spans that have no holiday arrangement yet."""
    found: set[int] = set()
    for start, end in spans:
        found.update(calendar.missing_years(start, max(start, end)))
    return sorted(found)
