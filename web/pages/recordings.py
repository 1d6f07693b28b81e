"""Recordings: the lists (all, per room, per session), the player with the event index,
the file itself (range requests, so the player seeks without downloading it), and the
administrator's retention setting."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict
from sqlalchemy import exists, select

from server.accounts.access import allow, signed_in
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import parse_id
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.meetings.room_access import KNOWN_ROOMS
from server.models import ProgrammeSession, Recording, Role
from server.recordings import retention
from server.recordings.access import STREET_OFFICE, visible, watchable
from server.recordings.views import rows, timeline
from web.render import render

ROOM_TITLES = {room.id: room.title for room in KNOWN_ROOMS}
MAX_SEEK_CHARS = 12


class RecordingFile(web.FileResponse):
    """A file response that also honours an entity-tag in ``If-Range``.

    aiohttp compares ``If-Range`` only as a date; a player resuming with the ETag of a
    version that is no longer there (a recovered file remuxed since) must get the whole
    new file, not a range of it (RFC 9110, 13.1.5): the Range is dropped then.
    """

    def __init__(self, path: Path, *, headers: dict[str, str]) -> None:
        super().__init__(path, headers=headers)
        self._file = path

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        condition = request.headers.get(hdrs.IF_RANGE, "").strip()
        if condition[:1] == '"' or condition[:2] == "W/":
            try:
                st = await asyncio.to_thread(self._file.stat)
            except OSError:
                st = None
            current = f'"{st.st_mtime_ns:x}-{st.st_size:x}"' if st is not None else None
            if condition != current:  # a weak tag never matches here
                headers = CIMultiDict(request.headers)
                headers.popall(hdrs.RANGE, None)
                headers.popall(hdrs.IF_RANGE, None)
                request = request.clone(headers=headers)
        return await super().prepare(request)


def _recording_id(request: web.Request) -> int:
    ident = parse_id(request.match_info.get("recording_id"))
    if ident is None:
        raise NotFound("There is no such recording.")
    return ident


def clock_text(seconds: float) -> str:
    """``1:02:03`` or ``2:03``: an offset in the recording."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


async def _list(request: web.Request, *, title: str, room: str | None = None,
                session_id: int | None = None) -> web.Response:
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        found = await rows(db, await visible(db, principal, room=room,
                                             session_id=session_id))
    return await render(request, "recordings/list.html", {
        "title": title, "recordings": found, "room_titles": ROOM_TITLES,
        "clock_text": clock_text, "may_set_retention": principal.role is Role.ADMIN})


@signed_in
async def recordings_page(request: web.Request) -> web.StreamResponse:
    return await _list(request, title=N_("Recordings"))


@signed_in
async def room_recordings_page(request: web.Request) -> web.StreamResponse:
    room = request.match_info["room"]
    if room not in ROOM_TITLES:
        async with request.app[DATABASE]() as db:
            if not await db.scalar(select(exists().where(Recording.room == room))):
                raise NotFound("There is no such room.")
    return await _list(request, title=ROOM_TITLES.get(room, room), room=room)


@signed_in
async def session_recordings_page(request: web.Request) -> web.StreamResponse:
    session_id = parse_id(request.match_info.get("session_id"))
    async with request.app[DATABASE]() as db:
        session = await db.get(ProgrammeSession, session_id) if session_id else None
    if session is None or session_id is None:
        raise NotFound("Not found.")
    return await _list(request, title=N_("Recordings of this session"),
                       session_id=session_id)


def _start_at(request: web.Request, duration: float) -> float:
    """Where the player starts (``?t=`` seconds); a value that is no time is refused."""
    raw = request.query.get("t", "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw) if len(raw) <= MAX_SEEK_CHARS else -1.0
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        message = N_("Give the place in the recording in seconds from its start.")
        raise ValidationFailed(message, field_errors={"t": message})
    return round(min(value, duration), 1) if duration > 0 else round(value, 1)


@signed_in
async def watch_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    directory = request.app[SETTINGS].recordings_dir
    async with request.app[DATABASE]() as db:
        recording = await watchable(db, principal, _recording_id(request))
        (row,) = await rows(db, [recording])
        entries = await timeline(db, directory, recording)
    return await render(request, "recordings/watch.html", {
        "recording": row, "entries": entries, "room_titles": ROOM_TITLES,
        "start": _start_at(request, recording.duration_s), "clock_text": clock_text,
        "street_office": principal.role in STREET_OFFICE})


@signed_in
async def video(request: web.Request) -> web.StreamResponse:
    """The WebM, for the player: checked on every request (each range the player asks
    for), by id only (the file name comes from the row, never from the request)."""
    async with request.app[DATABASE]() as db:
        recording = await watchable(db, current_principal(request), _recording_id(request))
    path = request.app[SETTINGS].recordings_dir / Path(recording.file).name
    if not path.is_file():
        raise NotFound("The recording's file is missing.")
    return RecordingFile(path, headers={
        "Content-Type": "video/webm", "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="recording-{recording.id}.webm"',
        "X-Content-Type-Options": "nosniff"})


async def _settings(request: web.Request, *, errors: dict[str, str] | None = None,
                    value: str | None = None, saved: bool = False,
                    status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        days = await retention.keep_days(db)
    return await render(request, "recordings/retention.html", {
        "keep_days": value if value is not None else str(days), "errors": errors or {},
        "saved": saved, "max_days": retention.MAX_KEEP_DAYS}, status=status)


@allow(Role.ADMIN)
async def retention_page(request: web.Request) -> web.StreamResponse:
    return await _settings(request, saved=request.query.get("saved") == "1")


@allow(Role.ADMIN)
async def save_retention(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        command = retention.SetRetention.parse(data)
        async with request.app[DATABASE]() as db, db.begin():
            await retention.set_keep_days(db, command,
                                          actor_id=current_principal(request).user_id,
                                          clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await _settings(request, errors=exc.field_errors or {"keep_days": exc.message},
                               value=data.get("keep_days", "")[:20], status=422)
    raise web.HTTPSeeOther("/admin/recordings?saved=1")
