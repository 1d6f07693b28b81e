"""Loopback stand-ins for the notice providers, each checking requests as the real one does.

WeCom (robot key, markdown), DingTalk (signed with HMAC-SHA256 over timestamp and secret),
Alibaba Cloud SMS (the RPC signature, HMAC-SHA1), and an SMTP server (aiosmtpd). Each
answers the codes queued in ``answers`` (then success), so tests drive retries and dead
letters with the providers' documented error codes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.clock import Clock
from server.core.config import NoticeSettings
from server.notify import channels
from server.notify.sender import Sender
from tests.conftest import SECRET, make_settings
from web.i18n import load_catalogs

ZH = load_catalogs().get("zh_CN")

WECOM_KEY = "wecom-robot-key-0001-abcd"
HANG_S = 60.0  # how long a hanging fake provider keeps a request
DING_TOKEN = "ding-access-token-9f8e"
DING_SECRET = "SECd0c5ca1e5ecret7f3a"
ALI_KEY_ID = "LTAI-test-key-id"
ALI_SECRET = "ali-access-key-secret-5678"


@dataclass
class Fake:
    """What a fake provider received, and what it will answer next."""

    base: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    answers: list[object] = field(default_factory=list)
    hang: bool = False  # each request waits HANG_S before it is answered
    hanging: int = 0  # requests that arrived while hanging
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def next_answer(self, ok: object) -> object:
        return self.answers.pop(0) if self.answers else ok


def _wecom_app(fake: Fake) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        if fake.hang:
            fake.hanging += 1
            await asyncio.sleep(HANG_S)
        if request.query.get("key") != WECOM_KEY:
            fake.rejected.append("key")
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = await request.json()
        if body.get("msgtype") != "markdown" or not body["markdown"].get("content"):
            fake.rejected.append("body")
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        code = fake.next_answer(0)
        if code == 0:
            fake.received.append(body)
            fake.arrived.set()
        return web.json_response({"errcode": code, "errmsg": "ok" if code == 0 else "error"})

    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", send)
    return app


def _ding_app(fake: Fake) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        if request.query.get("access_token") != DING_TOKEN:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        timestamp = request.query.get("timestamp", "")
        digest = hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(),
                          hashlib.sha256).digest()
        fresh = timestamp.isdigit() and abs(int(timestamp) - time.time() * 1000) < 3600_000
        if not fresh or request.query.get("sign") != base64.b64encode(digest).decode():
            fake.rejected.append("sign")
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        code = fake.next_answer(0)
        if code == 0:
            fake.received.append(await request.json())
        return web.json_response({"errcode": code, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/robot/send", send)
    return app


def _ali_percent(value: str) -> str:
    return quote(value, safe="~")


def _ali_app(fake: Fake) -> web.Application:
    async def send(request: web.Request) -> web.Response:
        params = {k: v for k, v in request.query.items() if k != "Signature"}
        canonical = "&".join(f"{_ali_percent(k)}={_ali_percent(v)}"
                             for k, v in sorted(params.items()))
        to_sign = "GET&%2F&" + _ali_percent(canonical)
        expected = base64.b64encode(hmac.new(f"{ALI_SECRET}&".encode(), to_sign.encode(),
                                             hashlib.sha1).digest()).decode()
        if request.query.get("Signature") != expected \
                or params.get("AccessKeyId") != ALI_KEY_ID:
            fake.rejected.append("signature")
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "bad"})
        if params.get("Action") != "SendSms" or params.get("SignatureMethod") != "HMAC-SHA1":
            fake.rejected.append("action")
            return web.json_response({"Code": "InvalidParameter", "Message": "bad"})
        code = fake.next_answer("OK")
        if code == "OK":
            fake.received.append(params)
        return web.json_response({"Code": code, "Message": "OK", "BizId": "biz-1",
                                  "RequestId": "req-1"})

    app = web.Application()
    app.router.add_get("/", send)
    return app


@asynccontextmanager
async def provider(kind: str) -> AsyncIterator[Fake]:
    fake = Fake()
    app = {"wecom": _wecom_app, "dingtalk": _ding_app, "sms": _ali_app}[kind](fake)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.base = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        await server.close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTPServer, session: Session,
                          envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def notice_settings(**overrides: Any) -> NoticeSettings:
    values: dict[str, Any] = {"public_url": "https://yizhan.example.cn", "run_sender": False,
                              "timeout_s": 2.0, "max_attempts": 3}
    values.update(overrides)
    return NoticeSettings(**values)


def sender(factory: async_sessionmaker[AsyncSession], clock: Clock, tmp_path: Any,
           **overrides: Any) -> Sender:
    settings = make_settings("sqlite://", tmp_path, notices=notice_settings(**overrides))
    return Sender(factory, clock, settings, ZH.gettext)


async def add_channel(factory: async_sessionmaker[AsyncSession], clock: Clock, **fields: Any
                      ) -> int:
    data = {"enabled": "1", **{k: str(v) for k, v in fields.items()}}
    async with factory() as db, db.begin():
        row = await channels.save_channel(db, None, channels.channel_from_fields(data),
                                          secret_key=SECRET, actor_id=None, clock=clock)
        return row.id
