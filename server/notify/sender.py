"""The sender: drains the outbox apart from requests and jobs, never sending a row twice.

Each due row is claimed (state ``sending`` with a lease), sent outside any transaction
with a timeout, then marked ``sent``, rescheduled with exponential backoff, or dead after
``max_attempts``. Rows whose lease ran out (the process died mid-send) are claimed again:
the one window in which a message can go out twice is between the provider's answer and
the commit of ``sent`` (milliseconds); docs/notices.md says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.clock import Clock
from server.core.config import Settings
from server.core.errors import N_
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.models import NoticeChannel, OutboxEntry

from . import dingtalk, mail, outbox, routing, sms, webhook, wecom
from .channels import config_of
from .transports import PER_MINUTE, Adapter, DeliveryError, Outgoing, SendContext

log = logging.getLogger("yizhan.notices")

ADAPTERS: Mapping[str, Adapter] = {
    "wecom": wecom.send, "dingtalk": dingtalk.send, "email": mail.send, "sms": sms.send,
    "webhook": webhook.send,
}
BACKOFF_S = 30.0
MAX_BACKOFF_S = 3600.0
RATE_LIMIT_WAIT_S = 60.0
BATCH = 50


class Limiter:
    """A sliding minute per channel: the 21st message to a robot waits for a free slot."""

    def __init__(self, window: timedelta = timedelta(minutes=1)) -> None:
        self.window = window
        self._sent: dict[int, deque[datetime]] = {}

    def reserve(self, channel_id: int, per_window: int, now: datetime) -> float:
        """0 and a slot taken, or the seconds until a slot frees up (nothing taken)."""
        times = self._sent.setdefault(channel_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < per_window:
            times.append(now)
            return 0.0
        return max((times[0] + self.window - now).total_seconds(), 0.001)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def _text(translate: Callable[[str], str], msgid: str, params: dict[str, object]) -> str:
    if not msgid:
        return ""
    try:
        return translate(msgid) % params if params else translate(msgid)
    except (KeyError, ValueError, TypeError):
        return msgid


@dataclass
class Sender:
    database: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    translate: Callable[[str], str] = lambda s: s
    limiter: Limiter = field(default_factory=Limiter)
    adapters: Mapping[str, Adapter] = field(default_factory=lambda: dict(ADAPTERS))
    _http: aiohttp.ClientSession | None = None

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.notices.timeout_s * 3 + 30)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _context(self) -> SendContext:
        if self._http is None or self._http.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.notices.timeout_s)
            self._http = aiohttp.ClientSession(timeout=timeout)
        return SendContext(http=self._http, settings=self.settings.notices)

    async def drain_once(self) -> int:
        """Send what is due now; the number of rows sent."""
        now = self.clock()
        async with self.database() as db:
            ids = await outbox.due_ids(db, now, BATCH)
        sent = 0
        for outbox_id in ids:
            async with self.database() as db, db.begin():
                if not await outbox.claim(db, outbox_id, self.clock(), self.lease):
                    continue
            sent += await self._send_one(outbox_id)
        return sent

    async def _hold(self, outbox_id: int, until: datetime, why: str) -> None:
        async with self.database() as db, db.begin():
            row = await db.get(OutboxEntry, outbox_id)
            if row is not None:
                row.state, row.not_before, row.lease_until = outbox.PENDING, until, None
                outbox.log(db, row, "held", why, self.clock())

    async def _send_one(self, outbox_id: int) -> int:
        async with self.database() as db:
            row = await db.get(OutboxEntry, outbox_id)
            channel = await db.get(NoticeChannel, row.channel_id) if row else None
            if row is None or channel is None:
                return 0
            config = config_of(channel, self.settings.secret_key)
            enabled = channel.enabled
            message = Outgoing(
                idempotency_key=row.idempotency_key, kind=row.kind,
                text=_text(self.translate, row.title, dict(row.params)),
                body=_text(self.translate, row.body, dict(row.params)),
                url=self.settings.notices.public_url + row.link
                if row.link.startswith("/") else "",
                open_label=self.translate(N_("Open in Yizhan")), address=row.address)
        now = self.clock()
        if not enabled:
            await self._finish(outbox_id, DeliveryError("channel disabled", permanent=True))
            return 0
        if config.transport == "sms":
            morning = routing.quiet_until(now, self.settings.notices.quiet_hours,
                                          self.settings.timezone)
            if morning is not None:
                await self._hold(outbox_id, morning, "quiet hours")
                return 0
        per_minute = PER_MINUTE.get(config.transport)
        if per_minute is not None:
            wait = self.limiter.reserve(config.id, per_minute, now)
            if wait > 0:
                await self._hold(outbox_id, now + timedelta(seconds=wait),
                                 f"rate limit: {per_minute} a minute")
                return 0
        adapter = self.adapters[config.transport]
        try:
            async with asyncio.timeout(self.settings.notices.timeout_s):
                answer = await adapter(self._context(), config, message)
        except DeliveryError as exc:
            await self._finish(outbox_id, exc)
            return 0
        except TimeoutError:
            await self._finish(outbox_id, DeliveryError("timed out"))
            return 0
        except (aiohttp.ClientError, OSError) as exc:
            await self._finish(outbox_id, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return 0
        await self._finish(outbox_id, None, answer)
        return 1

    async def _finish(self, outbox_id: int, error: DeliveryError | None,
                      answer: str = "") -> None:
        now = self.clock()
        async with self.database() as db, db.begin():
            row = await db.get(OutboxEntry, outbox_id)
            if row is None:
                return
            row.attempts += 1
            row.lease_until = None
            if error is None:
                row.state, row.sent_at, row.last_error = outbox.SENT, now, ""
                outbox.log(db, row, "sent", answer, now)
                return
            row.last_error = error.detail
            if error.permanent or row.attempts >= self.settings.notices.max_attempts:
                row.state = outbox.DEAD
                outbox.log(db, row, "dead", error.detail, now)
                log.warning("notice %s dead: %s", row.idempotency_key, error.detail)
                return
            delay = timedelta(seconds=RATE_LIMIT_WAIT_S) if error.rate_limited \
                else backoff(row.attempts)
            row.state, row.not_before = outbox.PENDING, now + delay
            outbox.log(db, row, "rate_limited" if error.rate_limited else "retry",
                       error.detail, now)

    async def run_forever(self) -> None:
        while True:
            try:
                while await self.drain_once() >= BATCH:
                    pass
            except Exception:  # the loop outlives a database hiccup
                log.exception("notice sender failed; trying again")
            await asyncio.sleep(self.settings.notices.poll_s)


def background(translate: Callable[[str], str]) -> Callable[[web.Application],
                                                            AsyncIterator[None]]:
    """The sender as a cleanup_ctx entry: started after the database, stopped before it."""

    async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        if not settings.notices.run_sender:
            yield
            return
        sender = Sender(app[DATABASE], app[CLOCK], settings, translate)
        task = asyncio.create_task(sender.run_forever(), name="notice-sender")
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await sender.close()

    return sender_ctx
