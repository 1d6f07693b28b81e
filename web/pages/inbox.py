"""The in-app inbox: the list, marking read, and the unread count in the top bar."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from server.accounts.access import signed_in
from server.core.keys import CLOCK, DATABASE, PRINCIPAL, current_principal
from server.notify import inbox
from web.pages.schedule.support import path_id
from web.render import render, translate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNREAD = web.RequestKey("unread_count", int)
_NO_COUNT = ("/static/", "/feeds/", "/api/", "/healthz", "/metrics")


@web.middleware
async def unread_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count unread messages for pages a signed-in user opens (the base template shows it)."""
    principal = request.get(PRINCIPAL)
    if principal is not None and request.method == "GET" \
            and not request.path.startswith(_NO_COUNT):
        async with request.app[DATABASE]() as db:
            request[UNREAD] = await inbox.unread_count(db, principal.user_id)
    return await handler(request)


def unread_count(request: web.Request) -> int:
    count: int = request.get(UNREAD, 0)
    return count


@dataclass(frozen=True)
class MessageView:
    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    unread: bool


def _text(request: web.Request, msgid: str, params: dict[str, object]) -> str:
    try:
        return translate(request, msgid, **params)
    except (KeyError, ValueError, TypeError):
        return msgid


@signed_in
async def inbox_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        rows = await inbox.inbox_of(db, principal.user_id, limit=200)
    messages = [MessageView(id=n.id, title=_text(request, n.title, dict(n.params)),
                            body=_text(request, n.body, dict(n.params)) if n.body else "",
                            link=n.link if n.link.startswith("/") else "",
                            created_at=n.created_at, unread=n.read_at is None) for n in rows]
    return await render(request, "schedule/inbox.html", {"messages": messages})


@signed_in
async def mark_read(request: web.Request) -> web.StreamResponse:
    notification_id = path_id(request, "notification_id")
    principal = current_principal(request)
    async with request.app[DATABASE]() as db, db.begin():
        row = await inbox.mark_read(db, principal.user_id, notification_id,
                                    clock=request.app[CLOCK])
        link = row.link
    form = await request.post()
    target = link if form.get("open") and link.startswith("/") and not link.startswith("//") \
        else "/inbox"
    raise web.HTTPSeeOther(target)


@signed_in
async def mark_all_read(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db, db.begin():
        await inbox.mark_all_read(db, principal.user_id, clock=request.app[CLOCK])
    raise web.HTTPSeeOther("/inbox")


def setup(app: web.Application) -> None:
    """The unread badge of the base template: counted per page, shown by `unread_count`."""
    app.middlewares.append(unread_middleware)
    aiohttp_jinja2.get_env(app).globals["unread_count"] = unread_count
