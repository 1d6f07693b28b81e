"""The question packet: a session's questions sent ahead to the department on duty.

Compiled at the session's cutoff (the ``cutoff`` session job) or by the host on demand, it
lands in the on-duty officers' inboxes once. The page is always computed from the
questions as they are now: a change after the compile (a late review, a merge, a
rejection) raises the packet's version, and a reader sees what is new or changed since
they last opened it. Opening it marks their packet messages read.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound
from server.core.fields import spreadsheet_cell
from server.core.jobs import JobRuntime
from server.legal.categories import list_categories
from server.legal.consultation import SessionInfo, require_runner, session_info
from server.legal.views import QuestionView, load_names, views
from server.models import (
    Notification,
    PacketRead,
    Question,
    QuestionPacket,
    QuestionStatus,
)
from server.notify import inbox
from server.notify.notices import Notice, channels_from, deliver, publish

log = logging.getLogger("yizhan.packet")

KIND = "questions.packet"
IN_PACKET = (QuestionStatus.QUEUED, QuestionStatus.ANSWERED)


def packet_link(session_id: int) -> str:
    return f"/legal/sessions/{session_id}/packet"


async def get_packet(db: AsyncSession, session_id: int) -> QuestionPacket | None:
    return await db.scalar(select(QuestionPacket).where(QuestionPacket.session_id == session_id))


def _packet_rows(rows: list[Question]) -> list[Question]:
    """What a packet holds: the questions sent ahead (not those raised live), still standing."""
    return [q for q in rows if q.status in IN_PACKET and not q.raised_live]


async def _questions(db: AsyncSession, session_id: int) -> list[Question]:
    return list(await db.scalars(select(Question).where(Question.session_id == session_id)
                                 .order_by(Question.position, Question.id)))


async def compile_packet(db: AsyncSession, session_id: int, *, clock: Clock,
                         actor_id: int | None = None) -> tuple[QuestionPacket, Notice | None]:
    """Compile once (a second call keeps the first) and send it to the officers on duty."""
    info = await session_info(db, session_id)
    now = clock()
    packet = await get_packet(db, session_id)
    if packet is None:
        packet = QuestionPacket(session_id=session_id, version=1, compiled_at=now,
                                compiled_by_id=actor_id, updated_at=now)
        db.add(packet)
        await db.flush()
        audit.record(db, at=now, actor_id=actor_id, action="packet.compile",
                     target_type="question_packet", target_id=packet.id,
                     changes={"session_id": [None, session_id], "version": [None, 1]})
    count = len(_packet_rows(await _questions(db, session_id)))
    officers = await inbox.recipients(db, department_id=info.department_id) \
        if info.department_id is not None else []
    notice = await deliver(db, officers, inbox.Message(
        kind=KIND, title=N_("Question packet for %(programme)s on %(date)s: "
                            "%(count)s questions"),
        params={"programme": info.programme_name, "date": info.label, "count": count},
        link=packet_link(session_id), dedupe_key=f"packet:{session_id}"),
        clock=clock, session_id=session_id)
    return packet, notice


async def touch(db: AsyncSession, session_id: int, *, clock: Clock) -> None:
    """A change to a compiled packet: its version rises; readers who had read it are told
    (once until they open it again)."""
    packet = await get_packet(db, session_id)
    if packet is None:
        return
    now = clock()
    await db.execute(update(QuestionPacket).where(QuestionPacket.id == packet.id)
                     .values(version=QuestionPacket.version + 1, updated_at=now)
                     .execution_options(synchronize_session=False))
    await db.refresh(packet)
    info = await session_info(db, session_id)
    if info.department_id is None:
        return
    officers = set(await inbox.recipients(db, department_id=info.department_id))
    readers = set(await db.scalars(select(PacketRead.user_id)
                                   .where(PacketRead.packet_id == packet.id)))
    waiting = set(await db.scalars(select(Notification.recipient_id).where(
        Notification.link == packet_link(session_id), Notification.read_at.is_(None))))
    await inbox.deliver(db, (officers & readers) - waiting, inbox.Message(
        kind=KIND, title=N_("The question packet for %(programme)s on %(date)s changed: "
                            "now version %(version)s"),
        params={"programme": info.programme_name, "date": info.label,
                "version": packet.version},
        link=packet_link(session_id), dedupe_key=f"packet:{session_id}:v{packet.version}"),
        clock=clock)


# -- the page --------------------------------------------------------------------------


@dataclass(frozen=True)
class PacketItem:
    question: QuestionView
    mark: str | None  # "new" or "changed" since the reader last opened the packet


@dataclass(frozen=True)
class PacketSite:
    site: str
    items: list[PacketItem]


@dataclass(frozen=True)
class PacketGroup:
    category: str
    sites: list[PacketSite]

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.sites)


@dataclass(frozen=True)
class PacketView:
    session: SessionInfo
    version: int | None  # None: not compiled yet (a preview)
    compiled_at: datetime | None
    updated_at: datetime | None
    groups: list[PacketGroup]
    removed: list[PacketItem]  # not accepted after the packet was compiled
    last_read_at: datetime | None
    last_read_version: int | None

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def items(self) -> list[PacketItem]:
        return [i for g in self.groups for s in g.sites for i in s.items]


def _mark(q: QuestionView, since: datetime | None) -> str | None:
    if since is None:
        return None
    if q.submitted_at > since:
        return "new"
    return "changed" if q.changed_at > since else None


async def packet_view(db: AsyncSession, session_id: int, *, viewer: Principal, clock: Clock,
                      record_read: bool = True) -> PacketView:
    """The packet as `viewer` (the street office or an officer on duty) sees it now."""
    info = await session_info(db, session_id)
    require_runner(viewer, info)
    packet = await get_packet(db, session_id)
    rows = await _questions(db, session_id)
    names = await load_names(db)
    included = _packet_rows(rows)
    removed_rows = [q for q in rows if packet is not None and q.status is QuestionStatus.REJECTED
                    and not q.raised_live and q.changed_at > packet.compiled_at]
    all_views = {v.id: v for v in await views(db, included + removed_rows, viewer=viewer,
                                              names=names)}
    read = await db.scalar(select(PacketRead).where(
        PacketRead.packet_id == packet.id, PacketRead.user_id == viewer.user_id)) \
        if packet else None
    since = read.read_at if read else None

    def item(q: Question) -> PacketItem:
        return PacketItem(all_views[q.id], _mark(all_views[q.id], since))

    order = {c.id: i for i, c in enumerate(await list_categories(db))}
    site_order = {ident: i for i, ident in enumerate(names.sites)}
    groups: list[PacketGroup] = []
    for category_id in sorted({q.category_id for q in included}, key=lambda c: order.get(c, 0)):
        in_category = [q for q in included if q.category_id == category_id]
        sites = []
        for site_id in sorted({q.site_id for q in in_category},
                              key=lambda s: site_order.get(s, 0)):
            sites.append(PacketSite(names.sites.get(site_id, ""),
                                    [item(q) for q in in_category if q.site_id == site_id]))
        groups.append(PacketGroup(names.categories.get(category_id, ""), sites))
    view = PacketView(
        session=info, version=packet.version if packet else None,
        compiled_at=packet.compiled_at if packet else None,
        updated_at=packet.updated_at if packet else None, groups=groups,
        removed=[item(q) for q in removed_rows], last_read_at=since,
        last_read_version=read.read_version if read else None)
    if record_read and packet is not None:
        await _record_read(db, packet, read, viewer, clock)
    return view


async def _record_read(db: AsyncSession, packet: QuestionPacket, read: PacketRead | None,
                       viewer: Principal, clock: Clock) -> None:
    now = clock()
    if read is not None:
        read.read_at, read.read_version = now, packet.version
    else:
        try:
            async with db.begin_nested():
                db.add(PacketRead(packet_id=packet.id, user_id=viewer.user_id, read_at=now,
                                  read_version=packet.version))
        except IntegrityError:  # the same reader opened it twice at once
            pass
    await db.execute(update(Notification).where(
        Notification.recipient_id == viewer.user_id,
        Notification.link == packet_link(packet.session_id),
        Notification.read_at.is_(None)).values(read_at=now)
        .execution_options(synchronize_session=False))


CSV_HEADER = (N_("No."), N_("Category"), N_("Site"), N_("Question number"),
              N_("Position in the queue"), N_("Question"), N_("Resident"), N_("Contact"),
              N_("Files"), N_("Status"), N_("Merged from"), N_("Carried over from"),
              N_("Submitted at"), N_("Since you last read it"))
MARK_LABELS = {"new": N_("New since you read it"), "changed": N_("Changed since you read it")}


def packet_csv(view: PacketView, _: Callable[[str], str], tz: tzinfo) -> str:
    """The packet as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese): headers
    and states in the reader's language, times in the street's time zone to the minute,
    numbered 1..N across sites as on the printout."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_(h) for h in CSV_HEADER])
    number = 0
    for group in view.groups:
        for site in group.sites:
            for entry in site.items:
                q = entry.question
                number += 1
                writer.writerow([
                    number, group.category, site.site, q.id, q.position,
                    spreadsheet_cell(q.text), spreadsheet_cell(q.resident_name or ""),
                    spreadsheet_cell(q.contact or ""), len(q.attachments),
                    _(q.status_label), " ".join(str(m.id) for m in q.merged_from),
                    q.carried_from.id if q.carried_from else "",
                    f"{q.submitted_at.astimezone(tz):%Y-%m-%d %H:%M}",
                    _(MARK_LABELS[entry.mark]) if entry.mark else ""])
    return out.getvalue()


# -- at the cutoff ---------------------------------------------------------------------


async def compile_at_cutoff(runtime: JobRuntime, session_id: int) -> None:
    """Compile and send the packet of a legal session when its questions close."""
    async with runtime.database() as db, db.begin():
        try:
            info = await session_info(db, session_id)
        except NotFound:  # not a legal consultation session
            return
        if not info.takes_place():
            return
        _packet, notice = await compile_packet(db, session_id, clock=runtime.clock)
    if notice is not None:
        log.info("packet of session %s sent to %s officers", session_id, notice.recipients)
        await publish(channels_from(runtime.settings), [notice])
