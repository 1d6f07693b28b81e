"""Opinion item pages: the list with its red flags, an item with its timeline and actions,
the form to record a new item, and the photos (only for those who may see the item)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

import server.opinions.supervision  # noqa: F401  (registers the daily supervision job)
from scheduling.clock import zone
from scheduling.deadlines import DEFAULT_REPLY_WORKDAYS
from server.accounts import directory
from server.accounts.access import allow, signed_in
from server.core.errors import Conflict, NotFound, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.models import OpinionStatus, Role
from server.opinions import items as opinions
from server.opinions.categories import list_categories
from server.opinions.commands import (
    MAX_NOTE,
    MAX_TEXT,
    MAX_WORKDAYS,
    create_from_fields,
    transition_from_fields,
)
from server.opinions.items import PAGE_SIZE, RECORDERS, publishes
from server.opinions.lifecycle import ACTION_LABELS, STATUS_LABELS, TRANSITIONS
from server.opinions.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, Upload, path_of
from server.opinions.views import load_names
from web.render import render

RECORDER_ROLES = tuple(sorted(RECORDERS))


def ident_of(request: web.Request) -> int:
    """The id in the path; one no row can have (past 2**31-1) is simply not found."""
    ident = parse_id(request.match_info.get("ident"))
    if ident is None:
        raise NotFound("Not found.")
    return ident


async def read_form(request: web.Request) -> tuple[dict[str, str], list[Upload]]:
    """Text fields and uploaded files of a form (urlencoded or multipart)."""
    form: MultiDictProxy[Any] = await request.post()
    data: dict[str, str] = {}
    uploads: list[Upload] = []
    for key, value in form.items():
        if isinstance(value, str):
            data.setdefault(key, value)
        elif isinstance(value, web.FileField) and key == "photos":
            uploads.append(Upload(value.filename or "", value.file.read()))
    return data, uploads


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else 1
    return max(1, min(10_000, page))


@signed_in
async def list_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    filters = opinions.parse_filters(request.query)
    page = _page_number(request)
    async with request.app[DATABASE]() as db:
        items, total = await opinions.list_items(
            db, principal, filters, now=request.app[CLOCK](), limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE)
        names = await load_names(db)
        categories = await list_categories(db)
    query = {k: v for k, v in request.query.items() if k != "page"}
    return await render(request, "opinions/list.html", {
        "items": items, "total": total, "page": page,
        "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), "query": query,
        "filters": filters, "names": names, "categories": categories,
        "statuses": [(s.value, STATUS_LABELS[s]) for s in OpinionStatus],
        "can_record": principal.role in RECORDERS,
        "street_office": principal.role in (Role.ADMIN, Role.HOST),
    })


async def _form_context(request: web.Request) -> dict[str, Any]:
    async with request.app[DATABASE]() as db:
        sites = await directory.list_sites(db, active_only=True)
        deputies = await directory.list_deputies(db, active_only=True)
        categories = await list_categories(db, active_only=True)
    principal = current_principal(request)
    return {"sites": sites, "deputies": deputies, "categories": categories,
            "own_site": next((s for s in sites if s.id == principal.site_id), None),
            "own_deputy": next((d for d in deputies if d.id == principal.deputy_id), None),
            "max_text": MAX_TEXT, "max_photos": MAX_PHOTOS,
            "max_photo_mb": MAX_PHOTO_BYTES // (1024 * 1024)}


@allow(*RECORDER_ROLES)
async def new_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "opinions/new.html", {
        **await _form_context(request), "values": {}, "errors": {}, "message": None})


@allow(*RECORDER_ROLES)
async def create(request: web.Request) -> web.StreamResponse:
    data, uploads = await read_form(request)
    try:
        command = create_from_fields(
            data, needs_site=current_principal(request).role is not Role.SITE)
        async with request.app[DATABASE]() as db, db.begin():
            item = await opinions.create(
                db, command, viewer=current_principal(request), clock=request.app[CLOCK],
                uploads=uploads, uploads_dir=request.app[SETTINGS].uploads_dir)
    except ValidationFailed as exc:
        return await render(request, "opinions/new.html", {
            **await _form_context(request), "values": data, "errors": exc.field_errors,
            "message": exc.message}, status=422)
    raise web.HTTPSeeOther(f"/opinions/{item.id}")


async def _detail(request: web.Request, *, errors: dict[str, str] | None = None,
                  message: str | None = None, failed_action: str | None = None,
                  values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        view = await opinions.get_detail(db, principal, ident_of(request),
                                         now=request.app[CLOCK]())
        departments = await directory.list_departments(db, active_only=True)
    return await render(request, "opinions/detail.html", {
        "view": view, "item": view.item, "departments": departments,
        "transitions": [TRANSITIONS[a] for a in view.actions],
        "action_labels": ACTION_LABELS,
        "publishing": {t.action.value for t in TRANSITIONS.values() if publishes(t)},
        "errors": errors or {}, "message": message,
        "failed_action": failed_action, "values": values or {},
        "default_workdays": DEFAULT_REPLY_WORKDAYS, "max_workdays": MAX_WORKDAYS,
        "max_note": MAX_NOTE, "max_photos": MAX_PHOTOS,
        "max_photo_mb": MAX_PHOTO_BYTES // (1024 * 1024),
    }, status=status)


@signed_in
async def detail_page(request: web.Request) -> web.StreamResponse:
    return await _detail(request)


@signed_in
async def transition(request: web.Request) -> web.StreamResponse:
    ident = ident_of(request)
    data, uploads = await read_form(request)
    settings = request.app[SETTINGS]
    try:
        command = transition_from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            await opinions.transition(
                db, ident, command, viewer=current_principal(request), clock=request.app[CLOCK],
                tz=zone(settings.timezone), uploads=uploads, uploads_dir=settings.uploads_dir)
    except ValidationFailed as exc:
        return await _detail(request, errors=exc.field_errors, message=exc.message,
                             failed_action=data.get("action"), values=data, status=422)
    except Conflict as exc:
        # The loser of a race sees the item as it is now, with why nothing happened.
        return await _detail(request, message=exc.message, status=409)
    raise web.HTTPSeeOther(f"/opinions/{ident}")


@signed_in
async def photo(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        row = await opinions.photo_for(db, current_principal(request), ident_of(request))
    path = path_of(request.app[SETTINGS].uploads_dir, row.sha256)
    if not path.is_file():
        raise NotFound("Not found.")
    return web.FileResponse(path, headers={
        "Content-Type": row.content_type, "Content-Disposition": "inline",
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
