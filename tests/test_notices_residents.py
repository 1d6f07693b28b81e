"""A resident who asked to be told hears of the answer: one SMS or e-mail with the status link.

The resident files from the QR page over HTTP like anyone; staff publish the answer with
the real use cases; the notice goes out through the real sender to the loopback SMS
provider or the aiosmtpd server of tests/notice_helpers.py.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.db import session_factory
from server.core.keys import CLOCK, ENGINE
from server.legal.commands import AnswerQuestion
from server.legal.live_queue import answer
from server.models import Opinion, OutboxEntry, Outcome, Question, ResidentReceipt, Site
from server.notify import routing
from server.residents import notify as resident_notice
from server.residents.receipts import normalise
from tests.conftest import MutableClock
from tests.notice_helpers import ALI_KEY_ID, ALI_SECRET, add_channel, provider, sender, smtp_server
from tests.opinion_helpers import accept, act, principal
from tests.resident_helpers import NAME, PHONE, file, open_form, poster_token

SignedIn = Callable[[str], Awaitable[TestClient]]
Clients = Callable[..., Awaitable[TestClient]]
ANSWER = "窗户已由物业加固，感谢您的反映。"
EMAIL = "lixiulan@example.cn"
LINK = "https://yizhan.example.cn/r/status?code="


class Resident:
    """A resident's phone (no account) and the staff of their site, on one app."""

    def __init__(self, staff: TestClient, phone: TestClient, token: str) -> None:
        self.staff, self.phone, self.token = staff, phone, token
        self.factory: async_sessionmaker[AsyncSession] = session_factory(staff.app[ENGINE])
        clock = staff.app[CLOCK]
        assert isinstance(clock, MutableClock)
        self.clock = clock

    async def files(self, **fields: str) -> str:
        """File an item; its receipt code as stored."""
        resp = await file(self.phone, self.token, **fields)
        assert resp.status == 303, await resp.text()
        code = normalise(parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0])
        assert code is not None
        return code

    async def receipt(self, code: str) -> ResidentReceipt:
        async with self.factory() as db:
            row = await db.scalar(select(ResidentReceipt).where(ResidentReceipt.code == code))
        assert row is not None
        return row

    async def resolve(self, code: str) -> None:
        opinion_id = (await self.receipt(code)).opinion_id
        assert opinion_id is not None
        async with self.factory() as db, db.begin():
            await accept(db, self.clock, opinion_id)
            await act(db, self.clock, "host", opinion_id, "resolve", note="已联系物业。",
                      public_note=ANSWER)

    async def rows(self) -> list[OutboxEntry]:
        async with self.factory() as db:
            return list(await db.scalars(select(OutboxEntry)
                                         .where(OutboxEntry.kind == "resident_answer")
                                         .order_by(OutboxEntry.id)))


@pytest.fixture
async def resident(signed_in: SignedIn, aiohttp_client: Clients) -> Resident:
    staff = await signed_in("site01")
    async with session_factory(staff.app[ENGINE])() as db:
        site = await db.scalar(select(Site).where(Site.code == "site01"))
    assert site is not None
    token = await poster_token(staff, site.id)
    r = Resident(staff, await aiohttp_client(staff.server), token)
    r.clock.now = r.clock.now.replace(hour=2, minute=0)  # 10:00 in Shanghai: no quiet hours
    return r


async def sms_channel(r: Resident, base: str) -> int:
    return await add_channel(r.factory, r.clock, name="居民短信", transport="sms",
                             scope="personal", address=base, access_key_id=ALI_KEY_ID,
                             access_key_secret=ALI_SECRET, sign_name="驿站",
                             template_code="SMS_700001", link_param="url")


# -- the form and the consent ----------------------------------------------------------


async def test_the_box_is_offered_unticked_and_its_answer_is_kept_on_the_receipt(
        resident: Resident) -> None:
    page = await (await resident.phone.get(f"/r/{resident.token}")).text()
    box = page.split('data-testid="notify"', 1)[1].split(">", 1)[0]
    assert "checked" not in box
    assert 'name="notify"' in page and "答复后用短信/邮件通知我" in page
    privacy = page.split('data-testid="privacy-notice"', 1)[1]
    assert "仅在您勾选时" in privacy
    ticked = await resident.files(notify="1")
    unticked = await resident.files()
    anonymous = await resident.files(notify="1", anonymous="1")
    assert [(await resident.receipt(c)).notify for c in (ticked, unticked, anonymous)] == [
        True, False, False]


def test_only_a_mainland_mobile_number_or_an_e_mail_address_is_reachable() -> None:
    assert resident_notice.reachable("13912345678") == ("sms", "13912345678")
    assert resident_notice.reachable("+86 139-1234-5678") == ("sms", "13912345678")
    assert resident_notice.reachable(" li.xl@example.cn ") == ("email", "li.xl@example.cn")
    for unusable in ("", "010-62345678", "12912345678", "1391234567", "139123456789",
                     "李阿姨 3号楼", "a@b", "@example.cn"):
        assert resident_notice.reachable(unusable) is None, unusable


# -- the opinion's answer --------------------------------------------------------------


async def test_a_resident_with_a_phone_gets_one_sms_with_the_status_link(
        resident: Resident, tmp_path: Path) -> None:
    async with provider("sms") as fake:
        await sms_channel(resident, fake.base)
        code = await resident.files(notify="1")
        assert await resident.rows() == []  # filed, not answered: nothing to say yet
        await resident.resolve(code)
        # The publish point running again (a retried request) adds nothing.
        async with resident.factory() as db, db.begin():
            receipt = await resident.receipt(code)
            item = await db.get(Opinion, receipt.opinion_id)
            assert item is not None
            assert await resident_notice.opinion_answered(db, item, clock=resident.clock) == []
        [row] = await resident.rows()
        assert (row.user_id, row.address, row.state) == (None, PHONE, "pending")
        out = sender(resident.factory, resident.clock, tmp_path)
        assert await out.drain_once() == 1
        assert await out.drain_once() == 0  # the sender running twice sends once
        await out.close()
    assert fake.rejected == []
    [params] = fake.received
    assert params["PhoneNumbers"] == PHONE
    assert json.loads(params["TemplateParam"]) == {
        "content": f"您反映的事项已有答复，回执码{code[:5]}-{code[5:]}", "url": LINK + code}
    everything = json.dumps(params, ensure_ascii=False)
    assert NAME not in everything and ANSWER not in everything
    assert [r.state for r in await resident.rows()] == ["sent"]


async def test_an_sms_answered_at_night_waits_for_the_morning(
        resident: Resident, tmp_path: Path) -> None:
    async with provider("sms") as fake:
        await sms_channel(resident, fake.base)
        code = await resident.files(notify="1")
        resident.clock.now = resident.clock.now.replace(hour=14, minute=30)  # 22:30 Shanghai
        await resident.resolve(code)
        out = sender(resident.factory, resident.clock, tmp_path)
        assert await out.drain_once() == 0
        assert fake.received == []
        resident.clock.now = resident.clock.now.replace(hour=0, minute=0) + timedelta(days=1)
        assert await out.drain_once() == 1
        await out.close()
    assert [p["PhoneNumbers"] for p in fake.received] == [PHONE]


async def test_a_resident_with_an_e_mail_address_gets_an_e_mail(
        resident: Resident, tmp_path: Path) -> None:
    with smtp_server() as (port, mailbox):
        await add_channel(resident.factory, resident.clock, name="居民邮件",
                          transport="email", scope="personal")
        code = await resident.files(notify="1", contact=EMAIL)
        await resident.resolve(code)
        out = sender(resident.factory, resident.clock, tmp_path, smtp_host="127.0.0.1",
                     smtp_port=port, smtp_tls="none",
                     smtp_from="驿站 <yizhan@street.example.cn>")
        assert await out.drain_once() == 1
        assert await out.drain_once() == 0
        await out.close()
    [(envelope, mail)] = mailbox.messages
    assert envelope.rcpt_tos == [EMAIL]
    assert str(mail["Subject"]) == f"您反映的事项已有答复，回执码{code[:5]}-{code[5:]}"
    parts = [p for p in mail.iter_parts() if isinstance(p, EmailMessage)]
    text = parts[0].get_content()
    assert LINK + code in text and f'href="{LINK + code}"' in parts[1].get_content()
    assert NAME not in text and ANSWER not in text


async def test_without_the_tick_a_usable_contact_or_the_route_nothing_is_queued(
        resident: Resident) -> None:
    async with provider("sms") as fake:
        await sms_channel(resident, fake.base)
        await add_channel(resident.factory, resident.clock, name="居民邮件",
                          transport="email", scope="personal")
        unticked = await resident.files()
        landline = await resident.files(notify="1", contact="010-62345678")
        anonymous = await resident.files(notify="1", anonymous="1")
        for code in (unticked, landline, anonymous):
            await resident.resolve(code)
        assert await resident.rows() == []
        # The administrator can take the resident off the route: then nobody is told.
        async with resident.factory() as db, db.begin():
            table = dict(await routing.routes(db))
            assert table["resident_answer"] == ("resident",)
            table["resident_answer"] = ()
            await routing.save_routes(db, routing.SaveRoutes(table), clock=resident.clock)
        ticked = await resident.files(notify="1")
        await resident.resolve(ticked)
        assert await resident.rows() == []


async def test_a_rejected_item_tells_the_resident_too(resident: Resident) -> None:
    async with provider("sms") as fake:
        await sms_channel(resident, fake.base)
        code = await resident.files(notify="1")
        opinion_id = (await resident.receipt(code)).opinion_id
        assert opinion_id is not None
        async with resident.factory() as db, db.begin():
            await act(db, resident.clock, "host", opinion_id, "reject",
                      note="属于物业合同纠纷，请联系物业。")
        [row] = await resident.rows()
        assert row.link == f"/r/status?code={code}"


# -- the legal question's answer -------------------------------------------------------


async def test_an_answered_legal_question_tells_the_resident_likewise(
        resident: Resident, tmp_path: Path) -> None:
    async with provider("sms") as fake:
        await sms_channel(resident, fake.base)
        code = await resident.files(notify="1", kind="question",
                                    text="楼上掉东西砸坏了车，找不到是谁家的，谁来赔？")
        question_id = (await resident.receipt(code)).question_id
        assert question_id is not None
        async with resident.factory() as db, db.begin():
            question = await db.get(Question, question_id)
            assert question is not None
            await answer(db, question_id, AnswerQuestion(
                version=question.version, summary="可依民法典第1254条请求物业协助查找。",
                outcome=Outcome.LIVE), viewer=await principal(db, "host"),
                clock=resident.clock, today=date(2026, 11, 23))
        out = sender(resident.factory, resident.clock, tmp_path)
        assert await out.drain_once() == 1
        assert await out.drain_once() == 0
        await out.close()
    [params] = fake.received
    assert (params["PhoneNumbers"], json.loads(params["TemplateParam"])["url"]) == (
        PHONE, LINK + code)
    assert "民法典" not in json.dumps(params, ensure_ascii=False)


async def test_form_values_come_back_with_the_box_as_ticked(resident: Resident) -> None:
    form = await open_form(resident.phone, resident.token)
    resp = await file(resident.phone, resident.token, form=form, notify="1",
                      consent=None)  # type: ignore[arg-type]
    assert resp.status == 422
    page = await resp.text()
    box = page.split('data-testid="notify"', 1)[1].split(">", 1)[0]
    assert "checked" in box
