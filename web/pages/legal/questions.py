"""Legal question pages: the consultation day's sessions, submitting a question, the list,
one question with its files and what the viewer may do with it."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from server.accounts import directory
from server.accounts.access import allow
from server.core.errors import NotFound, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.legal import questions
from server.legal.categories import list_categories
from server.legal.commands import (
    MAX_CONTACT,
    MAX_NAME,
    MAX_REASON,
    MAX_SUMMARY,
    MAX_TEXT,
    submit_from_fields,
)
from server.legal.consultation import (
    STREET_OFFICE,
    collecting_sessions,
    may_run,
    session_info,
    sessions_around,
)
from server.legal.files import MAX_FILE_BYTES, MAX_FILES, path_of
from server.legal.questions import READERS, SUBMITTERS
from server.legal.views import (
    FOLLOW_UP_KIND_LABELS,
    OUTCOME_LABELS,
    STATUS_LABELS,
    QuestionView,
    session_questions,
    views,
)
from server.models import FollowUpKind, Outcome, QuestionStatus, Role
from server.recordings.views import answer_links
from web.pages.legal.support import local_today, path_id, read_form
from web.render import render

READER_ROLES = tuple(sorted(READERS))
SUBMITTER_ROLES = tuple(sorted(SUBMITTERS))


@allow(*READER_ROLES)
async def index_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    now = request.app[CLOCK]()
    async with request.app[DATABASE]() as db:
        sessions = await sessions_around(db, now)
    rows = [{"session": s, "collecting": s.collecting(now), "over": s.over(now),
             "started": s.started(now), "runner": may_run(principal, s),
             "on_duty": s.department_id is not None
             and s.department_id == principal.department_id} for s in sessions]
    return await render(request, "questions/index.html", {
        "rows": rows, "can_submit": principal.role in SUBMITTERS,
        "street_office": principal.role in STREET_OFFICE})


@allow(*READER_ROLES)
async def list_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    filters = questions.parse_filters(request.query)
    async with request.app[DATABASE]() as db:
        items = await questions.list_questions(db, principal, filters)
        sites = await directory.list_sites(db)
    return await render(request, "questions/list.html", {
        "items": items, "filters": filters, "sites": sites,
        "statuses": [(s.value, STATUS_LABELS[s]) for s in QuestionStatus],
        "can_submit": principal.role in SUBMITTERS})


async def _form(request: web.Request, *, values: dict[str, str], errors: dict[str, str],
                message: str | None, status: int = 200) -> web.Response:
    principal = current_principal(request)
    now = request.app[CLOCK]()
    async with request.app[DATABASE]() as db:
        sessions = await collecting_sessions(db, now)
        sites = await directory.list_sites(db, active_only=True)
        categories = await list_categories(db, active_only=True)
    if "session_id" not in values and sessions:
        values = {**values, "session_id": str(sessions[0].id)}
    return await render(request, "questions/new.html", {
        "sessions": sessions, "sites": sites, "categories": categories,
        "own_site": next((s for s in sites if s.id == principal.site_id), None),
        "values": values, "errors": errors, "message": message, "max_text": MAX_TEXT,
        "max_name": MAX_NAME, "max_contact": MAX_CONTACT, "max_files": MAX_FILES,
        "max_file_mb": MAX_FILE_BYTES // (1024 * 1024)}, status=status)


@allow(*SUBMITTER_ROLES)
async def new_page(request: web.Request) -> web.StreamResponse:
    session_id = parse_id(request.query.get("session_id"))
    values = {"session_id": str(session_id)} if session_id is not None else {}
    return await _form(request, values=values, errors={}, message=None)


@allow(*SUBMITTER_ROLES)
async def submit(request: web.Request) -> web.StreamResponse:
    data, uploads = await read_form(request)
    try:
        command = submit_from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            done = await questions.submit(
                db, command, viewer=current_principal(request), clock=request.app[CLOCK],
                uploads=uploads, uploads_dir=request.app[SETTINGS].uploads_dir)
    except ValidationFailed as exc:
        return await _form(request, values=data, errors=exc.field_errors, message=exc.message,
                           status=422)
    suffix = "?moved=1" if done.moved_from is not None else ""
    raise web.HTTPSeeOther(f"/legal/questions/{done.question_id}{suffix}")


async def detail(request: web.Request, *, message: str | None = None,
                 errors: dict[str, str] | None = None, failed: str | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    """The question as the viewer may see it, with the forms of what they may do."""
    principal = current_principal(request)
    question_id = path_id(request, "question_id")
    async with request.app[DATABASE]() as db:
        view = await questions.question_view(db, principal, question_id)
        info = await session_info(db, view.session_id)
        requested = await session_info(db, view.requested_session_id) \
            if view.requested_session_id else None
        street_office = principal.role in STREET_OFFICE
        categories = await list_categories(db, active_only=True)
        departments = await directory.list_departments(db, active_only=True)
        others: list[QuestionView] = []
        if street_office and view.queued:
            rows = [q for q in await session_questions(db, view.session_id)
                    if q.status is QuestionStatus.QUEUED and q.id != view.id]
            others = await views(db, rows, viewer=principal)
        watch = (await answer_links(db, principal, [view.id])).get(view.id)
    runner = may_run(principal, info) and info.takes_place()
    return await render(request, "questions/detail.html", {
        "q": view, "session": info, "requested": requested,
        "moved_now": request.query.get("moved") == "1", "can_review": street_office,
        "can_run": runner, "categories": categories, "departments": departments,
        "others": others, "outcomes": [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
        "follow_up_kinds": [(k.value, FOLLOW_UP_KIND_LABELS[k]) for k in FollowUpKind],
        "written_only": view.status is QuestionStatus.ANSWERED
        and view.outcome is Outcome.WRITTEN,
        "today": local_today(request).isoformat(), "message": message,
        "errors": errors or {}, "failed": failed, "values": values or {},
        "max_summary": MAX_SUMMARY, "max_reason": MAX_REASON,
        "is_site": principal.role is Role.SITE, "watch": watch}, status=status)


@allow(*READER_ROLES)
async def detail_page(request: web.Request) -> web.StreamResponse:
    return await detail(request)


@allow(*READER_ROLES)
async def attachment(request: web.Request) -> web.StreamResponse:
    """A question's file, only for those who see the question in full."""
    async with request.app[DATABASE]() as db:
        row = await questions.attachment_for(db, current_principal(request),
                                             path_id(request, "attachment_id"))
    path = path_of(request.app[SETTINGS].uploads_dir, row.sha256)
    if not path.is_file():
        raise NotFound("Not found.")
    name = quote(row.filename or f"file-{row.id}")
    return web.FileResponse(path, headers={
        "Content-Type": row.content_type,
        "Content-Disposition": f"inline; filename*=UTF-8''{name}",
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
