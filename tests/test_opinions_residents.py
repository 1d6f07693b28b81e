"""Residents' own items on the staff side: the badge instead of a recorder, the place they
gave, and the public answer kept apart from the internal note."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import Opinion, OpinionEvent, Question
from tests.board_helpers import as_resident
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, record
from tests.question_helpers import ask
from tests.test_opinions_api import token
from tests.test_opinions_pages import field_errors, ids, new_item, transition

SignedIn = Callable[[str], Awaitable[TestClient]]
BADGE = "居民自助提交"


def row_of(page: str, attr: str, ident: int) -> str:
    start = page.index(f'{attr}="{ident}"')
    return page[start:page.index("</tr>", start)]


async def test_resident_items_carry_the_badge_and_the_place(signed_in: SignedIn,
                                                            clock: MutableClock) -> None:
    host = await signed_in("host")
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        staff_item = await record(db, clock)
        mine = await record(db, clock)
        await as_resident(db, mine, at=clock(), place="3 号楼东侧路灯",
                          latitude=31.2304, longitude=121.47372)
        no_place = await record(db, clock)
        await as_resident(db, no_place, at=clock())
        staff_q = await ask(db, clock)
        resident_q = await ask(db, clock)
        row = await db.get(Question, resident_q.question_id)
        assert row is not None
        await as_resident(db, row, at=clock(), place="小区南门")
    listing = await (await host.get("/opinions")).text()
    assert BADGE in row_of(listing, "data-opinion", mine.id)
    assert BADGE in row_of(listing, "data-opinion", no_place.id)
    assert BADGE not in row_of(listing, "data-opinion", staff_item.id)
    detail = await (await host.get(f"/opinions/{mine.id}")).text()
    assert BADGE in detail
    assert '<span data-testid="resident-place">3 号楼东侧路灯</span>' in detail
    assert "31.23040, 121.47372" in detail
    bare = await (await host.get(f"/opinions/{no_place.id}")).text()
    assert BADGE in bare and "resident-place" not in bare
    staff_detail = await (await host.get(f"/opinions/{staff_item.id}")).text()
    assert BADGE not in staff_detail and "东坡村会议室" in staff_detail
    # The JSON API says "" for who recorded it; the page shows the badge instead.
    api = await (await host.get(f"/api/opinions/{mine.id}")).json()
    assert api["recorded_by"] == ""
    questions = await (await host.get("/legal/questions")).text()
    assert BADGE in row_of(questions, "data-question", resident_q.question_id)
    assert BADGE not in row_of(questions, "data-question", staff_q.question_id)
    q_detail = await (await host.get(f"/legal/questions/{resident_q.question_id}")).text()
    assert BADGE in q_detail and "小区南门" in q_detail
    # The answer summary is the public answer, and the form says so.
    assert "公开答复：答复摘要（居民和公示栏可见）" in q_detail
    queue = await (await host.get(f"/legal/sessions/{row.session_id}/queue")).text()
    assert BADGE in row_of(queue, "data-question", resident_q.question_id)
    assert BADGE not in row_of(queue, "data-question", staff_q.question_id)


async def test_public_answer_and_internal_note_are_kept_apart(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    known = await ids(host)
    item_id = await new_item(host, site_id=str(known["site01"]))
    status, _ = await transition(host, item_id, action="accept",
                                 department_id=str(known["court"]))
    assert status == 303
    court = await signed_in("court")
    page = await (await court.get(f"/opinions/{item_id}")).text()
    assert "公开答复（居民和公示栏可见）" in page and "内部备注" in page
    # The public answer is required once the form offers it; the note alone is not enough.
    status, body = await transition(court, item_id, action="resolve", public_note="",
                                    note="只写了内部备注")
    assert status == 422
    assert field_errors(body) == {"public_note": "此项为必填项。"}
    status, _ = await transition(court, item_id, action="resolve",
                                 public_note="窗户已加固。", note="内部：与物业王经理沟通")
    assert status == 303
    async with session_factory(host.app[ENGINE])() as db:
        item = await db.get(Opinion, item_id)
        assert item is not None and item.public_note == "窗户已加固。"
        notes = list(await db.scalars(select(OpinionEvent.note).where(
            OpinionEvent.opinion_id == item_id, OpinionEvent.action == "resolve")))
    assert notes == ["内部：与物业王经理沟通"]
    detail = await (await host.get(f"/opinions/{item_id}")).text()
    assert '<dd class="note" data-testid="opinion-public-note">窗户已加固。</dd>' in detail


async def test_rejected_items_reason_is_published(signed_in: SignedIn,
                                                  clock: MutableClock) -> None:
    host = await signed_in("host")
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        item = await record(db, clock)
        await as_resident(db, item, at=clock())
        other = await record(db, clock)
        await accept(db, clock, other.id)
    status, _ = await transition(host, item.id, action="reject",
                                 public_note=f"与 #{other.id} 重复，已合并处理。",
                                 note="内部：同一居民重复提交")
    assert status == 303
    api = await (await host.get(f"/api/opinions/{item.id}")).json()
    assert api["status"] == "rejected"
    assert api["public_note"] == f"与 #{other.id} 重复，已合并处理。"
    assert [e["note"] for e in api["timeline"] if e["action"] == "reject"] == [
        "内部：同一居民重复提交"]
    site = await signed_in("site01")
    page = await (await site.get(f"/opinions/{item.id}")).text()
    assert f"与 #{other.id} 重复，已合并处理。" in page


async def test_json_clients_without_a_public_answer_publish_the_note(
        signed_in: SignedIn, clock: MutableClock) -> None:
    """Older API clients send only ``note``: it stays the published result, as before."""
    host = await signed_in("host")
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        item = await record(db, clock)
        await accept(db, clock, item.id)
    court = await signed_in("court")
    detail = await (await court.get(f"/api/opinions/{item.id}")).json()
    resp = await court.post(f"/api/opinions/{item.id}/transitions", headers=await token(court),
                            json={"action": "resolve", "version": detail["version"],
                                  "note": "已修复"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["public_note"] == "已修复"

