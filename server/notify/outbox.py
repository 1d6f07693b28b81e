"""The outbox: notices written with the change that causes them, then sent apart.

`enqueue` runs inside the producer's transaction (it is called by `inbox.deliver`), so a
notice exists if and only if its change committed. The sender (`server.notify.sender`)
claims due rows with an atomic UPDATE (one process wins each row), sends outside any
transaction, and records the outcome. See docs/notices.md for the states.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from server.core import audit
from server.core.clock import Clock
from server.core.errors import Conflict, NotFound
from server.models import DeliveryLogEntry, NoticeChannel, OutboxEntry

from . import routing

if TYPE_CHECKING:
    from .inbox import Message

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"


async def enqueue(db: AsyncSession, user_ids: Sequence[int], message: Message, *,
                  clock: Clock) -> list[OutboxEntry]:
    """One row per (notice, channel, recipient) the routing table asks for, never twice."""
    return await write(db, await routing.plan(db, message.kind, user_ids), message,
                       clock=clock)


async def write(db: AsyncSession, targets: Sequence[routing.Target], message: Message, *,
                clock: Clock) -> list[OutboxEntry]:
    """The rows for ``targets`` not written before (their idempotency key is new)."""
    if not targets:
        return []
    notice_key = message.dedupe_key or f"{message.kind}:{uuid.uuid4().hex}"
    keys = {f"{notice_key}|{t.channel_id}|{t.recipient}": t for t in targets}
    seen = set(await db.scalars(select(OutboxEntry.idempotency_key)
                                .where(OutboxEntry.idempotency_key.in_(list(keys)))))
    now = clock()
    rows = [OutboxEntry(idempotency_key=key, kind=message.kind, title=message.title,
                        body=message.body, params=dict(message.params or {}),
                        link=message.link, channel_id=t.channel_id, user_id=t.user_id,
                        address=t.address, state=PENDING, attempts=0, not_before=now,
                        last_error="", created_at=now)
            for key, t in keys.items() if key not in seen]
    db.add_all(rows)
    await db.flush()
    return rows


def due(now: datetime) -> ColumnElement[bool]:
    """Rows to send now: pending and due, or claimed by a sender whose lease ran out."""
    return or_(and_(OutboxEntry.state == PENDING, OutboxEntry.not_before <= now),
               and_(OutboxEntry.state == SENDING, OutboxEntry.lease_until < now))


async def due_ids(db: AsyncSession, now: datetime, limit: int) -> list[int]:
    return list(await db.scalars(select(OutboxEntry.id).where(due(now))
                                 .order_by(OutboxEntry.not_before, OutboxEntry.id).limit(limit)))


async def claim(db: AsyncSession, outbox_id: int, now: datetime, lease: timedelta) -> bool:
    """Take one row for sending; False when another sender took it first.

    A single conditional UPDATE: on PostgreSQL the second writer waits for the row lock
    and then finds the condition false; on SQLite writers are serialised anyway.
    """
    result = await db.execute(
        update(OutboxEntry).where(OutboxEntry.id == outbox_id, due(now))
        .values(state=SENDING, lease_until=now + lease)
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0) == 1)


def log(db: AsyncSession, row: OutboxEntry, outcome: str, detail: str, at: datetime) -> None:
    db.add(DeliveryLogEntry(outbox_id=row.id, at=at, outcome=outcome, detail=detail[:500]))


# -- the delivery log (admin) ----------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    at: datetime
    outcome: str
    detail: str


@dataclass(frozen=True)
class DeliveryView:
    id: int
    kind: str
    title: str
    params: dict[str, object]
    channel: str
    transport: str
    recipient: str
    state: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    lines: tuple[LogLine, ...]


def _masked(address: str) -> str:
    """A phone or e-mail in the log, partly hidden: the log is not an address book."""
    if "@" in address:
        name, domain = address.split("@", 1)
        return f"{name[:2]}…@{domain}"
    return f"{address[:3]}****{address[-4:]}" if len(address) > 7 else address


async def delivery_log(db: AsyncSession, *, state: str | None = None,
                       limit: int = 200) -> list[DeliveryView]:
    query = select(OutboxEntry, NoticeChannel).join(
        NoticeChannel, NoticeChannel.id == OutboxEntry.channel_id)
    if state:
        query = query.where(OutboxEntry.state == state)
    result = await db.execute(query.order_by(OutboxEntry.id.desc()).limit(limit))
    pairs = [(row, channel) for row, channel in result.all()]
    ids = [row.id for row, _c in pairs]
    lines: dict[int, list[LogLine]] = {i: [] for i in ids}
    if ids:
        for entry in await db.scalars(select(DeliveryLogEntry)
                                      .where(DeliveryLogEntry.outbox_id.in_(ids))
                                      .order_by(DeliveryLogEntry.id)):
            lines[entry.outbox_id].append(LogLine(entry.at, entry.outcome, entry.detail))
    return [DeliveryView(
        id=row.id, kind=row.kind, title=row.title, params=dict(row.params),
        channel=channel.name, transport=channel.transport,
        recipient=_masked(row.address) if row.address else "",
        state=row.state, attempts=row.attempts, last_error=row.last_error,
        created_at=row.created_at, sent_at=row.sent_at, lines=tuple(lines[row.id]))
        for row, channel in pairs]


async def send_again(db: AsyncSession, outbox_id: int, *, actor_id: int | None,
                     clock: Clock) -> OutboxEntry:
    """Queue a dead or sent row once more (the administrator asked: it may arrive twice)."""
    row = await db.get(OutboxEntry, outbox_id)
    if row is None:
        raise NotFound("Not found.")
    if row.state in (PENDING, SENDING):
        raise Conflict("This notice is already waiting to be sent.")
    now = clock()
    row.state, row.attempts, row.not_before, row.lease_until = PENDING, 0, now, None
    log(db, row, "again", "", now)
    audit.record(db, at=now, actor_id=actor_id, action="notice.send_again",
                 target_type="notice_outbox", target_id=row.id, changes={})
    await db.flush()
    return row
