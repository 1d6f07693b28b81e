"""The chat of one session or one ad-hoc meeting, after the fact: a page and a CSV.

What was written in the room while it was open for the session (or the meeting), in
order, with whom it was for (everyone or the hosts) and the live question a message
became. A message the host deleted stays listed as deleted, without its text: deleting
it in the room meant nobody should read it again, here or in an export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from server.core.errors import N_
from server.core.fields import spreadsheet_cell
from server.meetings.chat import StoredChat, stored
from server.meetings.session_attendance import ROLE_LABELS, Translate, Window
from server.models import RoomChatMessage

AUDIENCE_LABELS = {"all": N_("Everyone"), "hosts": N_("Hosts only")}
HEADERS = (N_("Time"), N_("Name"), N_("Role"), N_("To"), N_("Message"), N_("Deleted at"),
           N_("Question"))
LIMIT = 5000  # a room's rate limit allows far fewer in any session's window


async def transcript(db: AsyncSession, window: Window, *, now: datetime) -> list[StoredChat]:
    """The messages written in ``window.room`` during the window, oldest first."""
    end = utc(window.end) if window.end is not None else utc(now)
    rows = await db.scalars(
        select(RoomChatMessage)
        .where(RoomChatMessage.room == window.room,
               RoomChatMessage.sent_at >= utc(window.start), RoomChatMessage.sent_at <= end)
        .order_by(RoomChatMessage.sent_at, RoomChatMessage.id)
        .limit(LIMIT))
    return [stored(row) for row in rows]


def _moment(value: datetime | None, zone_: tzinfo) -> str:
    return "" if value is None else f"{value.astimezone(zone_):%Y-%m-%d %H:%M:%S}"


def to_csv(lines: Iterable[StoredChat], _: Translate, zone_: tzinfo) -> bytes:
    """UTF-8 with a BOM (Excel on Windows reads the Chinese); typed text made inert."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_(h) for h in HEADERS])
    for line in lines:
        writer.writerow([
            _moment(line.sent_at, zone_), spreadsheet_cell(line.display_name),
            _(ROLE_LABELS.get(line.role, line.role)),
            _(AUDIENCE_LABELS.get(line.audience, line.audience)),
            "" if line.deleted_at is not None else spreadsheet_cell(line.text),
            _moment(line.deleted_at, zone_), line.question_id or ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
