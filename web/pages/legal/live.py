"""The live side of the legal consultation day: the queue (a page, and JSON for the room
page's side panel), review and answers, questions raised live, and the packet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from scheduling.clock import zone
from server.accounts import directory
from server.accounts.access import allow
from server.core.errors import Conflict, DomainError, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.core.requests import wants_json
from server.legal import packet, questions
from server.legal.categories import list_categories
from server.legal.commands import (
    MAX_SUMMARY,
    answer_from_fields,
    now_answering_from_fields,
    raise_live_from_fields,
    review_from_fields,
)
from server.legal.consultation import STREET_OFFICE, session_in_room, session_info
from server.legal.live_queue import (
    LIVE_ROLES,
    RoomCue,
    answer,
    now_answering,
    queue_payload,
    queue_view,
    raise_live,
)
from server.legal.review import review
from server.legal.views import FOLLOW_UP_KIND_LABELS, OUTCOME_LABELS
from server.models import FollowUpKind, Outcome, Role
from server.notify.notices import channels_from, publish
from web.pages.legal.questions import detail
from web.pages.legal.support import apply_cue, local_today, path_id, read_form
from web.render import render, translate

QUEUE_ROLES = tuple(sorted(LIVE_ROLES))
RUNNER_ROLES = (Role.ADMIN, Role.HOST, Role.OFFICER)
POLL_MS = 4000


async def queue_page_for(request: web.Request, session_id: int, *, message: str | None = None,
                         errors: dict[str, str] | None = None, status: int = 200
                         ) -> web.Response:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        info = await session_info(db, session_id)
        view = await queue_view(db, info, viewer=principal)
        sites = await directory.list_sites(db, active_only=True)
        categories = await list_categories(db, active_only=True)
        departments = await directory.list_departments(db, active_only=True)
    return await render(request, "questions/queue.html", {
        "view": view, "session": info, "sites": sites, "categories": categories,
        "departments": departments, "message": message, "errors": errors or {},
        "street_office": principal.role in STREET_OFFICE,
        "can_answer": view.can_run and info.takes_place(),
        "outcomes": [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
        "follow_up_kinds": [(k.value, FOLLOW_UP_KIND_LABELS[k]) for k in FollowUpKind],
        "today": local_today(request).isoformat(), "max_summary": MAX_SUMMARY,
        "poll_ms": POLL_MS}, status=status)


@allow(*QUEUE_ROLES)
async def queue_page(request: web.Request) -> web.StreamResponse:
    return await queue_page_for(request, path_id(request, "session_id"))


async def _json(request: web.Request, session_id: int | None) -> web.Response:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        if session_id is None:
            room = request.query.get("room", "").strip()
            if not room:
                raise ValidationFailed("Name the room.")
            info = await session_in_room(db, room, request.app[CLOCK]())
        else:
            info = await session_info(db, session_id)
        view = await queue_view(db, info, viewer=principal)
    payload = queue_payload(view, lambda message: translate(request, message))
    return web.json_response(payload, headers={"Cache-Control": "no-store"})


@allow(*QUEUE_ROLES)
async def queue_json(request: web.Request) -> web.StreamResponse:
    return await _json(request, path_id(request, "session_id"))


@allow(*QUEUE_ROLES)
async def room_queue_json(request: web.Request) -> web.StreamResponse:
    """The queue of the session in a room (`?room=legal`): on now, else the next one."""
    return await _json(request, None)


Change = Callable[[dict[str, str]], Awaitable[tuple[int, RoomCue | None]]]


async def _act(request: web.Request, change: Change, *, form: str) -> web.StreamResponse:
    """Run a change to one question; answer with where to go, or the page and the error.

    A script asking for JSON (the room's side panel) gets ``{"question", "session"}``, or
    the error middleware's ``{"error": {...}}`` with the field errors, and stays put."""
    data, _files = await read_form(request)
    as_json = wants_json(request)
    try:
        session_id, cue = await change(data)
    except (ValidationFailed, Conflict) as exc:
        if as_json:
            raise
        return await back(request, data, exc, form=data.get("action") or form)
    apply_cue(request, cue)
    if as_json:
        return web.json_response(
            {"question": path_id(request, "question_id"), "session": session_id},
            headers={"Cache-Control": "no-store"})
    if data.get("next") == "queue":
        raise web.HTTPSeeOther(f"/legal/sessions/{session_id}/queue")
    raise web.HTTPSeeOther(f"/legal/questions/{path_id(request, 'question_id')}")


async def back(request: web.Request, data: dict[str, str], exc: DomainError, *,
               form: str) -> web.Response:
    """The page the form came from, with why nothing happened (a race's loser sees the
    question as it is now)."""
    status = exc.status
    if data.get("next") == "queue":
        async with request.app[DATABASE]() as db:
            view = await questions.question_view(db, current_principal(request),
                                                 path_id(request, "question_id"))
        return await queue_page_for(request, view.session_id, message=exc.message,
                                    errors=exc.field_errors, status=status)
    return await detail(request, message=exc.message, errors=exc.field_errors,
                        failed=form, values=data,
                        status=status)


@allow(Role.ADMIN, Role.HOST)
async def review_action(request: web.Request) -> web.StreamResponse:
    async def change(data: dict[str, str]) -> tuple[int, RoomCue | None]:
        async with request.app[DATABASE]() as db, db.begin():
            question = await review(db, path_id(request, "question_id"),
                                    review_from_fields(data),
                                    viewer=current_principal(request),
                                    clock=request.app[CLOCK])
            return question.session_id, None
    return await _act(request, change, form="review")


@allow(*RUNNER_ROLES)
async def now_answering_action(request: web.Request) -> web.StreamResponse:
    async def change(data: dict[str, str]) -> tuple[int, RoomCue | None]:
        async with request.app[DATABASE]() as db, db.begin():
            cue = await now_answering(db, path_id(request, "question_id"),
                                      now_answering_from_fields(data),
                                      viewer=current_principal(request),
                                      clock=request.app[CLOCK])
        return int(str(cue.data["session"])), cue
    return await _act(request, change, form="now-answering")


@allow(*RUNNER_ROLES)
async def answer_action(request: web.Request) -> web.StreamResponse:
    async def change(data: dict[str, str]) -> tuple[int, RoomCue | None]:
        async with request.app[DATABASE]() as db, db.begin():
            cue = await answer(db, path_id(request, "question_id"), answer_from_fields(data),
                               viewer=current_principal(request), clock=request.app[CLOCK],
                               today=local_today(request))
        return int(str(cue.data["session"])), cue
    return await _act(request, change, form="answer")


@allow(*RUNNER_ROLES)
async def raise_live_action(request: web.Request) -> web.StreamResponse:
    session_id = path_id(request, "session_id")
    data, _files = await read_form(request)
    try:
        command = raise_live_from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            _question_id, cue = await raise_live(db, session_id, command,
                                                 viewer=current_principal(request),
                                                 clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await queue_page_for(request, session_id, message=exc.message,
                                    errors=exc.field_errors, status=422)
    apply_cue(request, cue)
    raise web.HTTPSeeOther(f"/legal/sessions/{session_id}/queue")


# -- the packet ------------------------------------------------------------------------


@allow(Role.ADMIN, Role.HOST, Role.OFFICER)
async def packet_page(request: web.Request) -> web.StreamResponse:
    session_id = path_id(request, "session_id")
    principal = current_principal(request)
    async with request.app[DATABASE]() as db, db.begin():
        view = await packet.packet_view(db, session_id, viewer=principal,
                                        clock=request.app[CLOCK])
    return await render(request, "questions/packet.html", {
        "view": view, "street_office": principal.role in STREET_OFFICE,
        "cutoff_passed": not view.session.collecting(request.app[CLOCK]()),
        "printed_at": request.app[CLOCK]()})


@allow(Role.ADMIN, Role.HOST, Role.OFFICER)
async def packet_csv(request: web.Request) -> web.StreamResponse:
    session_id = path_id(request, "session_id")
    async with request.app[DATABASE]() as db:
        view = await packet.packet_view(db, session_id, viewer=current_principal(request),
                                        clock=request.app[CLOCK], record_read=False)
    name = f"packet-{view.session.local_start:%Y%m%d}-v{view.version or 0}.csv"
    body = packet.packet_csv(view, lambda message: translate(request, message),
                             zone(request.app[SETTINGS].timezone))
    return web.Response(text=body, content_type="text/csv",
                        charset="utf-8", headers={
                            "Content-Disposition": f'attachment; filename="{name}"',
                            "Cache-Control": "private, no-store"})


@allow(Role.ADMIN, Role.HOST)
async def compile_now(request: web.Request) -> web.StreamResponse:
    """Compile and send the packet before the cutoff job would (e.g. for an early start)."""
    session_id = path_id(request, "session_id")
    async with request.app[DATABASE]() as db, db.begin():
        _row, notice = await packet.compile_packet(
            db, session_id, clock=request.app[CLOCK],
            actor_id=current_principal(request).user_id)
    if notice is not None:
        await publish(channels_from(request.app[SETTINGS]), [notice])
    raise web.HTTPSeeOther(packet.packet_link(session_id))
