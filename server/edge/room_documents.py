"""The room page's document upload: a PDF or picture onto the live wall.

``POST /rooms/{room}/documents`` (multipart, field ``document``) by the room's host (the
administrator or meeting host) or its speaker on duty, while that account is in the
live room: the file is checked (type by magic bytes, at most 20 MB and 100 pages),
rendered page by page at the wall's size off the event loop
(:mod:`server.meetings.documents`), and shown from its first page; turning pages and
stopping go over the room's socket. The page sends the CSRF token in ``X-CSRF-Token``
(then the body is streamed with the document's own limit); a plain form's ``_csrf``
field works too, within the app's upload limit.

``GET /rooms/{room}/documents`` lists what the room showed before (newest first), and
``POST /rooms/{room}/documents/{sha256}`` shows one of those again from its kept pages,
for the same presenters.
"""

from __future__ import annotations

import asyncio

from aiohttp import BodyPartReader, web

from rooms import Role as RoomRole
from server.accounts.access import allow
from server.accounts.users import Principal
from server.core.errors import N_, Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.edge.room_socket import ON_DUTY
from server.meetings import documents
from server.meetings.registry import WALL
from server.meetings.room_access import KnownRoom, participant_key, resolve_room, room_role
from server.meetings.room_control import ROOM_CONTROL, RoomControl
from server.models import Role

PRESENTERS = (RoomRole.HOST, RoomRole.SPEAKER)
CHUNK = 256 * 1024


async def _read_upload(request: web.Request) -> documents.DocumentUpload:
    if request.content_type != "multipart/form-data":
        raise ValidationFailed(N_("Send the document as a file upload."))
    if request.headers.get("X-CSRF-Token") is None:
        # The CSRF check has read the form already (within the app's upload limit).
        form = await request.post()
        field = form.get(documents.FIELD)
        if not isinstance(field, web.FileField):
            return documents.DocumentUpload(filename="", data=b"")
        return documents.DocumentUpload(filename=field.filename or "", data=field.file.read())
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != documents.FIELD:
            await part.release()
            continue
        data = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            data += chunk
            if len(data) > documents.MAX_DOCUMENT_BYTES:
                raise documents.too_large()
        return documents.DocumentUpload(filename=part.filename or "", data=bytes(data))
    return documents.DocumentUpload(filename="", data=b"")


async def _presenting(request: web.Request) -> tuple[KnownRoom, Principal, RoomControl]:
    """The room, if it is live and the caller is its host or speaker on duty."""
    app = request.app
    async with app[DATABASE]() as db:
        room = await resolve_room(db, request.match_info["room"])
    principal = current_principal(request)
    control = app[ROOM_CONTROL]
    if not control.is_live(room.id):  # first: nothing to show it in, whoever asks
        raise Conflict(N_("The room is not live."))
    role = await room_role(principal, room, on_duty=app[ON_DUTY], at=app[CLOCK]())
    if role not in PRESENTERS:
        raise Forbidden(N_("Only the host and the speaker on duty may show documents here."))
    return room, principal, control


async def _show(request: web.Request, room: KnownRoom, principal: Principal,
                control: RoomControl, rendered: documents.RenderedDocument,
                status: int) -> web.Response:
    """Put ``rendered`` on the wall from its first page, and remember it for the room."""
    try:
        await control.show_document(room.id, participant_key(principal), rendered.title,
                                    [str(page) for page in rendered.pages])
    except DomainError:
        await asyncio.to_thread(rendered.forget)
        raise
    async with request.app[DATABASE]() as db, db.begin():
        await documents.remember(db, room.id, rendered, by=principal.user_id,
                                 at=request.app[CLOCK]())
    return web.json_response(
        {"document": rendered.id, "title": rendered.title, "pages": len(rendered.pages)},
        status=status)


# Sites and residents never present; among the others, the room role decides.
@allow(Role.ADMIN, Role.HOST, Role.OFFICER, Role.DEPUTY)
async def upload_document(request: web.Request) -> web.Response:
    room, principal, control = await _presenting(request)
    upload = await _read_upload(request)
    documents.check(upload)
    wall = request.app[WALL]
    rendered = await asyncio.to_thread(
        documents.render, upload, root=request.app[SETTINGS].var_dir / "documents",
        width=wall.width, height=wall.height)
    return await _show(request, room, principal, control, rendered, 201)


@allow(Role.ADMIN, Role.HOST, Role.OFFICER, Role.DEPUTY)
async def recent_documents(request: web.Request) -> web.Response:
    """``GET /rooms/{room}/documents``: what was shown here, to show again (the presenters
    of the live room, as for showing)."""
    room, _, _ = await _presenting(request)
    async with request.app[DATABASE]() as db:
        shown = await documents.shown(db, room.id)
    return web.json_response({"documents": [
        {"document": d.id, "title": d.title, "pages": d.pages,
         "shown_at": d.shown_at.isoformat()} for d in shown]},
        headers={"Cache-Control": "private, no-store"})


@allow(Role.ADMIN, Role.HOST, Role.OFFICER, Role.DEPUTY)
async def show_again(request: web.Request) -> web.Response:
    """``POST /rooms/{room}/documents/{document}``: a document this room showed before."""
    room, principal, control = await _presenting(request)
    digest = request.match_info["document"]
    async with request.app[DATABASE]() as db:
        before = await documents.shown_before(db, room.id, digest)
    if before is None:
        raise NotFound(N_("This document was not shown in this room."))
    rendered = await asyncio.to_thread(
        documents.load, request.app[SETTINGS].var_dir / "documents", digest, before.title)
    if rendered is None:
        raise NotFound(N_("This document is no longer kept here; upload it again."))
    return await _show(request, room, principal, control, rendered, 200)
