"""The administrator edits a category list: one page shape for opinions and questions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.accounts.access import allow
from server.accounts.directory import Actor
from server.core.categories import CategoryCommand, CategoryList
from server.core.errors import NotFound, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, current_principal
from server.models import Role
from web.render import render


@dataclass(frozen=True)
class CategoryPage:
    categories: CategoryList[Any]
    path: str  # e.g. "/opinions/categories"
    title: str  # msgid
    back_href: str
    back_label: str  # msgid
    stylesheet: str


@dataclass(frozen=True)
class CategoryHandlers:
    list_page: Callable[[web.Request], Awaitable[web.StreamResponse]]
    save: Callable[[web.Request], Awaitable[web.StreamResponse]]


def category_handlers(page: CategoryPage) -> CategoryHandlers:
    """The list page and the save action of one category list (routes: server.edge.routes)."""

    async def show(request: web.Request, *, errors: dict[str, str] | None = None,
                   message: str | None = None, values: dict[str, str] | None = None,
                   editing: int | None = None, status: int = 200) -> web.Response:
        async with request.app[DATABASE]() as db:
            rows = await page.categories.list(db)
        return await render(request, "categories.html", {
            "page": page, "categories": rows, "errors": errors or {}, "message": message,
            "values": values or {}, "editing": editing}, status=status)

    @allow(Role.ADMIN)
    async def list_page(request: web.Request) -> web.StreamResponse:
        return await show(request)

    @allow(Role.ADMIN)
    async def save(request: web.Request) -> web.StreamResponse:
        raw = request.match_info.get("category_id")
        ident = parse_id(raw) if raw is not None else None
        if raw is not None and ident is None:
            raise NotFound("Not found.")
        form = await request.post()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        actor = Actor(current_principal(request).user_id)
        clock = request.app[CLOCK]
        try:
            async with request.app[DATABASE]() as db, db.begin():
                if ident is not None and data.get("active") in ("0", "1"):
                    await page.categories.set_active(db, ident, data["active"] == "1",
                                                     actor=actor, clock=clock)
                else:
                    await page.categories.save(db, CategoryCommand.from_fields(data),
                                               actor=actor, clock=clock, category_id=ident)
        except ValidationFailed as exc:
            return await show(request, errors=exc.field_errors, message=exc.message,
                              values=data, editing=ident, status=422)
        raise web.HTTPSeeOther(page.path)

    return CategoryHandlers(list_page=list_page, save=save)
