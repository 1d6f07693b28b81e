"""The residents' channel: the site's QR poster for staff, and the resident's own pages.

Resident pages are public (no account): the page a site's QR code opens, the filing form
behind it, the receipt and the status page found by the receipt code, and the rating.
Their writes are rate-limited per client address and per site; the status look-ups per
address. A request that is too large is refused before it is read.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

import segno
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.exc import IntegrityError

from scheduling.clock import zone
from server.accounts.access import allow, public
from server.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.core.requests import client_address
from server.legal.categories import list_categories as question_categories
from server.legal.consultation import collecting_sessions
from server.models import Role
from server.opinions.categories import list_categories as opinion_categories
from server.opinions.photos import path_of
from server.residents import codes, feedback, intake, status
from server.residents import photos as resident_photos
from server.residents.limits import RESIDENT_LIMITS, RateLimited
from server.residents.receipts import BITS, normalise
from server.residents.retention import RETENTION_YEARS
from web.render import render, translate

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
MAX_REQUEST_BYTES = resident_photos.MAX_PHOTOS * resident_photos.MAX_PHOTO_BYTES + 64 * 1024


def _site_id(request: web.Request) -> int:
    ident = parse_id(request.match_info.get("ident"))
    if ident is None:
        raise NotFound("Not found.")
    return ident


def _token(request: web.Request) -> str:
    token = request.match_info.get("token", "")
    if not TOKEN_RE.match(token):
        raise NotFound("Not found.")
    return token


def resident_url(request: web.Request, token: str) -> str:
    return f"{request.scheme}://{request.host}/r/{token}"


# -- staff: the poster --------------------------------------------------------------------


@allow(Role.ADMIN, Role.HOST, Role.SITE)
async def poster_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db, db.begin():
        poster = await codes.poster(db, current_principal(request), _site_id(request),
                                    clock=request.app[CLOCK])
    return await render(request, "residents/poster.html", {
        "poster": poster, "url": resident_url(request, poster.token),
        "qr_src": f"/residents/sites/{poster.site_id}/qr.png?t={poster.token}"})


@allow(Role.ADMIN, Role.HOST, Role.SITE)
async def qr_png(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db, db.begin():
        poster = await codes.poster(db, current_principal(request), _site_id(request),
                                    clock=request.app[CLOCK])
    buffer = io.BytesIO()
    segno.make(resident_url(request, poster.token), error="m").save(
        buffer, kind="png", scale=10, border=4)
    return web.Response(body=buffer.getvalue(), content_type="image/png")


@allow(Role.ADMIN, Role.HOST, Role.SITE)
async def rotate(request: web.Request) -> web.StreamResponse:
    site_id = _site_id(request)
    async with request.app[DATABASE]() as db, db.begin():
        await codes.rotate(db, current_principal(request), site_id, clock=request.app[CLOCK])
    raise web.HTTPSeeOther(f"/residents/sites/{site_id}/poster?rotated=1")


# -- residents: filing ---------------------------------------------------------------------


async def _form_context(request: web.Request, entry: codes.Entry) -> dict[str, Any]:
    async with request.app[DATABASE]() as db:
        sessions = await collecting_sessions(db, request.app[CLOCK](), limit=1)
        opinion_cats = await opinion_categories(db, active_only=True)
        question_cats = await question_categories(db, active_only=True)
    return {"entry": entry, "session": sessions[0] if sessions else None,
            "opinion_categories": opinion_cats, "question_categories": question_cats,
            "max_text": intake.MAX_TEXT, "max_photos": resident_photos.MAX_PHOTOS,
            "retention_years": RETENTION_YEARS, "token": _token(request),
            "new_key": secrets.token_urlsafe(24)}


async def _entry(request: web.Request) -> codes.Entry:
    async with request.app[DATABASE]() as db:
        return await codes.resolve(db, _token(request))


@public
async def resident_page(request: web.Request) -> web.StreamResponse:
    entry = await _entry(request)
    if entry.moved:
        return await render(request, "residents/moved.html", {"entry": entry}, status=410)
    return await render(request, "residents/file.html", {
        **await _form_context(request, entry), "values": {"kind": request.query.get("kind",
                                                                                     "")},
        "errors": {}, "message": None})


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[resident_photos.Upload]]:
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        raise PayloadTooLarge("The upload is too large.")
    form: MultiDictProxy[Any] = await request.post()
    data: dict[str, str] = {}
    uploads: list[resident_photos.Upload] = []
    for key, value in form.items():
        if isinstance(value, str):
            data.setdefault(key, value)
        elif isinstance(value, web.FileField) and key == "photos":
            uploads.append(resident_photos.Upload(value.filename or "", value.file.read()))
    return data, uploads


async def _limited(request: web.Request, exc: RateLimited) -> web.Response:
    response = await render(request, "residents/limited.html", {
        "message": translate(request, exc.message, **exc.params)}, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _receipt_redirect(code: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/r/status?code={code}&new=1")


@public
async def resident_submit(request: web.Request) -> web.StreamResponse:
    entry = await _entry(request)
    if entry.moved:
        return await render(request, "residents/moved.html", {"entry": entry}, status=410)
    data, uploads = await _read_form(request)
    if intake.trapped(data):
        # Refused quietly, before any check that would tell a bot what it got wrong.
        return await render(request, "residents/thanks.html", {})
    key = intake.key_from_fields(data)
    if key is not None:
        async with request.app[DATABASE]() as db:
            earlier = await intake.existing(db, key)
        if earlier is not None:
            raise _receipt_redirect(earlier.code)
    try:
        command = intake.file_from_fields(data)
        await request.app[RESIDENT_LIMITS].submit(client_address(request), entry.site_id)
        try:
            async with request.app[DATABASE]() as db, db.begin():
                receipt = await intake.file_item(
                    db, entry.site_id, command, clock=request.app[CLOCK], uploads=uploads,
                    uploads_dir=request.app[SETTINGS].uploads_dir)
                code = receipt.code
        except IntegrityError:
            # The same key raced in from a retry: the first one won; answer with its receipt.
            async with request.app[DATABASE]() as db:
                earlier = await intake.existing(db, command.idempotency_key)
            if earlier is None:
                raise
            code = earlier.code
    except RateLimited as exc:
        return await _limited(request, exc)
    except ValidationFailed as exc:
        return await render(request, "residents/file.html", {
            **await _form_context(request, entry), "values": data,
            "errors": exc.field_errors, "message": exc.message}, status=422)
    raise _receipt_redirect(code)


# -- residents: status and rating ----------------------------------------------------------


async def _status(request: web.Request, raw_code: str, *, status_code: int = 200,
                  errors: dict[str, str] | None = None) -> web.Response:
    if not raw_code:
        return await render(request, "residents/status.html", {
            "view": None, "asked": False, "new": False, "errors": {}, "bits": int(BITS)})
    try:
        await request.app[RESIDENT_LIMITS].lookup(client_address(request))
    except RateLimited as exc:
        return await _limited(request, exc)
    async with request.app[DATABASE]() as db:
        view = await status.status_of(db, raw_code)
    return await render(request, "residents/status.html", {
        "view": view, "asked": True, "new": request.query.get("new") == "1" and view,
        "errors": errors or {}, "bits": int(BITS)},
        status=status_code if view is not None else 404)


@public
async def status_page(request: web.Request) -> web.StreamResponse:
    return await _status(request, request.query.get("code", "")[:40])


@public
async def status_lookup(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw = form.get("code", "")
    return await _status(request, raw[:40] if isinstance(raw, str) else "")


@public
async def rate(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    code = data.get("code", "")[:40]
    try:
        await request.app[RESIDENT_LIMITS].lookup(client_address(request))
    except RateLimited as exc:
        return await _limited(request, exc)
    try:
        command = feedback.rate_from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            await feedback.rate(db, command, clock=request.app[CLOCK],
                                tz=zone(request.app[SETTINGS].timezone),
                                uploads_dir=request.app[SETTINGS].uploads_dir)
    except ValidationFailed as exc:
        return await _status(request, code, status_code=422,
                             errors=exc.field_errors or {"satisfaction": exc.message})
    except NotFound:
        return await _status(request, code)
    raise web.HTTPSeeOther(f"/r/status?code={normalise(code) or ''}&rated=1")


@public
async def result_photo(request: web.Request) -> web.StreamResponse:
    photo_id = parse_id(request.match_info.get("ident"))
    raw = request.query.get("code", "")[:40]
    await request.app[RESIDENT_LIMITS].lookup(client_address(request))
    async with request.app[DATABASE]() as db:
        photo = await status.photo_of(db, raw, photo_id) if photo_id else None
    if photo is None:
        raise NotFound("Not found.")
    path = path_of(request.app[SETTINGS].uploads_dir, photo.sha256)
    return web.FileResponse(path, headers={"Content-Type": photo.content_type})

