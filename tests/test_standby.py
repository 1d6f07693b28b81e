"""The site's standby screen: GET /api/standby (roles, content with a test clock, an unknown
site, no sessions, calls) and the /standby page's configuration.

The demo street's clock stands on Monday 2026-11-23 09:30 in Shanghai: the legal
consultation day (the court on duty) is on Thursday 09:30-10:30, the deputies' duty
station on the first Wednesday of December, 14:30-16:30.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.config import ConfigError, settings_from_env
from server.core.db import session_factory
from server.core.errors import NotFound
from server.core.keys import ENGINE
from server.models import (
    Meeting,
    MeetingSite,
    ProgrammeSession,
    Site,
    User,
    meeting_room,
)
from server.today.standby import standby_view
from tests.conftest import FIXED_NOW, MutableClock, login
from tests.question_helpers import FALLING, PARKING, ask, legal_sessions

SignedIn = Callable[[str], Awaitable[TestClient]]
SHANGHAI = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # the legal day, 09:30 in Shanghai
DUTY_STATION = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)  # first Wednesday, 14:30


async def standby(c: TestClient) -> dict[str, Any]:
    resp = await c.get("/api/standby")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = await resp.json()
    return body


async def in_db(c: TestClient, change: Callable[[AsyncSession], Awaitable[object]]) -> None:
    async with session_factory(c.app[ENGINE])() as db, db.begin():
        await change(db)


def legal(starts: str, ends: str, day: str, unit: str = "区人民法院") -> dict[str, Any]:
    return {"title": "线上法律咨询服务日", "room": "legal", "starts_at": starts,
            "ends_at": ends, "cancelled": False, "day": day, "time": "09:30–10:30",
            "unit": {"kind": "department", "label": "值班部门", "name": unit}}


def without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


async def test_a_site_sees_the_week_who_is_on_duty_and_its_questions(
        signed_in: SignedIn, clock: MutableClock) -> None:
    site = await signed_in("site01")
    other = await signed_in("site02")

    async def questions(db: AsyncSession) -> None:
        await ask(db, clock, "site01")
        await ask(db, clock, "site01", text=PARKING)
        await ask(db, clock, "site02")  # another site's: not on site01's screen

    await in_db(site, questions)
    body = await standby(site)
    assert body["now"] == FIXED_NOW.isoformat()
    assert body["today_label"] == "11月23日（周一）"
    assert body["site"]["name"] == "东坡村"
    assert body["today"] == []
    assert without_ids(body["week"]) == [
        legal("2026-11-26T01:30:00+00:00", "2026-11-26T02:30:00+00:00", "11月26日（周四）")]
    # The deputies' duty station is on 2 December: beyond the seven days, but on duty.
    assert body["on_duty"] == [
        {"programme": "线上法律咨询服务日", "kind": "department", "label": "值班部门",
         "name": "区人民法院", "starts_at": "2026-11-26T01:30:00+00:00"},
        {"programme": "代表委员线上工作驿站", "kind": "deputy", "label": "坐班代表委员",
         "name": "王建国", "starts_at": DUTY_STATION.isoformat()},
    ]
    assert body["legal_session"]["id"] == body["week"][0]["id"]
    assert [(q["text"], q["category"], q["status"], q["status_label"])
            for q in body["questions"]] == [(FALLING, "侵权", "queued", "排队中"),
                                            (PARKING, "侵权", "queued", "排队中")]
    assert body["calls"] == [] and body["enter"] is None
    assert body["poll_ms"] == 5000
    assert [q["text"] for q in (await standby(other))["questions"]] == [FALLING]


async def test_on_the_day_the_session_counts_down_and_its_opened_room_is_a_call(
        signed_in: SignedIn, clock: MutableClock) -> None:
    clock.now = THURSDAY - timedelta(minutes=20)  # 09:10: the room opens at 09:15
    site = await signed_in("site01")
    body = await standby(site)
    assert body["now"] == clock.now.isoformat()
    assert without_ids(body["today"]) == [
        legal("2026-11-26T01:30:00+00:00", "2026-11-26T02:30:00+00:00", "11月26日（周四）")]
    assert body["week"][0]["starts_at"] == "2026-12-02T06:30:00+00:00"  # the duty station
    assert body["calls"] == [] and body["enter"] is None

    clock.advance(minutes=6)  # 09:16
    body = await standby(site)
    opened = (THURSDAY - timedelta(minutes=15)).isoformat()
    assert body["calls"] == [{
        "room": "legal", "title": "线上法律咨询服务日", "kind": "session", "label": "会议室已开放",
        "started_at": opened, "ends_at": "2026-11-26T02:30:00+00:00",
        "key": f"legal|{opened}", "href": "/rooms/legal?standby=1"}]
    assert body["enter"] == "/rooms/legal?standby=1"
    # After the session and the closing grace, the call is over; the session stays on today's list.
    clock.now = THURSDAY + timedelta(hours=1, minutes=15)
    body = await standby(site)
    assert body["calls"] == [] and len(body["today"]) == 1
    # The next legal session is the procuratorate's.
    assert body["legal_session"]["unit"]["name"] == "区人民检察院"


async def test_an_ad_hoc_meeting_calls_the_sites_it_named_first(
        signed_in: SignedIn, clock: MutableClock) -> None:
    clock.now = THURSDAY - timedelta(minutes=5)
    site01, site02 = await signed_in("site01"), await signed_in("site02")

    async def call(db: AsyncSession) -> None:
        host = await db.scalar(select(User.id).where(User.username == "host"))
        first = await db.scalar(select(Site.id).where(Site.code == "site01"))
        assert host is not None and first is not None
        meeting = Meeting(street_id=1, title="防汛工作紧急会议", started_by_id=host,
                          started_at=clock.now - timedelta(minutes=1))
        db.add(meeting)
        await db.flush()
        meeting.room = meeting_room(meeting.id)
        db.add(MeetingSite(meeting_id=meeting.id, site_id=first, called_at=meeting.started_at))

    await in_db(site01, call)
    body = await standby(site01)
    assert [(c["kind"], c["title"], c["label"]) for c in body["calls"]] == [
        ("meeting", "防汛工作紧急会议", "街道正在召集本站点"),
        ("session", "线上法律咨询服务日", "会议室已开放")]
    room = body["calls"][0]["room"]
    assert room.startswith("meeting-") and body["enter"] == f"/rooms/{room}?standby=1"
    assert [c["kind"] for c in (await standby(site02))["calls"]] == ["session"]

    async def end(db: AsyncSession) -> None:
        await db.execute(update(Meeting).values(ended_at=clock.now))

    await in_db(site01, end)
    assert [c["kind"] for c in (await standby(site01))["calls"]] == ["session"]


async def test_no_sessions_at_all(signed_in: SignedIn) -> None:
    site = await signed_in("site01")

    async def clear(db: AsyncSession) -> None:
        await db.execute(delete(ProgrammeSession))

    await in_db(site, clear)
    body = await standby(site)
    assert {k: body[k] for k in ("today", "week", "on_duty", "legal_session", "questions",
                                 "calls", "enter")} == {
        "today": [], "week": [], "on_duty": [], "legal_session": None, "questions": [],
        "calls": [], "enter": None}
    assert body["site"]["name"] == "东坡村"


async def test_a_cancelled_session_is_shown_as_cancelled(signed_in: SignedIn) -> None:
    site = await signed_in("site01")

    async def cancel(db: AsyncSession) -> None:
        first = (await legal_sessions(db))[0]
        first.status = "cancelled"  # type: ignore[assignment]

    await in_db(site, cancel)
    body = await standby(site)
    assert [(s["starts_at"], s["cancelled"]) for s in body["week"]] == [
        ("2026-11-26T01:30:00+00:00", True)]
    # The next one on duty is the procuratorate, a week later.
    assert body["on_duty"][0]["name"] == "区人民检察院"


@pytest.mark.parametrize("username", ["admin", "host", "court", "deputy1"])
async def test_only_a_site_may_ask(signed_in: SignedIn, username: str) -> None:
    c = await signed_in(username)
    resp = await c.get("/api/standby")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
    resp = await c.get("/standby", allow_redirects=False)
    assert resp.status == 403


async def test_signed_out_gets_401_and_the_page_sends_to_sign_in(
        client: TestClient) -> None:
    resp = await client.get("/api/standby")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "not_authenticated"
    resp = await client.get("/standby", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login?next=/standby"


async def test_a_site_that_was_deactivated_is_404(signed_in: SignedIn) -> None:
    site = await signed_in("site01")

    async def deactivate(db: AsyncSession) -> None:
        await db.execute(update(Site).where(Site.code == "site01").values(active=False))

    await in_db(site, deactivate)
    resp = await site.get("/api/standby")
    assert resp.status == 404
    assert await resp.json() == {"error": {
        "code": "not_found", "message": "此账号所属的站点不存在或已停用。"}}


async def test_an_unknown_or_inactive_site_is_not_found(db_session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await standby_view(db_session, 999_999, now=FIXED_NOW, tz=SHANGHAI)
    await db_session.execute(update(Site).where(Site.code == "site01").values(active=False))
    site01 = await db_session.scalar(select(Site.id).where(Site.code == "site01"))
    assert site01 is not None
    with pytest.raises(NotFound):
        await standby_view(db_session, site01, now=FIXED_NOW, tz=SHANGHAI)


async def test_the_page_carries_its_poll_interval_and_texts(
        app_factory: Callable[..., Any],
        aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    c = await aiohttp_client(app_factory(standby_poll_s=0.25))
    await login(c, "site01")
    page = await (await c.get("/standby")).text()
    match = re.search(r'<script type="application/json" id="standby-config">(.*?)</script>',
                      page, re.S)
    assert match
    config = json.loads(match.group(1))
    assert (config["api"], config["pollMs"], config["timezone"]) == \
        ("/api/standby", 250, "Asia/Shanghai")
    assert config["texts"]["lost"] == "与服务器的连接中断，正在重试（第 %(count)s 次）…"
    assert "开始待机" in page and "<style" not in page and "<script>" not in page
    assert (await standby(c))["poll_ms"] == 250
    # The dashboard links the site to it.
    assert 'href="/standby"' in await (await c.get("/")).text()


async def test_a_room_entered_from_standby_loads_the_way_back(signed_in: SignedIn) -> None:
    site = await signed_in("site01")
    marked = await (await site.get("/rooms/street?standby=1")).text()
    plain = await (await site.get("/rooms/street")).text()
    assert "js/standby_return.js" in marked and "js/standby_return.js" not in plain


def test_the_poll_interval_setting() -> None:
    base = {"YIZHAN_SECRET_KEY": "x" * 40, "YIZHAN_VAR_DIR": "/nonexistent"}
    assert settings_from_env(base).standby_poll_s == 5.0
    assert settings_from_env({**base, "YIZHAN_STANDBY_POLL": "2.5"}).standby_poll_s == 2.5
    for bad in ("0", "abc", "-1", "301"):
        with pytest.raises(ConfigError, match="YIZHAN_STANDBY_POLL"):
            settings_from_env({**base, "YIZHAN_STANDBY_POLL": bad})
