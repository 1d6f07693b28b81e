"""Notices reach robots, mailboxes and phones through the outbox, end to end on loopback.

The providers are local servers that speak WeCom's, DingTalk's and Alibaba Cloud's
request formats and check the signatures as the providers do; the e-mail goes to a real
SMTP server (aiosmtpd). The producers are the real jobs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.jobs import JobKind
from server.core import db
from server.core.jobs import JobRuntime
from server.models import DeliveryLogEntry, OutboxEntry, User
from server.notify import inbox, outbox
from server.schedule import session_jobs
from tests.conftest import AppFactory, MutableClock, make_settings
from tests.notice_helpers import (
    ALI_KEY_ID,
    ALI_SECRET,
    DING_SECRET,
    DING_TOKEN,
    HANG_S,
    WECOM_KEY,
    add_channel,
    notice_settings,
    provider,
    sender,
    smtp_server,
)
from tests.support.schedule import legal_day, sessions_of, user_id

PROGRAMME = "线上法律咨询服务日"


@pytest.fixture
async def factory(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(db_url)
    yield db.session_factory(engine)
    await engine.dispose()


def runtime(factory: async_sessionmaker[AsyncSession], clock: MutableClock,
            tmp_path: Path) -> JobRuntime:
    return JobRuntime(database=factory, clock=clock, settings=make_settings("sqlite://", tmp_path))


async def court_department(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """The first legal session and its on-duty department (the district court)."""
    async with factory() as s:
        first = (await sessions_of(s, (await legal_day(s)).id))[0]
    assert first.department_id is not None
    return first.id, first.department_id


async def rows(factory: async_sessionmaker[AsyncSession]) -> list[OutboxEntry]:
    async with factory() as s:
        return list(await s.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


async def outcomes(factory: async_sessionmaker[AsyncSession], outbox_id: int) -> list[str]:
    async with factory() as s:
        return list(await s.scalars(select(DeliveryLogEntry.outcome).where(
            DeliveryLogEntry.outbox_id == outbox_id).order_by(DeliveryLogEntry.id)))


async def test_the_reminder_reaches_the_departments_wecom_robot_once_with_a_link(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        rt = runtime(factory, clock, tmp_path)
        await session_jobs.run_kind(rt, session_id, JobKind.REMINDER_24H)
        await session_jobs.run_kind(rt, session_id, JobKind.REMINDER_24H)  # a re-run
        [row] = await rows(factory)
        assert (row.state, row.idempotency_key) == (
            "pending", f"session:{session_id}:reminder_24h|{row.channel_id}|group")
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 1
        assert await out.drain_once() == 0
        await out.close()
    assert fake.rejected == []
    [body] = fake.received
    content = body["markdown"]["content"]
    assert content.startswith(f"**提醒：{PROGRAMME} 11月26日（周四）09:30，值班：区人民法院**")
    assert "(https://yizhan.example.cn/rooms/legal)" in content  # straight into the room
    [row] = await rows(factory)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, clock.now)
    assert await outcomes(factory, row.id) == ["sent"]


async def test_the_room_opening_reaches_a_signed_dingtalk_robot_of_each_site(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, _department = await court_department(factory)
    async with factory() as s:
        site_id = await s.scalar(select(User.site_id).where(User.username == "site01"))
    async with provider("dingtalk") as fake:
        await add_channel(factory, clock, name="一号站点", transport="dingtalk", scope="site",
                          site_id=site_id, address=f"{fake.base}/robot/send",
                          access_token=DING_TOKEN, sign_secret=DING_SECRET)
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.ROOM_OPEN)
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 1
        await out.close()
    assert fake.rejected == []
    [body] = fake.received
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == f"{PROGRAMME}的会议室已开放"
    assert "https://yizhan.example.cn/rooms/legal" in \
        body["markdown"]["text"]


async def test_a_wrong_dingtalk_secret_is_refused_by_the_signature_check(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("dingtalk") as fake:
        await add_channel(factory, clock, name="法院群", transport="dingtalk",
                          scope="department", department_id=department_id,
                          address=f"{fake.base}/robot/send", access_token=DING_TOKEN,
                          sign_secret="SECnot-the-right-one")
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.REMINDER_30MIN)
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 0
        await out.close()
    assert (fake.rejected, fake.received) == (["sign"], [])
    [row] = await rows(factory)
    assert (row.state, row.last_error) == ("pending", "errcode 310000: sign not match")


async def test_an_email_arrives_in_chinese_as_text_and_html_with_the_link(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, _department = await court_department(factory)
    court = await _set_contact(factory, "court", email="court@example.cn")
    with smtp_server() as (port, mailbox):
        await add_channel(factory, clock, name="个人邮件", transport="email", scope="personal")
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.REMINDER_24H)
        out = sender(factory, clock, tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                     smtp_tls="none", smtp_from="驿站 <yizhan@street.example.cn>")
        sent = await out.drain_once()
        await out.close()
    court_rows = [r for r in await rows(factory) if r.user_id == court]
    assert [r.state for r in court_rows] == ["sent"]
    assert sent >= 1
    envelope, mail = next((e, m) for e, m in mailbox.messages
                          if e.rcpt_tos == ["court@example.cn"])
    assert envelope.mail_from == "yizhan@street.example.cn"
    assert str(mail["From"]) == "驿站 <yizhan@street.example.cn>"
    assert str(mail["To"]) == "court@example.cn"
    assert str(mail["Subject"]) == f"提醒：{PROGRAMME} 11月26日（周四）09:30，值班：区人民法院"
    assert mail.get_content_type() == "multipart/alternative"
    parts = [p for p in mail.iter_parts() if isinstance(p, EmailMessage)]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    link = "https://yizhan.example.cn/rooms/legal"  # straight into the session's room
    assert link in parts[0].get_content() and f'href="{link}"' in parts[1].get_content()
    assert "区人民法院" in parts[0].get_content()


async def _set_contact(factory: async_sessionmaker[AsyncSession], username: str, *,
                       phone: str | None = None, email: str | None = None) -> int:
    async with factory() as s, s.begin():
        uid = await user_id(s, username)
        await s.execute(update(User).where(User.id == uid).values(phone=phone, email=email))
    return uid


async def test_quiet_hours_hold_an_sms_until_morning_then_alibaba_takes_it(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, _department = await court_department(factory)
    court = await _set_contact(factory, "court", phone="13800001234")
    async with provider("sms") as fake:
        await add_channel(factory, clock, name="短信", transport="sms", scope="personal",
                          address=fake.base, access_key_id=ALI_KEY_ID,
                          access_key_secret=ALI_SECRET, sign_name="驿站",
                          template_code="SMS_123456")
        clock.now = clock.now.replace(hour=14, minute=30)  # 22:30 in Shanghai
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.REMINDER_24H)
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 0
        [row] = [r for r in await rows(factory) if r.user_id == court]
        morning = clock.now.replace(hour=0, minute=0) + timedelta(days=1)  # 08:00 Shanghai
        assert (row.state, row.not_before, fake.received) == ("pending", morning, [])
        clock.now = morning - timedelta(minutes=1)
        assert await out.drain_once() == 0
        clock.now = morning
        assert await out.drain_once() >= 1
        await out.close()
    assert fake.rejected == []
    params = next(p for p in fake.received if p["PhoneNumbers"] == "13800001234")
    assert (params["SignName"], params["TemplateCode"]) == ("驿站", "SMS_123456")
    # One template variable, cut to the 35 characters Alibaba allows.
    assert json.loads(params["TemplateParam"]) == {
        "content": f"提醒：{PROGRAMME} 11月26日（周四）09:30，值班：区人民"}
    assert await outcomes(factory, row.id) == ["held", "sent"]


async def test_a_rate_limited_robot_is_tried_again_later_and_a_refusing_one_is_given_up(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        fake.answers = [45009]
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        rt = runtime(factory, clock, tmp_path)
        await session_jobs.run_kind(rt, session_id, JobKind.REMINDER_24H)
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 0
        [row] = await rows(factory)
        assert (row.state, row.not_before) == ("pending", clock.now + timedelta(seconds=60))
        clock.advance(seconds=30)
        assert await out.drain_once() == 0
        clock.advance(seconds=30)
        assert await out.drain_once() == 1
        assert await outcomes(factory, row.id) == ["rate_limited", "sent"]
        # A robot that keeps refusing: retried with growing pauses, then given up.
        fake.answers = [93000, 93000, 93000]
        await session_jobs.run_kind(rt, session_id, JobKind.REMINDER_30MIN)
        waits = []
        for _ in range(3):
            await out.drain_once()
            second = (await rows(factory))[1]
            waits.append((second.state, second.not_before - clock.now))
            clock.advance(seconds=3600)
        await out.close()
    assert [w[0] for w in waits] == ["pending", "pending", "dead"]
    assert [w[1] for w in waits[:2]] == [timedelta(seconds=30), timedelta(seconds=60)]
    assert await outcomes(factory, second.id) == ["retry", "retry", "dead"]
    assert second.last_error == "errcode 93000: error"
    assert len(fake.received) == 1


async def test_the_21st_message_to_a_robot_in_a_minute_waits_instead_of_failing(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    _session, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        async with factory() as s, s.begin():
            officers = await inbox.recipients(s, department_id=department_id)
            for n in range(21):
                await inbox.deliver(s, officers, inbox.Message(
                    kind="questions.packet", title="Packet %(n)s", params={"n": n},
                    dedupe_key=f"test-packet:{n}"), clock=clock)
        out = sender(factory, clock, tmp_path)
        assert await out.drain_once() == 20
        waiting = [r for r in await rows(factory) if r.state != "sent"]
        assert [(r.state, r.not_before) for r in waiting] == [
            ("pending", clock.now + timedelta(seconds=60))]
        assert await outcomes(factory, waiting[0].id) == ["held"]
        clock.advance(seconds=59)
        assert await out.drain_once() == 0
        clock.advance(seconds=1)
        assert await out.drain_once() == 1
        await out.close()
    assert len(fake.received) == 21
    assert fake.received[-1]["markdown"]["content"].startswith("**Packet 20**")


async def test_a_crash_between_commit_and_send_delivers_exactly_once(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path,
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        # The job committed its outbox row, and the process died before any sender ran.
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.REMINDER_24H)
        assert [r.state for r in await rows(factory)] == ["pending"]
        # Two fresh processes start; each runs a sender. The row goes out once.
        settings = notice_settings(run_sender=True, poll_s=0.02)
        first = await aiohttp_client(app_factory(notices=settings))
        second = await aiohttp_client(app_factory(notices=settings))
        async with asyncio.timeout(10):
            await fake.arrived.wait()
        await asyncio.sleep(0.3)  # time for a second sending, if there were one
        await first.close()
        await second.close()
    assert len(fake.received) == 1
    assert [r.state for r in await rows(factory)] == ["sent"]


async def test_a_sender_that_died_mid_send_is_replaced_once_its_lease_runs_out(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                    JobKind.REMINDER_24H)
        out = sender(factory, clock, tmp_path)
        [row] = await rows(factory)
        async with factory() as s, s.begin():  # claimed by a sender that then died
            assert await outbox.claim(s, row.id, clock.now, out.lease)
        async with factory() as s, s.begin():  # nobody else may take it meanwhile
            assert not await outbox.claim(s, row.id, clock.now, out.lease)
        assert await out.drain_once() == 0
        clock.advance(seconds=out.lease.total_seconds() + 1)
        assert await out.drain_once() == 1
        assert await out.drain_once() == 0
        await out.close()
    assert len(fake.received) == 1


async def test_two_senders_draining_at_once_send_each_row_once(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    _session, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        async with factory() as s, s.begin():
            officers = await inbox.recipients(s, department_id=department_id)
            for n in range(6):
                await inbox.deliver(s, officers, inbox.Message(
                    kind="questions.packet", title="Packet %(n)s", params={"n": n}),
                    clock=clock)
        a, b = sender(factory, clock, tmp_path), sender(factory, clock, tmp_path)
        counts = await asyncio.gather(a.drain_once(), b.drain_once())
        await a.close()
        await b.close()
    assert sum(counts) == 6
    assert sorted(b["markdown"]["content"] for b in fake.received) == sorted(
        f"**Packet {n}**" for n in range(6))


async def test_a_hanging_provider_slows_neither_the_job_nor_the_sender_beyond_its_timeout(
    factory: async_sessionmaker[AsyncSession], clock: MutableClock, tmp_path: Path
) -> None:
    session_id, department_id = await court_department(factory)
    async with provider("wecom") as fake:
        fake.hang = True
        await add_channel(factory, clock, name="法院群", transport="wecom", scope="department",
                          department_id=department_id,
                          address=f"{fake.base}/cgi-bin/webhook/send", key=WECOM_KEY)
        # Bounds at half the provider's hang: a job or sender that waited for it fails.
        async with asyncio.timeout(HANG_S / 2):
            await session_jobs.run_kind(runtime(factory, clock, tmp_path), session_id,
                                        JobKind.REMINDER_24H)
        assert fake.hanging == 0  # the job only queued its notice; the sender sends
        out = sender(factory, clock, tmp_path, timeout_s=0.3)
        async with asyncio.timeout(HANG_S / 2):
            assert await out.drain_once() == 0
        assert fake.hanging == 1
        await out.close()
    [row] = await rows(factory)
    assert (row.state, row.last_error) == ("pending", "timed out")
