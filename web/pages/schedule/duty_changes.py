"""Swap and override requests: asking from a session's page, deciding on the list."""

from __future__ import annotations

from aiohttp import web

from server.accounts.access import allow
from server.core.errors import ValidationFailed
from server.core.keys import CLOCK, DATABASE, current_principal
from server.models import Role
from server.schedule import rotation_changes
from web.pages.schedule.sessions import render_session_page
from web.pages.schedule.support import error_text, finish, form_data, path_id
from web.render import render

PARTIES = (Role.ADMIN, Role.HOST, Role.OFFICER, Role.DEPUTY)


@allow(*PARTIES)
async def changes_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        changes = await rotation_changes.list_changes(db, current_principal(request))
    return await render(request, "schedule/changes.html", {"changes": changes})


@allow(*PARTIES)
async def new_change_page(request: web.Request) -> web.StreamResponse:
    """新建调换: choose the session first; its page holds the swap and override forms."""
    async with request.app[DATABASE]() as db:
        sessions = await rotation_changes.changeable_sessions(
            db, current_principal(request), clock=request.app[CLOCK])
    return await render(request, "schedule/change_new.html", {"sessions": sessions})


async def _request(request: web.Request, kind: str) -> web.StreamResponse:
    session_id = path_id(request, "session_id")
    data = await form_data(request)
    principal, clock = current_principal(request), request.app[CLOCK]
    try:
        async with request.app[DATABASE]() as db, db.begin():
            if kind == "swap":
                _change, result, notices = await rotation_changes.request_swap(
                    db, session_id, rotation_changes.SwapRequest.from_fields(data),
                    principal=principal, clock=clock)
            else:
                _change, result, notices = await rotation_changes.request_override(
                    db, session_id, rotation_changes.OverrideRequest.from_fields(data),
                    principal=principal, clock=clock)
    except ValidationFailed as exc:
        return await render_session_page(request, session_id, form=kind,
                                         errors=exc.field_errors,
                                         message=error_text(request, exc), status=422)
    finish(request, result, notices)
    raise web.HTTPSeeOther("/schedule/changes")


@allow(*PARTIES)
async def request_swap(request: web.Request) -> web.StreamResponse:
    return await _request(request, "swap")


@allow(*PARTIES)
async def request_override(request: web.Request) -> web.StreamResponse:
    return await _request(request, "override")


@allow(*PARTIES)
async def decide(request: web.Request) -> web.StreamResponse:
    change_id = path_id(request, "change_id")
    data = await form_data(request)
    command = rotation_changes.ChangeDecision.from_fields(
        {**data, "decision": request.match_info["decision"]})
    async with request.app[DATABASE]() as db, db.begin():
        result, notices = await rotation_changes.decide(
            db, change_id, command, principal=current_principal(request),
            clock=request.app[CLOCK])
    finish(request, result, notices)
    raise web.HTTPSeeOther("/schedule/changes")
