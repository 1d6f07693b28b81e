"""Telling people about sessions: the in-app inbox first, then pluggable channels.

The inbox is written inside the use case's transaction; channels (a webhook today) are
told after it committed, and only about notices that reached an inbox for the first time,
so a job that runs again never sends twice. A channel that fails or hangs is logged and
given up on: it never holds up or breaks the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.clock import Clock
from server.core.config import Settings
from server.models import Role, Site, UnitKind
from server.notify import inbox

log = logging.getLogger("yizhan.notifications")

WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True, kw_only=True)
class Notice:
    """What happened, in plain data a channel can forward."""

    kind: str
    title: str  # English msgid with %(name)s placeholders
    params: dict[str, object] = field(default_factory=dict)
    link: str = ""
    session_id: int | None = None
    recipients: int = 0

    @property
    def text(self) -> str:
        try:
            return self.title % self.params
        except (KeyError, ValueError, TypeError):
            return self.title

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "params": self.params, "link": self.link,
                "session_id": self.session_id, "recipients": self.recipients}


class NotificationChannel(Protocol):
    """Somewhere besides the inbox that hears about sessions."""

    async def send(self, notice: Notice) -> None: ...


class WebhookChannel:
    """POSTs each notice as JSON to a URL (`YIZHAN_WEBHOOK_URL`)."""

    def __init__(self, url: str, *, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, notice: Notice) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as http, \
                http.post(self.url, json=notice.as_json()) as resp:
            if resp.status >= 400:
                raise RuntimeError(f"webhook answered {resp.status}")


def channels_from(settings: Settings) -> list[NotificationChannel]:
    return [WebhookChannel(settings.webhook_url)] if settings.webhook_url else []


async def publish(channels: Sequence[NotificationChannel], notices: Iterable[Notice]) -> None:
    """Hand notices to every channel; failures and timeouts are logged, never raised."""
    for notice in notices:
        for channel in list(channels):
            try:
                async with asyncio.timeout(WEBHOOK_TIMEOUT_S * 2):
                    await channel.send(notice)
            except Exception as exc:  # a channel must never break the job
                log.warning("channel %s failed for %s: %s", type(channel).__name__,
                            notice.kind, exc)


async def unit_users(db: AsyncSession, kind: UnitKind, unit_id: int | None) -> list[int]:
    """The users of the unit on duty: a department's officers or the deputy."""
    if unit_id is None:
        return []
    if kind is UnitKind.DEPARTMENT:
        return await inbox.recipients(db, department_id=unit_id)
    return await inbox.recipients(db, deputy_id=unit_id)


async def site_users(db: AsyncSession) -> list[int]:
    """Every active account of an active site."""
    site_ids = list(await db.scalars(select(Site.id).where(Site.active)))
    return await inbox.recipients(db, site_ids=site_ids) if site_ids else []


async def host_users(db: AsyncSession) -> list[int]:
    return await inbox.recipients(db, roles=[Role.HOST])


async def deliver(
    db: AsyncSession, user_ids: Iterable[int], message: inbox.Message, *, clock: Clock,
    session_id: int | None = None,
) -> Notice | None:
    """Into the inbox; the notice for the channels, or None when nobody new got it."""
    rows = await inbox.deliver(db, user_ids, message, clock=clock)
    if not rows:
        return None
    return Notice(kind=message.kind, title=message.title, params=dict(message.params or {}),
                  link=message.link, session_id=session_id, recipients=len(rows))
