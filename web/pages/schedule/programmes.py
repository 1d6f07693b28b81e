"""Programme set-up and the rotation editor (administrators); re-plan on demand."""

from __future__ import annotations

from datetime import time

from aiohttp import web
from sqlalchemy import select

from server.accounts.access import allow
from server.accounts.directory import get
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.keys import CLOCK, DATABASE, LOCALE
from server.meetings.room_access import KNOWN_ROOMS
from server.models import Programme, Role
from server.schedule import programmes
from server.schedule.planning import replan
from server.schedule.recurrence_words import rrule_words
from server.schedule.workdays import load_calendar
from web.pages.schedule.support import (
    actor,
    error_text,
    finish,
    form_data,
    local_today,
    missing_years,
    path_id,
)
from web.render import render

PATTERNS = [("weekly", N_("Every week")),
            ("monthly_weekday", N_("Every month on the n-th weekday")),
            ("monthly_day", N_("Every month on a day of the month"))]
WEEKDAYS = [(str(i), name) for i, name in enumerate(
    (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
     N_("Saturday"), N_("Sunday")))]
NTH = [("1", N_("first")), ("2", N_("second")), ("3", N_("third")), ("4", N_("fourth")),
       ("-1", N_("last"))]
POLICIES = [("next_workday", N_("Move to the next working day")),
            ("previous_workday", N_("Move to the previous working day")),
            ("skip", N_("Skip the session"))]
UNIT_KINDS = [("department", N_("Legal departments")), ("deputy", N_("Deputies"))]
ROOMS = [(room.id, room.title) for room in KNOWN_ROOMS]
ROOM_TITLES = dict(ROOMS)  # room code -> msgid of its name, for every page that shows one
OPTIONS = {"patterns": PATTERNS, "weekdays": WEEKDAYS, "nth": NTH, "policies": POLICIES,
           "unit_kinds": UNIT_KINDS}


def _programme_id(request: web.Request) -> int | None:
    return None if request.match_info.get("programme_id") == "new" \
        else path_id(request, "programme_id")


@allow(Role.ADMIN, Role.HOST)
async def list_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        rows = await programmes.list_programmes(db, clock=request.app[CLOCK])
    locale = request.get(LOCALE, "zh_CN")
    return await render(request, "schedule/programmes.html", {
        "programmes": rows, "unit_kinds": dict(UNIT_KINDS), "room_titles": ROOM_TITLES,
        "when": {p.id: rrule_words(p.rrule, time.fromisoformat(p.start_time), locale)
                 for p in rows},
        "missing_years": await _missing_years(request)})


async def _missing_years(request: web.Request) -> list[int]:
    """Years the programmes plan into that have no holiday arrangement yet."""
    today = local_today(request)
    async with request.app[DATABASE]() as db:
        calendar = await load_calendar(db)
        horizon = await programmes.planning_horizon(db, today)
    return missing_years(calendar, (today, horizon))


async def _programme_rooms(request: web.Request) -> list[str]:
    """Rooms that programmes hold beside the fixed ones, offered as choices."""
    async with request.app[DATABASE]() as db:
        used = await db.scalars(select(Programme.room).distinct().order_by(Programme.room))
        return [room for room in used if room not in ROOM_TITLES]


async def _form(request: web.Request, programme_id: int | None, values: dict[str, str], *,
                errors: dict[str, str] | None = None, message: str | None = None,
                status: int = 200) -> web.Response:
    rooms = [*ROOMS, *((room, room) for room in await _programme_rooms(request))]
    return await render(request, "schedule/programme_form.html", {
        "programme_id": programme_id, "values": values, "errors": errors or {}, "rooms": rooms,
        "message": message, "missing_years": await _missing_years(request), **OPTIONS},
        status=status)


@allow(Role.ADMIN)
async def form_page(request: web.Request) -> web.StreamResponse:
    programme_id = _programme_id(request)
    async with request.app[DATABASE]() as db:
        programme = await get(db, Programme, programme_id) if programme_id else None
        values = programmes.form_values(programme, today=local_today(request))
    return await _form(request, programme_id, values)


@allow(Role.ADMIN)
async def save(request: web.Request) -> web.StreamResponse:
    programme_id = _programme_id(request)
    data = await form_data(request)
    try:
        command = programmes.ProgrammeCommand.from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            programme, result = await programmes.save_programme(
                db, command, actor=actor(request), clock=request.app[CLOCK],
                programme_id=programme_id)
            saved_id = programme.id
    except ValidationFailed as exc:
        return await _form(request, programme_id, data, errors=exc.field_errors,
                           message=error_text(request, exc), status=422)
    finish(request, result)
    raise web.HTTPSeeOther(f"/schedule/programmes/{saved_id}/rotation" if programme_id is None
                           else "/schedule/programmes")


async def _rotation(request: web.Request, programme_id: int, *,
                    errors: dict[str, str] | None = None, message: str | None = None,
                    values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        view = await programmes.rotation_view(db, programme_id, clock=request.app[CLOCK])
    if values is None:
        values = {f"position_{uid}": str(pos) for uid, pos in view.positions.items()}
        values["next_unit"] = str(view.next_unit_id or "")
    return await render(request, "schedule/rotation.html", {
        "view": view, "values": values, "errors": errors or {}, "message": message,
        "unit_kinds": dict(UNIT_KINDS), "missing_years": await _missing_years(request)},
        status=status)


@allow(Role.ADMIN)
async def rotation_page(request: web.Request) -> web.StreamResponse:
    return await _rotation(request, path_id(request, "programme_id"))


@allow(Role.ADMIN)
async def save_rotation(request: web.Request) -> web.StreamResponse:
    programme_id = path_id(request, "programme_id")
    data = await form_data(request)
    try:
        command = programmes.RotationCommand.from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            result = await programmes.save_rotation(db, programme_id, command,
                                                    actor=actor(request),
                                                    clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await _rotation(request, programme_id, errors=exc.field_errors,
                               message=error_text(request, exc), values=data, status=422)
    finish(request, result)
    raise web.HTTPSeeOther("/schedule/programmes")


@allow(Role.ADMIN, Role.HOST)
async def replan_now(request: web.Request) -> web.StreamResponse:
    programme_id = path_id(request, "programme_id")
    async with request.app[DATABASE]() as db, db.begin():
        if await db.get(Programme, programme_id) is None:
            raise NotFound("Not found.")
        result = await replan(db, programme_id, clock=request.app[CLOCK],
                              actor_id=actor(request).user_id)
    finish(request, result)
    raise web.HTTPSeeOther("/schedule/programmes")
