"""The administrator edits the list of opinion categories."""

from __future__ import annotations

from aiohttp import web

from server.access import allow
from server.directory import Actor
from server.errors import ValidationFailed
from server.keys import CLOCK, SESSIONS, current_principal
from server.models import Role
from server.opinion_categories import list_categories, save_category, set_category_active

from ..render import render


async def _page(request: web.Request, *, errors: dict[str, str] | None = None,
                message: str | None = None, values: dict[str, str] | None = None,
                editing: int | None = None, status: int = 200) -> web.Response:
    async with request.app[SESSIONS]() as db:
        categories = await list_categories(db)
    return await render(request, "opinions/categories.html", {
        "categories": categories, "errors": errors or {}, "message": message,
        "values": values or {}, "editing": editing}, status=status)


@allow(Role.ADMIN)
async def categories_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@allow(Role.ADMIN)
async def save(request: web.Request) -> web.StreamResponse:
    raw = request.match_info.get("ident")
    ident = int(raw) if raw else None
    form = await request.post()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    actor = Actor(current_principal(request).user_id)
    try:
        async with request.app[SESSIONS]() as db, db.begin():
            if ident is not None and data.get("active") in ("0", "1"):
                await set_category_active(db, ident, data["active"] == "1", actor=actor,
                                          clock=request.app[CLOCK])
            else:
                await save_category(db, data, actor=actor, clock=request.app[CLOCK],
                                    category_id=ident)
    except ValidationFailed as exc:
        return await _page(request, errors=exc.field_errors, message=exc.message, values=data,
                           editing=ident, status=422)
    raise web.HTTPSeeOther("/opinions/categories")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/opinions/categories", categories_page, name="opinion_categories")
    app.router.add_post("/opinions/categories", save)
    app.router.add_post(r"/opinions/categories/{ident:\d+}", save)
