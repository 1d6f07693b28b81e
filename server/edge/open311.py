"""A read-only, public Open311 GeoReport v2 view of the street's published results.

Anyone may read it, without signing in: it carries only what staff published. An item
appears once it is *published*: resolved (resolved, confirmed or closed) with a public
answer written (`server.board`); items still open, rejected or terminated, and resolved
items without a public answer, do not. The description is that public answer, never the
resident's own words; no name, contact, photo (``media_url``) or staff member is read here.

    service_request_id  the item's number         status          closed
    status_notes        null                      service_code    category id
    service_name        category                  description     the public answer
    agency_responsible  assigned department       address         the site (a community)
    requested_datetime  received                  updated_datetime last change
    expected_datetime   due (end of the last working day)
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from scheduling.clock import zone
from server.accounts.access import public
from server.board.results import is_published
from server.core.errors import DomainError, NotFound, ValidationFailed
from server.core.fields import parse_id, parse_moment
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.models import Opinion
from server.opinions.categories import list_categories
from server.opinions.lifecycle import CLOSED_FOR_OPEN311
from server.opinions.views import Names, load_names
from web.render import translate

DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000


def _w3c(value: datetime | None, tz: tzinfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value is not None else None


def request_json(item: Opinion, names: Names, tz: tzinfo) -> dict[str, object]:
    """One published service request: the public answer, never the resident's text, name
    or contact."""
    closed = item.status in CLOSED_FOR_OPEN311
    return {
        "service_request_id": str(item.id),
        "status": "closed" if closed else "open",
        "status_notes": None,
        "service_name": names.categories.get(item.category_id, ""),
        "service_code": str(item.category_id),
        "description": item.public_note,
        "agency_responsible": (names.departments.get(item.department_id)
                               if item.department_id else None),
        "service_notice": None,
        "requested_datetime": _w3c(item.received_at, tz),
        "updated_datetime": _w3c(item.updated_at, tz),
        "expected_datetime": _w3c(item.due_at, tz),
        "address": names.sites.get(item.site_id, ""),
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _errors(request: web.Request, exc: DomainError) -> web.Response:
    return web.json_response([{"code": exc.status, "description": translate(
        request, exc.message, **exc.params)}], status=exc.status)


@public
async def services(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        rows = await list_categories(db, active_only=True)
    return web.json_response([{
        "service_code": str(c.id), "service_name": c.name, "description": "",
        "metadata": False, "type": "batch", "keywords": "", "group": ""} for c in rows])


def _parse_time(raw: str, name: str) -> datetime:
    value = parse_moment(raw)
    if value is None:
        raise ValidationFailed("%(name)s must be a date and time with a zone offset, "
                               "between 1970 and 2099.", params={"name": name})
    return value


def _conditions(request: web.Request, now: datetime) -> list[ColumnElement[bool]]:
    query = request.query
    out: list[ColumnElement[bool]] = []
    ids = [part.strip() for part in query.get("service_request_id", "").split(",")
           if part.strip()]
    if ids:
        item_ids = [parse_id(part) for part in ids]
        if None in item_ids:
            raise ValidationFailed("service_request_id must be item numbers.")
        out.append(Opinion.id.in_(item_ids))
    codes = [part.strip() for part in query.get("service_code", "").split(",") if part.strip()]
    if codes:
        category_ids = [parse_id(part) for part in codes]
        if None in category_ids:
            raise ValidationFailed("service_code must be category codes.")
        out.append(Opinion.category_id.in_(category_ids))
    status = query.get("status", "")
    if status == "open":
        out.append(Opinion.status.not_in(CLOSED_FOR_OPEN311))
    elif status == "closed":
        out.append(Opinion.status.in_(CLOSED_FOR_OPEN311))
    elif status:
        raise ValidationFailed("status must be open or closed.")
    start = query.get("start_date")
    end = query.get("end_date")
    if start:
        out.append(Opinion.received_at >= _parse_time(start, "start_date"))
    if end:
        out.append(Opinion.received_at <= _parse_time(end, "end_date"))
    if not start and not end and not ids:
        out.append(Opinion.received_at >= now - DEFAULT_WINDOW)
    return out


async def _requests(request: web.Request, extra: list[ColumnElement[bool]]
                    ) -> list[dict[str, object]]:
    tz = zone(request.app[SETTINGS].timezone)
    conditions = [is_published(), *extra]
    async with request.app[DATABASE]() as db:
        rows = await db.scalars(select(Opinion).where(*conditions)
                                .order_by(Opinion.received_at.desc(), Opinion.id.desc())
                                .limit(MAX_RESULTS))
        names = await load_names(db)
        return [request_json(item, names, tz) for item in rows]


@public
async def requests(request: web.Request) -> web.StreamResponse:
    try:
        found = await _requests(request, _conditions(request, request.app[CLOCK]()))
    except DomainError as exc:
        return _errors(request, exc)
    return web.json_response(found)


@public
async def one_request(request: web.Request) -> web.StreamResponse:
    ident = parse_id(request.match_info.get("ident"))
    found = await _requests(request, [Opinion.id == ident]) if ident is not None else []
    if not found:
        return _errors(request, NotFound("Not found."))
    return web.json_response(found)
