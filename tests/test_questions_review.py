"""The host's review: category, duplicates merged (originals linked and visible), queue
order, rejection with a reason the site sees; every change audited."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.db import session_factory
from server.core.errors import ValidationFailed
from server.core.keys import ENGINE
from server.legal.commands import (
    MergeInto,
    MoveInQueue,
    RaiseLive,
    SetCategory,
    raise_live_from_fields,
    review_from_fields,
)
from server.models import AuditEntry, Notification, Question, QuestionStatus, User
from tests.question_helpers import (
    PARKING,
    SignedIn,
    field_errors,
    known,
    new_question,
    post,
    version_of,
)


async def review(c: TestClient, question_id: int, **fields: str) -> tuple[int, str, str]:
    data = {"version": await version_of(c, question_id), **fields}
    return await post(c, f"/legal/questions/{question_id}/review", data)


async def queue_order(c: TestClient, session_id: int) -> list[int]:
    payload = await (await c.get(f"/legal/sessions/{session_id}/queue.json")).json()
    return [q["id"] for q in payload["queued"]]


async def test_host_reviews_the_collected_questions(signed_in: SignedIn) -> None:
    site01, site02, site03 = (await signed_in("site01"), await signed_in("site02"),
                              await signed_in("site03"))
    host = await signed_in("host")
    ids = await known(host)
    first = await new_question(site01)
    duplicate = await new_question(site02, resident_name="李大伯")
    parking = await new_question(site03, text=PARKING)
    last = await new_question(site01, text="单位拖欠工资三个月，怎么维权？",
                              category_id=str(ids["劳动"]))
    assert await queue_order(host, ids["s1"]) == [first, duplicate, parking, last]

    # The category of the parking question is neighbours and property, not torts.
    status, page, location = await review(host, parking, action="category",
                                          category_id=str(ids["邻里与物业"]))
    assert (status, location) == (303, f"/legal/questions/{parking}"), page
    page = await (await site03.get(f"/legal/questions/{parking}")).text()
    assert 'data-testid="question-category">邻里与物业<' in page

    # The same question from another site: merged, linked both ways, still shown.
    status, _, _ = await review(host, duplicate, action="merge", into=str(first))
    assert status == 303
    assert await queue_order(host, ids["s1"]) == [first, parking, last]
    page = await (await host.get(f"/legal/questions/{first}")).text()
    assert 'data-testid="merged-from"' in page and f"#{duplicate} · 东坡村" not in page
    assert f"#{duplicate} · 西岭村" in page
    site02_page = await (await site02.get(f"/legal/questions/{duplicate}")).text()
    assert 'data-status="merged"' in site02_page
    assert f"已与问题 #{first} 合并" in site02_page
    payload = await (await site01.get(f"/legal/sessions/{ids['s1']}/queue.json")).json()
    assert payload["queued"][0]["merged"] == [{"id": duplicate, "site": "西岭村"}]

    # Not a legal question: rejected with a reason the site sees.
    status, _, _ = await review(host, parking, action="reject",
                                reason="属于物业服务纠纷，请先向社区物业办反映")
    assert status == 303
    page = await (await site03.get(f"/legal/questions/{parking}")).text()
    assert 'data-status="rejected"' in page
    assert 'data-testid="reject-reason">属于物业服务纠纷，请先向社区物业办反映<' in page
    assert await queue_order(host, ids["s1"]) == [first, last]

    # The queue order: to the top, then one down.
    status, _, location = await review(host, last, action="top", next="queue")
    assert (status, location) == (303, f"/legal/sessions/{ids['s1']}/queue")
    assert await queue_order(host, ids["s1"]) == [last, first]
    status, _, _ = await review(host, last, action="down")
    assert await queue_order(host, ids["s1"]) == [first, last]

    async with session_factory(host.app[ENGINE])() as db:
        actions = [(a.action, a.target_id) for a in await db.scalars(
            select(AuditEntry).where(AuditEntry.action.like("question.%"))
            .order_by(AuditEntry.id))]
        site03_user = await db.scalar(select(User).where(User.username == "site03"))
        assert site03_user is not None
        notes = [n.title for n in await db.scalars(select(Notification).where(
            Notification.recipient_id == site03_user.id))]
        merged = await db.get(Question, duplicate)
        assert merged is not None
        assert (merged.status, merged.merged_into_id) == (QuestionStatus.MERGED, first)
    assert actions == [
        ("question.submit", str(first)), ("question.submit", str(duplicate)),
        ("question.submit", str(parking)), ("question.submit", str(last)),
        ("question.category", str(parking)), ("question.merge", str(duplicate)),
        ("question.reject", str(parking)), ("question.reorder", str(last)),
        ("question.reorder", str(last))]
    assert "Your question #%(id)s was not accepted" in notes


async def test_review_refusals(signed_in: SignedIn) -> None:
    site01, host, court = await signed_in("site01"), await signed_in("host"), \
        await signed_in("court")
    first = await new_question(site01)
    other = await new_question(site01, text=PARKING)
    for outsider in (site01, court):
        status, _, _ = await review(outsider, first, action="reject", reason="x")
        assert status == 403
    status, page, _ = await review(host, first, action="reject", reason="")
    assert status == 422
    assert field_errors(page) == {"reason": "此项为必填项。"}
    status, page, _ = await review(host, first, action="merge", into=str(first))
    assert status == 422
    assert field_errors(page) == {"into": "请选择本场队列中的另一个问题。"}
    status, page, _ = await review(host, first, action="category", category_id="99999")
    assert status == 422
    assert field_errors(page) == {"category_id": "请从列表中选择一个类别。"}
    # A stale page: someone changed the question in between; the host sees it as it is now.
    status, _, _ = await review(host, other, action="merge", into=str(first))
    assert status == 303
    status, page, _ = await post(host, f"/legal/questions/{other}/review",
                                 {"action": "reject", "reason": "重复", "version": "1"})
    assert status == 409
    assert "其他人已先修改了此问题" in page
    assert 'data-status="merged"' in page
    status, page, _ = await review(host, other, action="reject", reason="重复")
    assert status == 422
    assert "只有队列中的问题才能这样修改。" in page
    status, _, _ = await review(host, first, action="sideways")
    assert status == 422


def test_review_fields_parse_to_one_command_per_action() -> None:
    assert review_from_fields({"action": "merge", "into": "7", "version": "3"}) == \
        MergeInto(version=3, into=7)
    assert review_from_fields({"action": " top ", "version": "x"}) == \
        MoveInQueue(version=0, move="top")  # no version: no row's, so 409 later
    assert review_from_fields({"action": "category", "category_id": "", "version": "1"}) == \
        SetCategory(version=1, category_id=None)
    with pytest.raises(ValidationFailed) as bad:
        review_from_fields({"action": "reject", "reason": "\x1b[31m \x00", "version": "1"})
    assert bad.value.field_errors == {"reason": "This field is required."}
    with pytest.raises(ValidationFailed, match="Unknown action"):
        review_from_fields({"action": "sideways"})
    assert raise_live_from_fields({"site_id": "2"}) == RaiseLive(site_id=2, answer_now=True)
    assert raise_live_from_fields({"site_id": "2", "answer_now": "0"}).answer_now is False
