"""Notices beyond the inbox, for the administrator: channels, who gets what, the log.

And, for every signed-in user, the page of their own preferences (reached from the inbox).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.accounts.access import allow, signed_in
from server.core.errors import N_, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.models import Department, Role, Site, User
from server.notify import channels, outbox, routing
from server.notify.transports import OPTION_FIELDS, SECRET_FIELDS
from web.pages.schedule.support import form_data, path_id
from web.render import render, translate

STATES: dict[str, str] = {"pending": N_("Queued"), "sending": N_("Sending"),
                          "sent": N_("Sent"), "dead": N_("Given up")}
OUTCOMES: dict[str, str] = {"sent": N_("sent"), "retry": N_("failed, will retry"),
                            "rate_limited": N_("rate limited, will retry"),
                            "held": N_("held"), "dead": N_("given up"),
                            "again": N_("send again")}


def _text(request: web.Request, msgid: str, params: dict[str, object]) -> str:
    try:
        return translate(request, msgid, **params)
    except (KeyError, ValueError, TypeError):
        return msgid


async def _units(request: web.Request) -> dict[str, Any]:
    async with request.app[DATABASE]() as db:
        departments = list(await db.scalars(select(Department).order_by(Department.id)))
        sites = list(await db.scalars(select(Site).order_by(Site.id)))
    return {"departments": departments, "sites": sites, "scopes": channels.SCOPES,
            "transports": channels.TRANSPORT_NAMES, "secret_fields": SECRET_FIELDS,
            "option_fields": OPTION_FIELDS, "all_secrets": channels.ALL_SECRETS,
            "all_options": channels.ALL_OPTIONS}


async def _overview(request: web.Request, *, errors: dict[str, str] | None = None,
                    form: dict[str, str] | None = None, status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        rows = await channels.all_channels(db)
        table = await routing.routes(db)
    context = await _units(request)
    context.update({"channels": rows, "routes": table, "kinds": routing.KINDS,
                    "audiences": routing.AUDIENCES, "errors": errors or {},
                    "form": form or {}, "channel": None})
    return await render(request, "notices/admin.html", context, status=status)


@allow(Role.ADMIN)
async def admin_page(request: web.Request) -> web.StreamResponse:
    return await _overview(request)


@allow(Role.ADMIN)
async def add_channel(request: web.Request) -> web.StreamResponse:
    form = await form_data(request)
    try:
        command = channels.channel_from_fields(form)
        async with request.app[DATABASE]() as db, db.begin():
            await channels.save_channel(db, None, command,
                                        secret_key=request.app[SETTINGS].secret_key,
                                        actor_id=current_principal(request).user_id,
                                        clock=request.app[CLOCK])
    except ValidationFailed as exc:
        safe = {k: v for k, v in form.items() if k not in channels.ALL_SECRETS}
        return await _overview(request, errors=exc.field_errors, form=safe, status=422)
    raise web.HTTPSeeOther("/admin/notices")


async def _channel_page(request: web.Request, channel_id: int, *,
                        errors: dict[str, str] | None = None,
                        status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        row = await channels.get_channel(db, channel_id)
    context = await _units(request)
    context.update({"channel": row, "errors": errors or {}, "form": {}})
    return await render(request, "notices/channel.html", context, status=status)


@allow(Role.ADMIN)
async def channel_page(request: web.Request) -> web.StreamResponse:
    return await _channel_page(request, path_id(request, "channel_id"))


@allow(Role.ADMIN)
async def save_channel(request: web.Request) -> web.StreamResponse:
    channel_id = path_id(request, "channel_id")
    form = await form_data(request)
    try:
        command = channels.channel_from_fields(form)
        async with request.app[DATABASE]() as db, db.begin():
            await channels.save_channel(db, channel_id, command,
                                        secret_key=request.app[SETTINGS].secret_key,
                                        actor_id=current_principal(request).user_id,
                                        clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await _channel_page(request, channel_id, errors=exc.field_errors, status=422)
    raise web.HTTPSeeOther("/admin/notices")


@allow(Role.ADMIN)
async def save_routes(request: web.Request) -> web.StreamResponse:
    command = routing.routes_from_fields(await form_data(request))
    async with request.app[DATABASE]() as db, db.begin():
        await routing.save_routes(db, command, clock=request.app[CLOCK])
    raise web.HTTPSeeOther("/admin/notices")


@allow(Role.ADMIN)
async def log_page(request: web.Request) -> web.StreamResponse:
    state = request.query.get("state", "")
    async with request.app[DATABASE]() as db:
        rows = await outbox.delivery_log(db, state=state if state in STATES else None)
    deliveries = [(row, _text(request, row.title, row.params)) for row in rows]
    return await render(request, "notices/log.html",
                        {"deliveries": deliveries, "states": STATES, "outcomes": OUTCOMES,
                         "state": state})


@allow(Role.ADMIN)
async def send_again(request: web.Request) -> web.StreamResponse:
    outbox_id = path_id(request, "outbox_id")
    async with request.app[DATABASE]() as db, db.begin():
        await outbox.send_again(db, outbox_id, actor_id=current_principal(request).user_id,
                                clock=request.app[CLOCK])
    raise web.HTTPSeeOther("/admin/notices/log")


# -- a user's own preferences ----------------------------------------------------------


async def _preferences(request: web.Request, *, errors: dict[str, str] | None = None,
                       saved: bool = False, status: int = 200) -> web.Response:
    user_id = current_principal(request).user_id
    async with request.app[DATABASE]() as db:
        user = await db.get(User, user_id)
        accepts = await routing.accepted(db, user_id)
    return await render(request, "notices/preferences.html", {
        "phone": user.phone if user else "", "email": user.email if user else "",
        "accepts": accepts, "errors": errors or {}, "saved": saved}, status=status)


@signed_in
async def preferences_page(request: web.Request) -> web.StreamResponse:
    return await _preferences(request)


@signed_in
async def save_preferences(request: web.Request) -> web.StreamResponse:
    try:
        command = routing.preferences_from_fields(await form_data(request))
    except ValidationFailed as exc:
        return await _preferences(request, errors=exc.field_errors, status=422)
    async with request.app[DATABASE]() as db, db.begin():
        await routing.save_preferences(db, current_principal(request).user_id, command,
                                       clock=request.app[CLOCK])
    return await _preferences(request, saved=True)
