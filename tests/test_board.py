"""The public results board: its figures on a known data set (working days by the street's
calendar), and that it shows only what staff published."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.board import compute
from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from server.models import (
    CalendarDay,
    CalendarDayKind,
    OpinionEvent,
    Satisfaction,
)
from server.opinions.lifecycle import ESCALATE
from tests.board_helpers import (
    INTERNAL,
    NAME,
    PHONE,
    RAW,
    as_resident,
    plant_personal_data,
    readable,
    resolve_with_photo,
)
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, category_id, local, record
from tests.question_helpers import legal_sessions

SignedIn = Callable[[str], Awaitable[TestClient]]
HOLIDAY = date(2026, 11, 25)  # a Wednesday, made a holiday for the test


async def known_data_set(db: AsyncSession, clock: MutableClock) -> dict[str, int]:
    """Four items in 2026 and one in 2025 (left out); Wed Nov 25 2026 is a holiday.

    A  Nov 23 (Mon), 设施维修, court: resolved Nov 26 (2 working days over the holiday),
       published with a public answer, then confirmed
    B  Nov 23, 环境卫生, police: progress the same day (0 days), escalated once
    C  Nov 23, 设施维修: rejected Nov 27 (3 working days) with a reason
    D  Oct 9, 设施维修: received only
    Receipts of 2026: A satisfied, B satisfied, C unsatisfied, D not rated.
    """
    await db.merge(CalendarDay(day=HOLIDAY, kind=CalendarDayKind.HOLIDAY, name="测试假日",
                               updated_at=local(2026, 11, 1)))
    clock.now = local(2025, 12, 30)
    await record(db, clock)
    clock.now = local(2026, 11, 23)
    a = await record(db, clock)
    b = await record(db, clock, category_id=str(await category_id(db, "环境卫生")))
    c = await record(db, clock)
    await accept(db, clock, a.id)
    await accept(db, clock, b.id, dept="police")
    await act(db, clock, "police", b.id, "update", note="已派人查看")
    db.add(OpinionEvent(opinion_id=b.id, at=local(2026, 11, 30), actor_id=None,
                        action=ESCALATE, note=""))
    clock.now = local(2026, 11, 26, 16, 0)
    await act(db, clock, "court", a.id, "resolve", note="内部", public_note="已修复")
    clock.now = local(2026, 11, 27)
    await act(db, clock, "site01", a.id, "confirm")
    await act(db, clock, "host", c.id, "reject", public_note="不属于本街道职责")
    clock.now = local(2026, 10, 9)
    d = await record(db, clock)
    for item, rating in ((a, Satisfaction.SATISFIED), (b, Satisfaction.SATISFIED),
                         (c, Satisfaction.UNSATISFIED), (d, None)):
        await as_resident(db, item, at=local(2026, 11, 28), satisfaction=rating)
    clock.now = local(2026, 12, 2, 10, 0)
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id}


async def test_board_figures_on_a_known_data_set(db_session: AsyncSession,
                                                 clock: MutableClock) -> None:
    db = db_session
    ids = await known_data_set(db, clock)
    board = await compute(db, year=2026, now=clock(), tz=SHANGHAI)
    c = board.counts
    assert (c.received, c.replied, c.closed, c.escalated, c.terminated) == (4, 3, 1, 1, 1)
    assert c.feedback_rate == 1.0
    assert (c.rated, c.satisfaction_rate) == (3, 2 / 3)
    # Replies after 2 (A, over the holiday), 0 (B) and 3 (C) working days.
    assert c.median_reply_workdays == 2.0
    assert [(g.key, g.received, g.closed) for g in board.by_month if g.received] == [
        ("2026-10", 1, 0), ("2026-11", 3, 1)]
    assert len(board.by_month) == 12
    assert [(g.label, g.received, g.closed) for g in board.by_category] == [
        ("设施维修", 3, 1), ("环境卫生", 1, 0)]
    assert [(i.id, i.public_note, i.resolved_on) for i in board.resolved] == [
        (ids["a"], "已修复", date(2026, 11, 26))]
    # The calendar counts: without the holiday, A took 3 working days and so does the median.
    await db.execute(delete(CalendarDay).where(CalendarDay.day == HOLIDAY))
    again = await compute(db, year=2026, now=clock(), tz=SHANGHAI)
    assert again.counts.median_reply_workdays == 3.0
    # Another year has nothing but its empty months.
    empty = await compute(db, year=2024, now=clock(), tz=SHANGHAI)
    assert (empty.counts.received, empty.counts.feedback_rate,
            empty.counts.satisfaction_rate, empty.counts.median_reply_workdays) == (
        0, None, None, None)


async def test_board_page_and_json_without_login(client: TestClient,
                                                 clock: MutableClock) -> None:
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        await known_data_set(db, clock)
        first = (await legal_sessions(db))[0]
    resp = await client.get("/board", allow_redirects=False)
    assert resp.status == 200
    page = await resp.text()
    counts = dict(re.findall(
        r'data-count="(\w+)"><span class="value">([^<]*)</span>', page))
    assert counts == {"received": "4", "replied": "3", "closed": "1", "escalated": "1",
                      "terminated": "1", "feedback_rate": "100.0%",
                      "satisfaction_rate": "66.7%", "median_reply": "2"}
    assert page.count("<svg") == 2
    assert "已修复" in page
    assert "区人民法院" in page or first.department_id is None
    data = await (await client.get("/board.json?year=2026")).json()
    assert data["counts"] == {"received": 4, "replied": 3, "closed": 1, "escalated": 1,
                              "terminated": 1}
    assert data["median_reply_workdays"] == 2.0
    assert [m["month"] for m in data["by_month"]][:2] == ["2026-01", "2026-02"]
    assert data["consultations"], "the seeded legal sessions are coming"
    for bad in ("abcd", "1999", "20260"):
        assert (await client.get(f"/board.json?year={bad}")).status == 422


async def test_board_shows_only_published_text(client: TestClient,
                                               clock: MutableClock) -> None:
    uploads = client.app[SETTINGS].uploads_dir
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        planted = await plant_personal_data(db, clock, uploads)
    clock.now = local(2026, 12, 1)
    bodies = {}
    for path in ("/board", "/board.json", "/open311/v2/requests.json",
                 f"/open311/v2/requests/{planted.published}.json"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 200, path
        bodies[path] = readable(await resp.text(), resp.content_type)
    for path, body in bodies.items():
        for secret in (PHONE, NAME, RAW, INTERNAL):
            assert secret not in body, (path, secret)
        assert "路灯已全部修复" in body, path
    listing = (await client.get("/board.json")).json
    data = await listing()
    photos = [p for item in data["resolved"] for p in item["photos"]]
    assert photos == [f"/board/photos/{i}" for i in planted.public_photo_ids]
    assert [i["id"] for i in data["resolved"]] == [planted.published]
    for url in photos:
        resp = await client.get(url)
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # The resident's own photo and photos of unpublished items are not there for the public.
    assert planted.unpublished_photo_ids
    for photo_id in planted.unpublished_photo_ids:
        assert (await client.get(f"/board/photos/{photo_id}")).status == 404
    assert (await client.get("/board/photos/99999999")).status == 404


async def test_public_photo_must_still_be_what_it_says(client: TestClient,
                                                       clock: MutableClock) -> None:
    """A stored file whose first bytes are not the recorded image type is not served."""
    uploads = client.app[SETTINGS].uploads_dir
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        clock.now = local(2026, 11, 23)
        item = await record(db, clock)
        await accept(db, clock, item.id)
        await resolve_with_photo(db, clock, "court", item.id, uploads_dir=uploads,
                                 public_note="已处理")
    data = await (await client.get("/board.json")).json()
    url = data["resolved"][0]["photos"][0]
    assert (await client.get(url)).status == 200
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        from server.models import OpinionPhoto
        photo_id = int(url.rsplit("/", 1)[1])
        await db.execute(update(OpinionPhoto).where(OpinionPhoto.id == photo_id)
                         .values(content_type="image/webp"))
    assert (await client.get(url)).status == 404
