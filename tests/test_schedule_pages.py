"""The schedule pages over HTTP: calendar, programmes, rotation, calendar admin, swaps,
feeds and the inbox; bad input, unknown ids and wrong roles."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import CalendarDay, Programme, ProgrammeSession
from tests.conftest import CSRF_RE
from tests.support.schedule import (
    COURT,
    GOOD_PROGRAMME,
    POLICE,
    PROCURATORATE,
    legal_day,
    sessions_of,
    sh,
)

SignedIn = Callable[[str], Awaitable[TestClient]]


async def post(c: TestClient, path: str, data: dict[str, str]) -> tuple[int, str]:
    token = CSRF_RE.search(await (await c.get("/")).text())
    assert token
    resp = await c.post(path, data={**data, "_csrf": token.group(1)}, allow_redirects=False)
    return resp.status, await resp.text()


def field_errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="(\w+)">([^<]*)<', page))


async def legal_rows(c: TestClient) -> list[ProgrammeSession]:
    async with session_factory(c.app[ENGINE])() as db:
        return await sessions_of(db, (await legal_day(db)).id)


def cell(page: str, day: str) -> str:
    match = re.search(rf'data-day="{day}">(.*?)</td>', page, re.S)
    assert match, day
    return match.group(1)


@pytest.mark.parametrize("username", ["admin", "host", "site01", "court", "deputy1"])
async def test_every_role_sees_who_is_on_duty_when(signed_in: SignedIn, username: str) -> None:
    c = await signed_in(username)
    resp = await c.get("/schedule?month=2026-12")
    page = await resp.text()
    assert resp.status == 200
    assert "2027年节假日安排尚未录入" in page  # the horizon reaches into 2027
    assert "区人民检察院" in cell(page, "2026-12-03")
    assert "09:30 线上法律咨询服务日" in cell(page, "2026-12-03")
    assert "区人大代表 王建国" in cell(page, "2026-12-02")
    assert "14:30 代表委员线上工作驿站" in cell(page, "2026-12-02")
    assert "线上法律咨询服务日" not in cell(page, "2026-12-04")
    mine = re.findall(r'class="duty planned mine"', page)
    assert len(mine) == {"court": 1, "deputy1": 1}.get(username, 0)


async def test_the_calendar_marks_holidays_and_makeup_days(signed_in: SignedIn) -> None:
    c = await signed_in("site03")
    page = await (await c.get("/schedule?month=2026-10")).text()
    assert "国庆节" in cell(page, "2026-10-01")
    assert 'class=" rest holiday" data-day="2026-10-01"' in page
    assert 'data-day="2026-10-10"' in page and "上班" in cell(page, "2026-10-10")
    assert "2026年节假日安排尚未录入" not in page


@pytest.mark.parametrize(("month", "message"), [
    ("2026-13", "请按 YYYY-MM 输入月份。"), ("abc", "请按 YYYY-MM 输入月份。"),
    ("9999-01", "日期距今过远。"), ("1066-10", "超出允许范围。"),
])
async def test_bad_months_are_refused_clearly(
    signed_in: SignedIn, month: str, message: str
) -> None:
    c = await signed_in("host")
    resp = await c.get(f"/schedule?month={month}")
    assert resp.status == 422
    assert message in await resp.text()


async def test_programme_form_errors_stay_in_the_form_and_change_nothing(
    signed_in: SignedIn,
) -> None:
    admin = await signed_in("admin")
    status, page = await post(admin, "/schedule/programmes/new", {
        **GOOD_PROGRAMME, "name": "", "weekday": "9", "timezone": "Asia/Atlantis",
        "start_time": "7 pm"})
    assert status == 422
    assert field_errors(page) == {"name": "此项为必填项。", "weekday": "超出允许范围。",
                                  "timezone": "未知的时区。",
                                  "start_time": "请按 HH:MM 输入时间。"}
    assert 'value="Asia/Atlantis"' in page  # what was typed is kept
    assert "2027年节假日安排尚未录入" in page
    async with session_factory(admin.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Programme)) == 2


async def test_a_new_programme_gets_sessions_and_then_its_rotation(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post(admin, "/schedule/programmes/new", GOOD_PROGRAMME)
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        programme = await db.scalar(select(Programme).where(Programme.name == "周二调解日"))
        assert programme is not None
        rows = await sessions_of(db, programme.id)
    assert [r.starts_at for r in rows[:2]] == [sh(2026, 11, 24, 15), sh(2026, 12, 1, 15)]
    assert {r.department_id for r in rows} == {None}  # nobody on the rotation yet
    assert programme.room == "mediation"  # a room of its own, typed in the form
    form = await (await admin.get("/schedule/programmes/new")).text()
    choices = re.search(r'<datalist id="room-choices">(.*?)</datalist>', form, re.S)
    assert choices is not None
    assert re.findall(r'<option value="([^"]+)"', choices.group(1)) == [
        "street", "legal", "duty-station", "mediation"]
    page = await (await admin.get(f"/schedule/programmes/{programme.id}/rotation")).text()
    assert 'name="position_4"' in page
    status, page = await post(admin, f"/schedule/programmes/{programme.id}/rotation", {})
    assert status == 422
    assert "轮值至少需要一个单位。" in page
    status, _ = await post(admin, f"/schedule/programmes/{programme.id}/rotation",
                           {"position_3": "1", "position_4": "2"})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        rows = await sessions_of(db, programme.id)
    assert [r.department_id for r in rows[:3]] == [POLICE, 4, POLICE]
    listing = await (await admin.get("/schedule/programmes")).text()
    assert "区公安分局 → 区司法局" in listing


async def test_a_session_overlapping_another_in_the_same_room_is_refused(
    signed_in: SignedIn,
) -> None:
    admin = await signed_in("admin")
    status, page = await post(admin, "/schedule/programmes/new", {
        **GOOD_PROGRAMME, "room": "legal", "weekday": "3", "start_time": "10:00"})
    assert status == 422
    assert "会议室 legal 在 2026-11-26 有场次时间重叠。" in page
    async with session_factory(admin.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Programme)) == 2
        assert await db.scalar(select(func.count()).select_from(ProgrammeSession)) == 18


async def test_calendar_admin_moves_sessions_and_completes_a_year(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/schedule/workdays?year=2027")).text()
    assert "2027年节假日安排尚未录入" in page
    assert 'data-testid="year-status">尚未录入' in page
    status, page = await post(admin, "/schedule/workdays", {
        "day": "2026-12-32", "kind": "holiday", "name": ""})
    assert status == 422
    errors = field_errors(page)
    assert (sorted(errors), errors["name"]) == (["day", "name"], "此项为必填项。")
    assert "1970-01-01" in errors["day"] and "2099-12-31" in errors["day"]
    target = (await legal_rows(admin))[2]
    status, _ = await post(admin, "/schedule/workdays", {
        "day": "2026-12-10", "kind": "holiday", "name": "临时假日",
        "source_notice": "青山街道通知"})
    assert status == 303
    moved = (await legal_rows(admin))[2]
    assert (moved.id, moved.starts_at) == (target.id, sh(2026, 12, 11, 9, 30))
    page = await (await admin.get(f"/schedule/sessions/{moved.id}")).text()
    assert "原定 12月10日（周四）" in page and "临时假日" in page
    page = await (await admin.get("/schedule/workdays?year=2026")).text()
    assert 'data-entry="2026-12-10"' in page and "青山街道通知" in page
    status, _ = await post(admin, "/schedule/workdays/2026-12-10/delete", {})
    assert status == 303
    assert (await legal_rows(admin))[2].starts_at == sh(2026, 12, 10, 9, 30)
    status, _ = await post(admin, "/schedule/workdays/years/2027",
                           {"complete": "on", "source_notice": "国办发明电〔2026〕1号"})
    assert status == 303
    page = await (await admin.get("/schedule/workdays?year=2027")).text()
    assert "2027年节假日安排尚未录入" not in page
    assert "2027年节假日安排尚未录入" not in await (await admin.get("/schedule")).text()
    assert (await admin.get("/schedule/workdays?year=99999")).status == 422
    assert (await admin.get("/schedule/workdays?year=twenty")).status == 404
    status, _ = await post(admin, "/schedule/workdays/2026-02-30/delete", {})
    assert status == 404


async def test_a_swap_through_the_pages(signed_in: SignedIn) -> None:
    court = await signed_in("court")
    rows = await legal_rows(court)
    page = await (await court.get(f"/schedule/sessions/{rows[0].id}")).text()
    assert f'<option value="{rows[2].id}">12月10日（周四） · 区公安分局</option>' in page
    status, page = await post(court, f"/schedule/sessions/{rows[0].id}/swap",
                              {"other_session_id": str(rows[2].id), "reason": ""})
    assert status == 422
    assert field_errors(page) == {"reason": "此项为必填项。"}
    status, _ = await post(court, f"/schedule/sessions/{rows[0].id}/swap",
                           {"other_session_id": str(rows[2].id), "reason": "开庭"})
    assert status == 303
    police = await signed_in("police")
    page = await (await police.get("/schedule/changes")).text()
    change = re.search(r'action="/schedule/changes/(\d+)/accept".*?name="version" value="(\d+)"',
                       page, re.S)
    assert change, page
    status, _ = await post(police, f"/schedule/changes/{change.group(1)}/accept",
                           {"version": "0"})
    assert status == 409
    status, _ = await post(police, f"/schedule/changes/{change.group(1)}/accept",
                           {"version": change.group(2)})
    assert status == 303
    assert [r.department_id for r in (await legal_rows(court))[:3]] == [
        POLICE, PROCURATORATE, COURT]
    page = await (await court.get("/schedule?month=2026-12")).text()
    assert "与 11月26日（周四） 互换" in page
    page = await (await court.get(f"/schedule/sessions/{rows[0].id}")).text()
    assert "区人民法院值班干警" in page and "开庭" in page
    # A site is no party to any of it.
    site = await signed_in("site02")
    assert (await site.get("/schedule/changes")).status == 403
    status, _ = await post(site, f"/schedule/sessions/{rows[1].id}/swap",
                           {"other_session_id": str(rows[3].id), "reason": "x"})
    assert status == 403


async def test_host_cancels_and_the_unit_reads_it_in_the_inbox(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    first = (await legal_rows(host))[0]
    status, _ = await post(host, f"/schedule/sessions/{first.id}/cancel",
                           {"reason": "停电检修", "version": str(first.version)})
    assert status == 303
    court = await signed_in("court")
    page = await (await court.get("/")).text()
    assert 'data-testid="unread-count">1<' in page
    page = await (await court.get("/inbox")).text()
    assert "线上法律咨询服务日 11月26日（周四）09:30 已取消" in page
    assert "停电检修" in page
    message = re.search(r'data-message="(\d+)"', page)
    assert message
    resp = await court.post(f"/inbox/{message.group(1)}/read", data={
        "_csrf": CSRF_RE.search(page).group(1), "open": "1"}, allow_redirects=False)  # type: ignore[union-attr]
    assert resp.headers["Location"] == f"/schedule/sessions/{first.id}"
    assert 'data-testid="unread-count"' not in await (await court.get("/")).text()
    page = await (await court.get(f"/schedule/sessions/{first.id}")).text()
    assert "已取消" in page and "停电检修" in page
    # Somebody else's message is not found, whoever asks.
    status, _ = await post(host, f"/inbox/{message.group(1)}/read", {})
    assert status == 404
    status, _ = await post(host, "/inbox/read-all", {})
    assert status == 303
    assert 'data-testid="unread-count"' not in await (await host.get("/")).text()


async def test_calendar_feeds_behind_secret_urls(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, page = await post(admin, "/schedule/feeds", {"target": "department:999",
                                                         "label": "x"})
    assert status == 422
    assert field_errors(page) == {"target": "请从选项中选择。"}
    status, page = await post(admin, "/schedule/feeds", {"target": f"department:{COURT}",
                                                         "label": "法院值班手机"})
    assert status == 200
    url = re.search(r'data-testid="new-feed-url">([^<]+)<', page)
    assert url
    path = "/feeds/" + url.group(1).split("/feeds/")[1]
    # A fresh cookie jar that signs out (signing out ends every session of that user,
    # so it is not the admin's, whose client goes on below) ...
    anonymous = await signed_in("deputy1")
    await anonymous.post("/logout", data={"_csrf": CSRF_RE.search(
        await (await anonymous.get("/")).text()).group(1)})  # type: ignore[union-attr]
    resp = await anonymous.get(path)  # ... that has signed out: the token is enough
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    feed = icalendar.Calendar.from_ical(await resp.read())
    events = feed.walk("VEVENT")
    rows = await legal_rows(admin)
    court_rows = [r for r in rows if r.department_id == COURT]
    assert [str(e["UID"]) for e in events] == [f"session-{r.id}@yizhan" for r in court_rows]
    assert {int(e["SEQUENCE"]) for e in events} == {0}
    assert str(events[0]["SUMMARY"]) == "线上法律咨询服务日 · 区人民法院"
    assert events[0].decoded("DTSTART") == sh(2026, 11, 26, 9, 30)
    assert str(feed["X-WR-CALNAME"]) == "区人民法院 · 驿站"
    # Cancelled: still in the feed, CANCELLED, with a higher SEQUENCE.
    host = await signed_in("host")
    status, _ = await post(host, f"/schedule/sessions/{court_rows[0].id}/cancel",
                           {"reason": "停电", "version": str(court_rows[0].version)})
    assert status == 303
    events = icalendar.Calendar.from_ical(await (await anonymous.get(path)).read()
                                          ).walk("VEVENT")
    first = next(e for e in events if str(e["UID"]) == f"session-{court_rows[0].id}@yizhan")
    assert (str(first["STATUS"]), int(first["SEQUENCE"])) == ("CANCELLED", 1)
    # Whole-street (site) and programme feeds list every session.
    for target, count in (("site:1", 18), ("programme:2", 6), ("deputy:1", 1)):
        _, page = await post(admin, "/schedule/feeds", {"target": target, "label": target})
        found = re.search(r'data-testid="new-feed-url">[^<]*(/feeds/[^<]+)<', page)
        assert found
        feed = icalendar.Calendar.from_ical(await (await anonymous.get(found.group(1))).read())
        assert len(feed.walk("VEVENT")) == count, target
    # Revoked: gone.
    listing = await (await admin.get("/schedule/feeds")).text()
    feed_id = re.findall(r'/schedule/feeds/(\d+)/revoke', listing)[-1]
    status, _ = await post(admin, f"/schedule/feeds/{feed_id}/revoke", {})
    assert status == 303
    assert (await anonymous.get(path)).status == 404
    assert (await anonymous.get("/feeds/not-a-token.ics")).status == 404


HUGE_ID = "99999999999999999999"  # past 2**31-1: no row can have it


@pytest.mark.parametrize("path", [
    "/schedule/sessions/999999", "/schedule/sessions/abc", "/schedule/programmes/999999",
    "/schedule/programmes/999999/rotation", "/schedule/programmes/x/rotation",
    f"/schedule/sessions/{HUGE_ID}", f"/schedule/programmes/{HUGE_ID}",
    f"/schedule/programmes/{HUGE_ID}/rotation", "/schedule/sessions/-1",
    "/schedule/sessions/0", "/schedule/sessions/１２",
])
async def test_unknown_ids_are_404(signed_in: SignedIn, path: str) -> None:
    admin = await signed_in("admin")
    resp = await admin.get(path)
    assert resp.status == 404
    assert "未找到" in await resp.text()


@pytest.mark.parametrize(("username", "method", "path"), [
    ("site01", "GET", "/schedule/programmes"), ("court", "GET", "/schedule/workdays"),
    ("host", "GET", "/schedule/feeds"), ("deputy1", "GET", "/schedule/programmes/1"),
    ("site01", "POST", "/schedule/sessions/1/cancel"),
    ("court", "POST", "/schedule/programmes/1/replan"),
    ("host", "POST", "/schedule/workdays"),
])
async def test_wrong_roles_are_403(
    signed_in: SignedIn, username: str, method: str, path: str
) -> None:
    c = await signed_in(username)
    if method == "GET":
        resp = await c.get(path)
        status, page = resp.status, await resp.text()
    else:
        status, page = await post(c, path, {})
    assert status == 403
    assert "您没有权限访问此页面" in page


@pytest.mark.parametrize("path", [
    f"/schedule/sessions/{HUGE_ID}/move", f"/schedule/sessions/{HUGE_ID}/cancel",
    f"/schedule/sessions/{HUGE_ID}/swap", f"/schedule/sessions/{HUGE_ID}/override",
    f"/schedule/changes/{HUGE_ID}/accept", f"/schedule/programmes/{HUGE_ID}",
    f"/schedule/programmes/{HUGE_ID}/rotation", f"/schedule/programmes/{HUGE_ID}/replan",
    f"/schedule/feeds/{HUGE_ID}/revoke", f"/inbox/{HUGE_ID}/read",
    "/schedule/workdays/9999-12-31/delete", "/schedule/workdays/0001-01-01/delete",
])
async def test_posts_to_ids_past_any_row_are_404_and_change_nothing(
    signed_in: SignedIn, path: str
) -> None:
    admin = await signed_in("admin")
    before = await legal_rows(admin)
    status, page = await post(admin, path, {
        **GOOD_PROGRAMME, "date": "2026-12-04", "time": "14:00", "version": "0",
        "reason": "x", "other_session_id": "1", "unit_id": "1", "position_1": "1"})
    assert status == 404
    assert "未找到" in page
    after = await legal_rows(admin)
    assert [(r.id, r.starts_at, r.status, r.version) for r in after] == [
        (r.id, r.starts_at, r.status, r.version) for r in before]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1969-12-31", "2100-01-01"])
async def test_moving_a_session_outside_the_days_anybody_may_enter_is_a_field_error(
    signed_in: SignedIn, day: str
) -> None:
    host = await signed_in("host")
    target = (await legal_rows(host))[1]
    status, page = await post(host, f"/schedule/sessions/{target.id}/move",
                              {"date": day, "time": "09:30", "version": str(target.version)})
    assert status == 422
    errors = field_errors(page)
    assert sorted(errors) == ["date"]
    assert "1970-01-01" in errors["date"] and "2099-12-31" in errors["date"]
    assert f'value="{day}"' in page  # what was typed is kept
    [after] = [r for r in await legal_rows(host) if r.id == target.id]
    assert (after.starts_at, after.sequence, after.pinned, after.version) == (
        target.starts_at, target.sequence, target.pinned, target.version)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31"])
async def test_a_workday_entry_outside_1970_to_2099_is_refused(
    signed_in: SignedIn, day: str
) -> None:
    admin = await signed_in("admin")
    status, page = await post(admin, "/schedule/workdays", {
        "day": day, "kind": "holiday", "name": "远方的假日"})
    assert status == 422
    assert sorted(field_errors(page)) == ["day"]
    async with session_factory(admin.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(CalendarDay)) == 0


async def test_workday_entry_text_is_one_clean_line(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post(admin, "/schedule/workdays", {
        "day": "2026-12-10", "kind": "holiday", "name": "临时\u202e假日\x1b[31m\n",
        "source_notice": "青山\r\n街道\x00通知"})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        row = await db.get(CalendarDay, date(2026, 12, 10))
    assert row is not None
    assert (row.name, row.source_notice) == ("临时假日", "青山 街道通知")


@pytest.mark.parametrize(("day", "status"), [
    ("", 200), ("2026-11-23", 200), ("2099-12-31", 200), ("9999-12-31", 422),
    ("0001-01-01", 422), ("1969-12-31", 422), ("23/11/2026", 422),
])
async def test_attendance_days_are_bounded(signed_in: SignedIn, day: str, status: int) -> None:
    host = await signed_in("host")
    resp = await host.get(f"/rooms/street/attendance?day={day}")
    assert resp.status == status
