"""Records of the legal consultation day: a site's notice-board list, follow-ups,
statistics, and the administrator's category list."""

from __future__ import annotations

from aiohttp import web

from server.accounts import directory
from server.accounts.access import allow
from server.core.errors import N_, Conflict, ValidationFailed
from server.core.fields import FieldReader
from server.core.keys import CLOCK, DATABASE, current_principal
from server.legal.categories import CATEGORIES
from server.legal.commands import update_follow_up_from_fields
from server.legal.consultation import STREET_OFFICE
from server.legal.follow_ups import list_follow_ups, update_follow_up
from server.legal.questions import READERS
from server.legal.records import board
from server.legal.stats import question_stats
from server.legal.views import FOLLOW_UP_STATUS_LABELS
from server.models import FollowUpStatus, Role
from server.recordings.views import answer_links
from web.pages.categories import CategoryPage
from web.pages.legal.support import local_today, path_id, read_form
from web.render import render

READER_ROLES = tuple(sorted(READERS))


@allow(Role.ADMIN, Role.HOST, Role.SITE)
async def board_page(request: web.Request) -> web.StreamResponse:
    form = FieldReader(request.query)
    site_id = form.optional_id("site_id")
    session_id = form.optional_id("session_id")
    form.check()
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        view = await board(db, principal, site_id=site_id, session_id=session_id)
        sites = await directory.list_sites(db) if principal.role is not Role.SITE else []
        watch = await answer_links(db, principal, [q.id for q in view.questions])
    return await render(request, "questions/board.html", {"board": view, "sites": sites,
                                                          "watch": watch})


async def _follow_ups(request: web.Request, *, message: str | None = None,
                      errors: dict[str, str] | None = None, failed: int | None = None,
                      status: int = 200) -> web.Response:
    principal = current_principal(request)
    show_all = request.query.get("all") == "1"
    async with request.app[DATABASE]() as db:
        rows = await list_follow_ups(db, principal, open_only=not show_all,
                                     today=local_today(request))
        departments = await directory.list_departments(db, active_only=True)
    return await render(request, "questions/follow_ups.html", {
        "rows": rows, "show_all": show_all, "departments": departments,
        "statuses": [(s.value, FOLLOW_UP_STATUS_LABELS[s]) for s in FollowUpStatus],
        "can_update": principal.role in STREET_OFFICE or principal.role is Role.OFFICER,
        "street_office": principal.role in STREET_OFFICE, "message": message,
        "errors": errors or {}, "failed": failed, "today": local_today(request).isoformat()},
        status=status)


@allow(*READER_ROLES)
async def follow_ups_page(request: web.Request) -> web.StreamResponse:
    return await _follow_ups(request)


@allow(Role.ADMIN, Role.HOST, Role.OFFICER)
async def follow_up_update(request: web.Request) -> web.StreamResponse:
    follow_up_id = path_id(request, "follow_up_id")
    data, _files = await read_form(request)
    try:
        command = update_follow_up_from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            await update_follow_up(db, follow_up_id, command, viewer=current_principal(request),
                                   clock=request.app[CLOCK], today=local_today(request))
    except (ValidationFailed, Conflict) as exc:
        return await _follow_ups(request, message=exc.message, errors=exc.field_errors,
                                 failed=follow_up_id, status=exc.status)
    raise web.HTTPSeeOther("/legal/follow-ups")


@allow(Role.ADMIN, Role.HOST, Role.OFFICER)
async def stats_page(request: web.Request) -> web.StreamResponse:
    async with request.app[DATABASE]() as db:
        stats = await question_stats(db, now=request.app[CLOCK]())
    return await render(request, "questions/stats.html", {"stats": stats})


CATEGORY_PAGE = CategoryPage(CATEGORIES, "/legal/categories", N_("Question categories"),
                             "/legal", N_("Legal consultation day"), "css/questions.css")
