"""The in-app inbox: deliver, list, mark read. `deliver` also fills the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from server.core.clock import Clock
from server.core.errors import NotFound
from server.models import Notification, Role, User
from server.notify import outbox


@dataclass(frozen=True, kw_only=True)
class Message:
    kind: str
    title: str  # an English msgid, may hold %(name)s placeholders filled from params
    body: str = ""
    params: dict[str, object] | None = None
    link: str = ""
    dedupe_key: str | None = None


async def recipients(
    db: AsyncSession, *, roles: Iterable[Role] = (), department_id: int | None = None,
    site_ids: Iterable[int] = (), deputy_id: int | None = None,
) -> list[int]:
    """Active users by role, by department, by site or by deputy (any of them)."""
    conditions: list[ColumnElement[bool]] = []
    roles = list(roles)
    site_ids = list(site_ids)
    if roles:
        conditions.append(User.role.in_(roles))
    if department_id is not None:
        conditions.append((User.role == Role.OFFICER) & (User.department_id == department_id))
    if site_ids:
        conditions.append((User.role == Role.SITE) & User.site_id.in_(site_ids))
    if deputy_id is not None:
        conditions.append((User.role == Role.DEPUTY) & (User.deputy_id == deputy_id))
    if not conditions:
        return []
    rows = await db.scalars(select(User.id).where(User.active, or_(*conditions))
                                 .order_by(User.id))
    return list(rows)


async def deliver(
    db: AsyncSession, user_ids: Iterable[int], message: Message, *, clock: Clock
) -> list[Notification]:
    """One row per recipient; a message with a dedupe key lands at most once per inbox."""
    ids = sorted(set(user_ids))
    if message.dedupe_key is not None and ids:
        seen = set(await db.scalars(
            select(Notification.recipient_id).where(
                Notification.dedupe_key == message.dedupe_key,
                Notification.recipient_id.in_(ids))))
        ids = [i for i in ids if i not in seen]
    rows = [Notification(recipient_id=i, kind=message.kind, title=message.title,
                         body=message.body, params=dict(message.params or {}),
                         link=message.link, dedupe_key=message.dedupe_key,
                         created_at=clock()) for i in ids]
    db.add_all(rows)
    await db.flush()
    if rows:  # beyond the inbox: robots, e-mail, SMS, in this same transaction
        await outbox.enqueue(db, ids, message, clock=clock)
    return rows


async def inbox_of(db: AsyncSession, user_id: int, limit: int = 100) -> list[Notification]:
    rows = await db.scalars(
        select(Notification).where(Notification.recipient_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    return list(rows)


async def unread_count(db: AsyncSession, user_id: int) -> int:
    return await db.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))) or 0


async def mark_read(db: AsyncSession, user_id: int, notification_id: int, *,
                    clock: Clock) -> Notification:
    row = await db.get(Notification, notification_id)
    if row is None or row.recipient_id != user_id:
        raise NotFound("Not found.")
    if row.read_at is None:
        row.read_at = clock()
    return row


async def mark_all_read(db: AsyncSession, user_id: int, *, clock: Clock) -> None:
    await db.execute(update(Notification).where(
        Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock()))
