"""Attendance of one session or one ad-hoc meeting: each participant's stays within the
window the room was open for it, the gaps between them, and the same as CSV and XLSX.

A stay that began before the window or ended after it counts only inside it; a stay still
open counts up to now (or the window's end). Sites called or expected but never seen are
listed as absent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from server.core.errors import N_
from server.models import Attendance

Translate = Callable[[str], str]


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """What the attendance is of: a room from ``start`` to ``end`` (None: still open)."""

    room: str
    title: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Interval:
    joined_at: datetime
    left_at: datetime | None  # None: still in the room
    seconds: int
    gap_before: int | None  # seconds away since this participant's previous stay


@dataclass(frozen=True, kw_only=True, slots=True)
class Participation:
    participant_key: str
    display_name: str
    role: str
    site_id: int | None
    stays: tuple[Interval, ...]

    @property
    def seconds(self) -> int:
        return sum(s.seconds for s in self.stays)

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    @property
    def first_joined(self) -> datetime:
        return self.stays[0].joined_at

    @property
    def last_left(self) -> datetime | None:
        return self.stays[-1].left_at

    @property
    def gaps(self) -> int:
        return len(self.stays) - 1


async def participations(db: AsyncSession, window: Window, *,
                         now: datetime) -> list[Participation]:
    """Everyone in ``window.room`` during the window, in order of first arrival."""
    end = utc(window.end) if window.end is not None else utc(now)
    start = utc(window.start)
    rows = await db.scalars(
        select(Attendance)
        .where(Attendance.room == window.room,
               # An open window runs up to now, and one who joined this instant is there.
               Attendance.joined_at <= end if window.end is None else Attendance.joined_at < end,
               or_(Attendance.left_at.is_(None), Attendance.left_at > start))
        .order_by(Attendance.joined_at, Attendance.id))
    grouped: dict[str, list[Attendance]] = {}
    for row in rows:
        grouped.setdefault(row.participant_key, []).append(row)
    out = []
    for key, stays in grouped.items():
        intervals: list[Interval] = []
        previous_left: datetime | None = None
        for row in stays:
            joined = max(utc(row.joined_at), start)
            left = None if row.left_at is None else min(utc(row.left_at), end)
            until = left if left is not None else min(utc(now), end)
            gap = None if previous_left is None else max(
                0, int((joined - previous_left).total_seconds()))
            intervals.append(Interval(joined_at=joined, left_at=left, gap_before=gap,
                                      seconds=max(0, int((until - joined).total_seconds()))))
            previous_left = until
        last = stays[-1]
        out.append(Participation(participant_key=key, display_name=last.display_name,
                                 role=last.role, site_id=last.site_id,
                                 stays=tuple(intervals)))
    return out


# -- exports -----------------------------------------------------------------------------

HEADERS = (N_("Name"), N_("Role"), N_("Stay"), N_("Joined"), N_("Left"), N_("Minutes"),
           N_("Minutes away before"))
ROLE_LABELS = {"host": N_("Host"), "speaker": N_("Speaker"), "site": N_("Site"),
               "observer": N_("Observer")}


def _moment(value: datetime | None, zone_: tzinfo) -> str:
    if value is None:
        return ""
    return f"{value.astimezone(zone_):%Y-%m-%d %H:%M:%S}"


def export_rows(people: Iterable[Participation], _: Translate,
                zone_: tzinfo) -> list[list[object]]:
    """One row per stay: local times, minutes rounded to one decimal."""
    rows: list[list[object]] = []
    for person in people:
        for index, stay in enumerate(person.stays, start=1):
            rows.append([
                person.display_name, _(ROLE_LABELS.get(person.role, person.role)), index,
                _moment(stay.joined_at, zone_), _moment(stay.left_at, zone_),
                round(stay.seconds / 60, 1),
                "" if stay.gap_before is None else round(stay.gap_before / 60, 1)])
    return rows


def to_csv(people: Iterable[Participation], _: Translate, zone_: tzinfo) -> bytes:
    """UTF-8 with a BOM, so Excel on Windows reads the Chinese."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_(h) for h in HEADERS])
    writer.writerows(export_rows(people, _, zone_))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(window: Window, people: Iterable[Participation], _: Translate, zone_: tzinfo, *,
            exported_at: datetime) -> bytes:
    """A title row (the session), its window, when exported, then one row per stay."""
    book = Workbook()
    sheet = book.active
    if sheet is None:  # a new Workbook always has its active sheet
        raise RuntimeError("no worksheet")
    sheet.title = _(N_("Attendance"))[:31]
    sheet.append([f"{window.title} · {_(N_('Attendance'))}"])
    sheet.append([_(N_("Room open: %(start)s to %(end)s")) % {
        "start": _moment(window.start, zone_),
        "end": _moment(window.end, zone_) or _(N_("still open"))}])
    sheet.append([_(N_("Exported at: %(when)s")) % {"when": _moment(exported_at, zone_)}])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([_(h) for h in HEADERS])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in export_rows(people, _, zone_):
        sheet.append(row)
    sheet.freeze_panes = "A5"
    for column, width in zip("ABCDEFG", (24, 10, 6, 20, 20, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
