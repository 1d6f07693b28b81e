"""What the legal question pages share: ids from the path, forms with files, the local day,
and telling the live room what happened once a change committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from scheduling.clock import zone
from server.core.errors import DomainError, NotFound
from server.core.fields import parse_id
from server.core.keys import CLOCK, SETTINGS
from server.legal.files import FileUpload
from server.legal.live_queue import RoomCue
from server.meetings.room_control import ROOM_CONTROL

log = logging.getLogger("yizhan.questions")

FILE_FIELD = "attachments"


def path_id(request: web.Request, name: str) -> int:
    """The id in the path; one no row can have (past 2**31-1) is simply not found."""
    ident = parse_id(request.match_info.get(name))
    if ident is None:
        raise NotFound("Not found.")
    return ident


async def read_form(request: web.Request) -> tuple[dict[str, str], list[FileUpload]]:
    """Text fields and uploaded files of a form (urlencoded or multipart)."""
    form: MultiDictProxy[Any] = await request.post()
    data: dict[str, str] = {}
    uploads: list[FileUpload] = []
    for key, value in form.items():
        if isinstance(value, str):
            data.setdefault(key, value)
        elif isinstance(value, web.FileField) and key == FILE_FIELD:
            uploads.append(FileUpload(value.filename or "", value.content_type or "",
                                      value.file.read()))
    return data, uploads


def local_today(request: web.Request) -> date:
    return request.app[CLOCK]().astimezone(zone(request.app[SETTINGS].timezone)).date()


def apply_cue(request: web.Request, cue: RoomCue | None) -> None:
    """Spotlight and mark in the live room, when the rooms feature is wired in. The change
    already committed: a room that is not live (or a site not in it) only gets logged."""
    control = request.app.get(ROOM_CONTROL)
    if control is None or cue is None:
        return
    steps: list[tuple[str, Callable[[], None]]] = []
    if cue.spotlight:
        steps.append(("spotlight", lambda: control.spotlight(cue.room, cue.site_id)))
    steps.append(("marker", lambda: control.add_marker(cue.room, cue.marker, cue.data)))
    for what, step in steps:
        try:
            step()
        except DomainError as exc:
            log.info("room %s: no %s for %s (%s)", cue.room, what, cue.marker, exc.message)
        except Exception:
            log.exception("room %s: %s for %s failed", cue.room, what, cue.marker)
