"""Ad-hoc meetings ("召集各站点") and attendance per session or meeting.

The host starts a meeting from the rooms page (all sites or some, with a title); its page
shows whom it called and who came; "End meeting" records the end and dismisses everyone
from its room. Attendance of one session (within its room's open window) or one meeting,
as a page, CSV and XLSX, for the administrator and the host.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from scheduling.clock import zone
from server.accounts.access import allow
from server.core.clock import moment_label
from server.core.errors import NotFound, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.meetings import adhoc, chat_log
from server.meetings.calls import session_open_window
from server.meetings.room_control import ROOM_CONTROL
from server.meetings.session_attendance import Window, participations, to_csv, to_xlsx
from server.models import Programme, ProgrammeSession, Role
from web.pages.rooms import ROOM_ROLES, duration, render_rooms_list
from web.pages.schedule.support import actor, finish, form_data, path_id
from web.render import render, translate

ORGANISERS = (Role.ADMIN, Role.HOST)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@allow(*ORGANISERS)
async def start_meeting(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    data = await form_data(request)
    try:
        command = adhoc.StartMeeting.from_fields(data, form.getall("site_ids", []))
        async with request.app[DATABASE]() as db, db.begin():
            meeting, notice = await adhoc.start_meeting(
                db, command, actor=actor(request), clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await render_rooms_list(request, errors=exc.field_errors, values={
            "title": data.get("title", ""), "scope": data.get("scope", adhoc.ALL_SITES),
            "site_ids": [str(v) for v in form.getall("site_ids", [])]}, status=422)
    finish(request, None, [notice] if notice else [])
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}")


@allow(*ORGANISERS)
async def meeting_page(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request, "meeting_id")
    now = request.app[CLOCK]()
    async with request.app[DATABASE]() as db:
        view = await adhoc.meeting_view(db, meeting_id)
        people = await participations(db, _meeting_window(view), now=now)
    came = {p.site_id: p for p in people if p.site_id is not None}
    return await render(request, "meetings/detail.html", {
        "m": view, "came": came, "people": people, "duration": duration,
        "roles": ROOM_ROLES})


@allow(*ORGANISERS)
async def end_meeting(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request, "meeting_id")
    async with request.app[DATABASE]() as db, db.begin():
        meeting = await adhoc.end_meeting(db, meeting_id, actor=actor(request),
                                          clock=request.app[CLOCK])
        room = meeting.room
    control = request.app.get(ROOM_CONTROL)
    if control is not None:
        await control.close(room)
    raise web.HTTPSeeOther(f"/meetings/{meeting_id}")


def _meeting_window(view: adhoc.MeetingView) -> Window:
    return Window(room=view.room, title=view.title, start=view.started_at, end=view.ended_at)


async def _window(request: web.Request) -> tuple[Window, str]:
    """The window asked for by the path: a session's open room or a meeting; its page."""
    if "meeting_id" in request.match_info:
        meeting_id = path_id(request, "meeting_id")
        async with request.app[DATABASE]() as db:
            view = await adhoc.meeting_view(db, meeting_id)
        return _meeting_window(view), f"/meetings/{meeting_id}"
    session_id = path_id(request, "session_id")
    async with request.app[DATABASE]() as db:
        row = await db.get(ProgrammeSession, session_id)
        programme = await db.get(Programme, row.programme_id) if row else None
    if row is None or programme is None:
        raise NotFound("Not found.")
    opened, closed = session_open_window(row, request.app[SETTINGS].room_window)
    local = row.starts_at.astimezone(zone(programme.timezone))
    title = f"{programme.name} {moment_label(local)}"
    return Window(room=programme.room, title=title, start=opened, end=closed), \
        f"/schedule/sessions/{session_id}"


@allow(*ORGANISERS)
async def attendance_page(request: web.Request) -> web.StreamResponse:
    window, back = await _window(request)
    async with request.app[DATABASE]() as db:
        people = await participations(db, window, now=request.app[CLOCK]())
    return await render(request, "meetings/attendance.html", {
        "w": window, "back": back, "people": people, "duration": duration,
        "roles": ROOM_ROLES, "base": request.path.removesuffix("/attendance")})


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body, headers={
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store"})


def _file_name(window: Window, ext: str, what: str = "attendance") -> str:
    return f"{what}-{window.room}-{window.start:%Y%m%d-%H%M}.{ext}"


@allow(*ORGANISERS)
async def attendance_csv(request: web.Request) -> web.StreamResponse:
    window, _ = await _window(request)
    async with request.app[DATABASE]() as db:
        people = await participations(db, window, now=request.app[CLOCK]())
    body = to_csv(people, lambda m: translate(request, m), zone(request.app[SETTINGS].timezone))
    return _download(body, "text/csv; charset=utf-8", _file_name(window, "csv"))


@allow(*ORGANISERS)
async def attendance_xlsx(request: web.Request) -> web.StreamResponse:
    window, _ = await _window(request)
    now = request.app[CLOCK]()
    async with request.app[DATABASE]() as db:
        people = await participations(db, window, now=now)
    body = to_xlsx(window, people, lambda m: translate(request, m),
                   zone(request.app[SETTINGS].timezone), exported_at=now)
    return _download(body, XLSX, _file_name(window, "xlsx"))


@allow(*ORGANISERS)
async def chat_page(request: web.Request) -> web.StreamResponse:
    window, back = await _window(request)
    async with request.app[DATABASE]() as db:
        lines = await chat_log.transcript(db, window, now=request.app[CLOCK]())
    return await render(request, "meetings/chat.html", {
        "w": window, "back": back, "lines": lines, "roles": ROOM_ROLES,
        "audiences": chat_log.AUDIENCE_LABELS, "base": request.path.removesuffix("/chat")})


@allow(*ORGANISERS)
async def chat_csv(request: web.Request) -> web.StreamResponse:
    window, _ = await _window(request)
    async with request.app[DATABASE]() as db:
        lines = await chat_log.transcript(db, window, now=request.app[CLOCK]())
    body = chat_log.to_csv(lines, lambda m: translate(request, m),
                           zone(request.app[SETTINGS].timezone))
    return _download(body, "text/csv; charset=utf-8", _file_name(window, "csv", "chat"))

