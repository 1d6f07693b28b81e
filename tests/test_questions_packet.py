"""The packet: compiled at the cutoff, grouped by category and site, printable and as CSV,
sent once to the officers on duty and marked read when they open it; later reviews raise
its version and show what changed."""

from __future__ import annotations

import csv
import io
import re

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from scheduling.planner import SessionStatus
from server.core.db import session_factory
from server.core.jobs import run_session_job
from server.core.keys import ENGINE
from server.models import (
    Notification,
    ProgrammeSession,
    QuestionPacket,
    User,
)
from tests.conftest import MutableClock, login
from tests.question_helpers import (
    PARKING,
    SignedIn,
    duty_station_session,
    known,
    new_question,
    post,
    version_of,
)

WAGES = "单位拖欠工资三个月，怎么维权？"


async def inbox_of(c: TestClient, username: str) -> list[Notification]:
    async with session_factory(c.app[ENGINE])() as db:
        user = await db.scalar(select(User).where(User.username == username))
        assert user is not None
        return list(await db.scalars(select(Notification).where(
            Notification.recipient_id == user.id, Notification.kind == "questions.packet")
            .order_by(Notification.id)))


async def packet_row(c: TestClient, session_id: int) -> QuestionPacket | None:
    async with session_factory(c.app[ENGINE])() as db:
        return await db.scalar(select(QuestionPacket)
                               .where(QuestionPacket.session_id == session_id))


def marks(page: str) -> dict[int, str]:
    return {int(q): mark for q, mark in re.findall(
        r'<li data-question="(\d+)" data-mark="(\w+)"', page)}


async def test_packet_at_the_cutoff(signed_in: SignedIn, clock: MutableClock) -> None:
    site01, site02, site03 = (await signed_in("site01"), await signed_in("site02"),
                              await signed_in("site03"))
    ids = await known(site01)
    falling = await new_question(site01)
    falling2 = await new_question(site02, anonymous="1", resident_name="")
    wages = await new_question(site03, text=WAGES, category_id=str(ids["劳动"]))
    parking = await new_question(site01, text=PARKING, category_id=str(ids["邻里与物业"]))
    clock.advance(days=2)  # Wednesday 09:30: the cutoff of the court's session
    await run_session_job(ids["s1"], "cutoff")
    await run_session_job(ids["s1"], "cutoff")  # a job run twice sends nothing twice
    court, police = await signed_in("court"), await signed_in("police")
    [note] = await inbox_of(court, "court")
    assert (note.link, note.read_at, note.params["count"]) == (
        f"/legal/sessions/{ids['s1']}/packet", None, 4)
    assert await inbox_of(court, "police") == []
    row = await packet_row(court, ids["s1"])
    assert row is not None and row.version == 1

    resp = await court.get(f"/legal/sessions/{ids['s1']}/packet")
    assert resp.status == 200
    page = await resp.text()
    # By category in the administrator's order, then by site.
    order = [page.index(f'data-category="{c}"') for c in ("邻里与物业", "劳动", "侵权")]
    assert order == sorted(order)
    assert page.index(f'data-question="{falling}"') < page.index(f'data-question="{falling2}"')
    assert page.index(f'data-question="{parking}"') < page.index(f'data-question="{wages}"')
    assert 'data-testid="packet-version">第 1 版' in page
    assert 'data-testid="packet-total">4<' in page
    assert "13800001111" in page  # the officers on duty may call the resident back
    assert marks(page) == {}
    [note] = await inbox_of(court, "court")
    assert note.read_at is not None  # opening the packet marked it read

    resp = await court.get(f"/legal/sessions/{ids['s1']}/packet.csv")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = (await resp.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:5] == ["序号", "类别", "站点", "问题编号", "排队序号"]
    assert [(r[0], r[1], r[2], int(r[3])) for r in rows[1:]] == [
        ("1", "邻里与物业", "东坡村", parking), ("2", "劳动", "青山社区", wages),
        ("3", "侵权", "东坡村", falling), ("4", "侵权", "西岭村", falling2)]

    # A department not on duty, a site, a deputy: no packet.
    resp = await police.get(f"/legal/sessions/{ids['s1']}/packet")
    assert resp.status == 403
    assert "您的部门不是本场的值班部门。" in await resp.text()
    assert (await police.get(f"/legal/sessions/{ids['s1']}/packet.csv")).status == 403
    await login(site01, "site01")  # signed in again: two days went by
    assert (await site01.get(f"/legal/sessions/{ids['s1']}/packet")).status == 403


async def test_reviews_after_the_cutoff_update_the_packet(signed_in: SignedIn,
                                                          clock: MutableClock) -> None:
    site01, site02 = await signed_in("site01"), await signed_in("site02")
    ids = await known(site01)
    falling = await new_question(site01)
    duplicate = await new_question(site02)
    parking = await new_question(site02, text=PARKING)
    wages = await new_question(site01, text=WAGES)
    clock.advance(days=2, minutes=5)
    await run_session_job(ids["s1"], "cutoff")
    host, court = await signed_in("host"), await signed_in("court")
    page = await (await court.get(f"/legal/sessions/{ids['s1']}/packet")).text()
    assert marks(page) == {}
    clock.advance(minutes=30)

    async def review(question_id: int, **fields: str) -> None:
        status, body, _ = await post(host, f"/legal/questions/{question_id}/review", {
            "version": await version_of(host, question_id), **fields})
        assert status == 303, body

    await review(wages, action="category", category_id=str(ids["劳动"]))
    await review(duplicate, action="merge", into=str(falling))
    await review(parking, action="reject", reason="请先向物业反映")
    row = await packet_row(court, ids["s1"])
    assert row is not None and row.version == 4
    # Told once that it changed, not three times.
    notes = await inbox_of(court, "court")
    assert [(n.params.get("version"), n.read_at is None) for n in notes] == [
        (None, False), (2, True)]

    clock.advance(minutes=1)
    page = await (await court.get(f"/legal/sessions/{ids['s1']}/packet")).text()
    assert marks(page) == {wages: "changed", falling: "changed", parking: "changed"}
    assert 'data-testid="packet-version">第 4 版' in page
    assert "汇总发送后撤下的问题" in page and "请先向物业反映" in page
    assert "阅读后有改动" in page
    assert all(n.read_at is not None for n in await inbox_of(court, "court"))
    # Read again: nothing is new any more.
    page = await (await court.get(f"/legal/sessions/{ids['s1']}/packet")).text()
    assert marks(page) == {}


async def test_host_sends_the_packet_early(signed_in: SignedIn, clock: MutableClock) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    ids = await known(site01)
    await new_question(site01)
    court = await signed_in("court")
    preview = await (await court.get(f"/legal/sessions/{ids['s1']}/packet")).text()
    assert "尚未发送：以下是目前已收到的问题。" in preview
    status, _, location = await post(host, f"/legal/sessions/{ids['s1']}/packet", {})
    assert (status, location) == (303, f"/legal/sessions/{ids['s1']}/packet")
    assert len(await inbox_of(court, "court")) == 1
    await court.get(location)
    clock.advance(hours=1)
    await login(site01, "site01")
    late = await new_question(site01, text=PARKING)  # still before the cutoff
    clock.advance(minutes=1)
    page = await (await court.get(location)).text()
    assert marks(page) == {late: "new"}
    assert "阅读后新增" in page
    assert 'data-testid="packet-version">第 2 版' in page
    status, _, _ = await post(host, f"/legal/sessions/{ids['s1']}/packet", {})
    assert status == 303  # compiling again keeps the packet and sends nothing new
    row = await packet_row(host, ids["s1"])
    assert row is not None and row.version == 2
    assert len(await inbox_of(court, "court")) == 2


async def test_cutoff_of_other_sessions_makes_no_packet(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    ids = await known(host)
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        duty = (await duty_station_session(db)).id
        await db.execute(update(ProgrammeSession).where(ProgrammeSession.id == ids["s2"])
                         .values(status=SessionStatus.CANCELLED))
    await run_session_job(duty, "cutoff")
    await run_session_job(ids["s2"], "cutoff")
    await run_session_job(99999, "cutoff")
    async with session_factory(host.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(QuestionPacket)) == 0
