"""JSON API for opinion items under /api/opinions (described in /api/openapi.json).

Same rules as the pages: an item the caller may not see is 404, the contact only for the
item's site, the street office and the assigned department. Browsers send the session
cookie and the CSRF token in ``X-CSRF-Token``; a meeting-room PC sends its device token as
``Authorization: Bearer``. Errors are ``{"error": {"code", "message", "fields"?}}``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from scheduling.clock import zone
from server.accounts.access import allow, signed_in
from server.core.errors import N_, DomainError, NotFound, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.models import OpinionCategory, Role
from server.opinions import items as opinions
from server.opinions.categories import list_categories
from server.opinions.commands import create_from_fields, transition_from_fields
from server.opinions.views import EventView, OpinionDetail, OpinionSummary, PhotoView

MAX_LIMIT = 200


def _dt(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def summary_json(s: OpinionSummary) -> dict[str, object]:
    return {
        "id": s.id, "text": s.text, "status": s.status.value,
        "site": {"id": s.site_id, "name": s.site},
        "category": {"id": s.category_id, "name": s.category},
        "department": ({"id": s.department_id, "name": s.department}
                       if s.department_id is not None else None),
        "deputy": {"id": s.deputy_id, "name": s.deputy} if s.deputy_id is not None else None,
        "anonymous": s.resident_name is None, "resident_name": s.resident_name,
        "received_at": _dt(s.received_at), "updated_at": _dt(s.updated_at),
        "due_day": s.due_day.isoformat() if s.due_day else None, "due_at": _dt(s.due_at),
        "overdue": s.overdue, "escalated": s.escalated, "public_note": s.public_note,
        "version": s.version,
    }


def _photo(p: PhotoView) -> dict[str, object]:
    return {"id": p.id, "content_type": p.content_type, "url": f"/opinions/photos/{p.id}"}


def _event(e: EventView) -> dict[str, object]:
    return {"id": e.id, "at": _dt(e.at), "actor": e.actor, "action": e.action,
            "from_status": e.from_status.value if e.from_status else None,
            "to_status": e.to_status.value if e.to_status else None, "note": e.note,
            "department": e.department,
            "due_day": e.due_day.isoformat() if e.due_day else None,
            "photos": [_photo(p) for p in e.photos]}


def detail_json(d: OpinionDetail) -> dict[str, object]:
    out = summary_json(d.item)
    if d.contact_shown:
        out["contact"] = d.contact
    out.update(recorded_by=d.recorded_by, timeline=[_event(e) for e in d.events],
               photos=[_photo(p) for p in d.photos], actions=[a.value for a in d.actions])
    return out


def json_body(raw: bytes) -> object:
    """The parsed body; 400 for bytes that are no JSON: not UTF-8, malformed, or nested
    past what the parser's recursion allows (a 100,000-deep array)."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise DomainError("The request body is not valid JSON.") from None


async def json_object(request: web.Request) -> dict[str, object]:
    """The body as a flat JSON object for a command's parser: values keep their JSON types
    (an int stays an int, true stays true, null reads as empty). A list or an object where a
    single value belongs is refused here, before parsing, as a field error."""
    body = json_body(await request.read())
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    nested = {key: N_("Enter a single value.") for key, value in body.items()
              if isinstance(value, list | dict)}
    if nested:
        raise ValidationFailed("Please correct the marked fields.", field_errors=nested)
    return {str(key): value for key, value in body.items()}


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name, "")
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else -1
    if not raw:
        value = default
    if not 0 <= value <= maximum:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={name: N_("Out of range.")})
    return value


def _ident(request: web.Request) -> int:
    """The item id in the path; past 2**31-1 no item has it (404, not a 500)."""
    ident = parse_id(request.match_info.get("ident"))
    if ident is None:
        raise NotFound("Not found.")
    return ident


@signed_in
async def list_opinions(request: web.Request) -> web.StreamResponse:
    filters = opinions.parse_filters(request.query)
    limit = _int_param(request, "limit", 50, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 10**9)
    async with request.app[DATABASE]() as db:
        items, total = await opinions.list_items(db, current_principal(request), filters,
                                                 now=request.app[CLOCK](), limit=limit,
                                                 offset=offset)
    return web.json_response({"items": [summary_json(s) for s in items], "total": total,
                              "limit": limit, "offset": offset})


async def _detail_response(request: web.Request, ident: int, status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        view = await opinions.get_detail(db, current_principal(request), ident,
                                         now=request.app[CLOCK]())
    return web.json_response(detail_json(view), status=status)


@allow(*sorted(opinions.RECORDERS))
async def create_opinion(request: web.Request) -> web.StreamResponse:
    command = create_from_fields(await json_object(request),
                                 needs_site=current_principal(request).role is not Role.SITE)
    async with request.app[DATABASE]() as db, db.begin():
        item = await opinions.create(db, command, viewer=current_principal(request),
                                     clock=request.app[CLOCK],
                                     uploads_dir=request.app[SETTINGS].uploads_dir)
    return await _detail_response(request, item.id, status=201)


@signed_in
async def get_opinion(request: web.Request) -> web.StreamResponse:
    return await _detail_response(request, _ident(request))


@signed_in
async def transition_opinion(request: web.Request) -> web.StreamResponse:
    ident = _ident(request)
    command = transition_from_fields(await json_object(request))
    settings = request.app[SETTINGS]
    async with request.app[DATABASE]() as db, db.begin():
        await opinions.transition(db, ident, command, viewer=current_principal(request),
                                  clock=request.app[CLOCK], tz=zone(settings.timezone),
                                  uploads_dir=settings.uploads_dir)
    return await _detail_response(request, ident)


def category_json(c: OpinionCategory) -> dict[str, object]:
    return {"id": c.id, "name": c.name}


@signed_in
async def categories(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        rows = await list_categories(db, active_only=True)
    return web.json_response({"items": [category_json(c) for c in rows]})
