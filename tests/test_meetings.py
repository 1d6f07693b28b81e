"""Rooms that follow the schedule and the host: programme rooms, the open window, the
scheduler closing a live room, ad-hoc meetings, notices that link into the room, and
attendance per session with its exports."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.jobs import JobKind
from scheduling.occurrences import HolidayPolicy
from scheduling.planner import SessionStatus
from server.core.errors import NotFound
from server.core.jobs import JobRuntime
from server.core.keys import DATABASE, SETTINGS
from server.edge.room_socket import ON_DUTY
from server.meetings.registry import REGISTRY, WALL
from server.meetings.room_access import EveryoneOnDuty, RoomKind, resolve_room
from server.meetings.room_control import ROOM_CONTROL
from server.models import (
    Attendance,
    AuditEntry,
    Meeting,
    MeetingSite,
    Notification,
    Programme,
    ProgrammeSession,
    Question,
    QuestionCategory,
    QuestionStatus,
    RoomChatMessage,
    Site,
    UnitKind,
    User,
)
from server.schedule import session_jobs
from tests.conftest import CSRF_RE, AppFactory, MutableClock
from tests.support.loopback import TEST_WALL, loopback_ice, poll
from tests.test_rooms_app import RoomApp, handshake_status

__all__ = ["loopback_ice"]  # autouse: ICE on 127.0.0.1 only

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
LEGAL_START = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # the demo's first legal day, 09:30


async def add_programme_session(db: AsyncSession, room: str, *, kind: UnitKind,
                                start: datetime = START, minutes: int = 60) -> int:
    programme = Programme(
        street_id=1, name="街道工作例会", room=room, rrule="FREQ=WEEKLY;BYDAY=TU",
        start_date=start.date(), start_time=start.time(), duration_minutes=minutes,
        timezone="Asia/Shanghai", holiday_policy=HolidayPolicy.SKIP, unit_kind=kind,
        weeks_ahead=1, active=True, rotation_anchor=start.date(), created_at=start,
        updated_at=start)
    db.add(programme)
    await db.flush()
    row = ProgrammeSession(
        programme_id=programme.id, nominal_date=start.date(), starts_at=start,
        ends_at=start + timedelta(minutes=minutes), cutoff_at=start - timedelta(days=1),
        department_id=1 if kind is UnitKind.DEPARTMENT else None,
        deputy_id=1 if kind is UnitKind.DEPUTY else None,
        status=SessionStatus.PLANNED, created_at=start, updated_at=start)
    db.add(row)
    await db.flush()
    return row.id


# -- which rooms exist -------------------------------------------------------------------


async def test_a_programme_room_is_known_with_speakers_of_its_unit_kind(
        db_session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await resolve_room(db_session, "hall")
    await add_programme_session(db_session, "hall", kind=UnitKind.DEPARTMENT)
    await add_programme_session(db_session, "deputies-hall", kind=UnitKind.DEPUTY)
    hall = await resolve_room(db_session, "hall")
    assert (hall.id, hall.title, hall.kind, hall.speakers.value if hall.speakers else None) == (
        "hall", "街道工作例会", RoomKind.PROGRAMME, "officer")
    deputies = await resolve_room(db_session, "deputies-hall")
    assert deputies.speakers is not None and deputies.speakers.value == "deputy"
    # Fixed rooms keep their own table; a programme held in one does not change it.
    legal = await resolve_room(db_session, "legal")
    assert legal.kind is RoomKind.FIXED and legal.title == "Online legal consultation day"
    # An inactive programme's room is gone; a meeting's room only while the meeting exists.
    programme = await db_session.scalar(select(Programme).where(Programme.room == "hall"))
    assert programme is not None
    programme.active = False
    await db_session.flush()
    for unknown in ("hall", "meeting-1", "meeting-01", "meeting-x", "nowhere"):
        with pytest.raises(NotFound):
            await resolve_room(db_session, unknown)
    host = await db_session.scalar(select(User.id).where(User.username == "host"))
    assert host is not None
    meeting = Meeting(street_id=1, title="防汛会", started_by_id=host, started_at=START)
    db_session.add(meeting)
    await db_session.flush()
    meeting.room = f"meeting-{meeting.id}"
    await db_session.flush()
    room = await resolve_room(db_session, meeting.room)
    assert (room.kind, room.title, room.meeting_id, room.speakers) == (
        RoomKind.MEETING, "防汛会", meeting.id, None)


# -- entering a programme room ------------------------------------------------------------


Clients = Callable[..., Awaitable[TestClient]]


@SQLITE
async def test_outside_its_window_a_programme_room_refuses_sites_and_admits_the_host(
        app_factory: AppFactory, aiohttp_client: Clients, clock: MutableClock) -> None:
    app = app_factory()
    app[WALL] = TEST_WALL
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    async with app[DATABASE]() as db, db.begin():
        await add_programme_session(db, "hall", kind=UnitKind.DEPARTMENT)
    clock.now = START - timedelta(minutes=16)  # 09:44: opens at 09:45
    site = await room_app.signed_in("site01")
    host = await room_app.signed_in("host")
    refused = await site.get("/rooms/hall")
    assert refused.status == 403
    assert "会议室尚未开放，将于 11月24日（周二）09:45 开放" in await refused.text()
    bearer = {"Authorization": f"Bearer {await room_app.device_token('site01')}"}
    assert await handshake_status(room_app.http, "/rooms/hall/ws", bearer) == 403
    officer = await room_app.signed_in("court")
    assert (await officer.get("/rooms/hall")).status == 403
    assert (await host.get("/rooms/hall")).status == 200  # to prepare
    assert (await site.get("/rooms/street")).status == 200  # fixed rooms stay free
    clock.now = START - timedelta(minutes=15)
    assert (await site.get("/rooms/hall")).status == 200
    client = await room_app.participant("site01", room="hall")
    assert client.of_type("welcome")[0]["role"] == "site"
    await client.close()
    # The officer of the department on duty speaks in the programme's own room.
    court = await room_app.participant("court", room="hall")
    assert court.of_type("welcome")[0]["role"] == "speaker"
    police = await room_app.participant("police", room="hall")
    assert police.of_type("welcome")[0]["role"] == "observer"
    for c in (court, police):
        await c.close()
    clock.now = START + timedelta(minutes=75)  # the grace is over: closed until next week
    page = await site.get("/rooms/hall")
    assert page.status == 403
    assert "会议室未开放：没有安排场次" in await page.text()
    await poll(lambda: not app[REGISTRY].room_ids())


# -- the scheduler closes the room ---------------------------------------------------------


@SQLITE
async def test_the_room_close_job_dismisses_everyone(
        app_factory: AppFactory, aiohttp_client: Clients, clock: MutableClock,
        tmp_path: Path) -> None:
    app = app_factory()
    app[WALL] = TEST_WALL
    app[ON_DUTY] = EveryoneOnDuty()
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    async with app[DATABASE]() as db:
        first = await db.scalar(select(ProgrammeSession).where(
            ProgrammeSession.starts_at == LEGAL_START))
        assert first is not None
    runtime = JobRuntime(database=app[DATABASE], clock=clock, settings=app[SETTINGS],
                         rooms=lambda: app.get(ROOM_CONTROL))
    clock.now = LEGAL_START - timedelta(minutes=15)
    await session_jobs.run_kind(runtime, first.id, JobKind.ROOM_OPEN)
    host = await room_app.participant("host", room="legal")
    site = await room_app.participant("site01", room="legal")
    assert app[ROOM_CONTROL].is_live("legal")
    clock.now = LEGAL_START + timedelta(minutes=75)
    await session_jobs.run_kind(runtime, first.id, JobKind.ROOM_CLOSE)
    for client in (host, site):
        await asyncio.wait_for(client.closed_by_server.wait(), 5)
        assert client.last("removed") == {"type": "removed", "reason": "room-closed"}
    assert not app[ROOM_CONTROL].is_live("legal")
    async with app[DATABASE]() as db:
        row = await db.get(ProgrammeSession, first.id)
        assert row is not None
        assert (row.room_opened_at, row.room_closed_at) == (
            LEGAL_START - timedelta(minutes=15), LEGAL_START + timedelta(minutes=75))
        # The room-open notice links straight into the room.
        links = set(await db.scalars(select(Notification.link).where(
            Notification.dedupe_key == f"session:{first.id}:room_open")))
    assert links == {"/rooms/legal"}
    # Closing again (a re-run) finds nothing live and does no harm.
    await session_jobs.run_kind(runtime, first.id, JobKind.ROOM_CLOSE)


# -- ad-hoc meetings -----------------------------------------------------------------------


async def csrf(c: TestClient, path: str = "/rooms") -> str:
    match = CSRF_RE.search(await (await c.get(path)).text())
    assert match, path
    return match.group(1)


async def meeting_count(app_client: TestClient) -> tuple[int, int, int]:
    async with app_client.app[DATABASE]() as db:
        return (int(await db.scalar(select(func.count()).select_from(Meeting)) or 0),
                int(await db.scalar(select(func.count()).select_from(MeetingSite)) or 0),
                int(await db.scalar(select(func.count()).select_from(Notification).where(
                    Notification.kind == "meeting.called")) or 0))


async def site_ids(app_client: TestClient) -> list[int]:
    async with app_client.app[DATABASE]() as db:
        return list(await db.scalars(select(Site.id).order_by(Site.position, Site.id)))


async def test_bad_meeting_forms_change_nothing_and_only_the_office_may_call(
        signed_in: Callable[[str], Awaitable[TestClient]]) -> None:
    host = await signed_in("host")
    token = await csrf(host)
    sites = await site_ids(host)
    cases = [
        ({"title": "", "scope": "all"}, "title", "此项为必填项"),
        ({"title": "会" * 101, "scope": "all"}, "title", None),
        ({"title": "例会", "scope": "some"}, "site_ids", "请至少选择一个站点"),
        ({"title": "例会", "scope": "some", "site_ids": "abc"}, "site_ids", "请从列表中选择站点"),
        ({"title": "例会", "scope": "some", "site_ids": "99999"}, "site_ids", "请从列表中选择站点"),
        ({"title": "例会", "scope": "everyone"}, "scope", None),
    ]
    for data, field, text in cases:
        resp = await host.post("/meetings", data={"_csrf": token, **data},
                               allow_redirects=False)
        body = await resp.text()
        assert resp.status == 422, data
        assert f'data-field-error="{field}"' in body, data
        if text:
            assert text in body, data
    assert await meeting_count(host) == (0, 0, 0)
    # Without the CSRF token: refused, nothing recorded.
    resp = await host.post("/meetings", data={"title": "例会", "scope": "all"},
                           allow_redirects=False)
    assert resp.status == 403
    # A site, an officer, a deputy may not call a meeting.
    for username in ("site01", "court", "deputy1"):
        other = await signed_in(username)
        resp = await other.post("/meetings", data={
            "_csrf": await csrf(other, "/"), "title": "例会", "scope": "all"},
            allow_redirects=False)
        assert resp.status == 403, username
        assert (await other.get("/meetings/1")).status == 403
        # ... and sees no call form on the rooms page.
        assert 'action="/meetings"' not in await (await other.get("/rooms")).text()
    assert await meeting_count(host) == (0, 0, 0)
    assert len(sites) == 14


@SQLITE
async def test_a_meeting_calls_the_chosen_sites_and_its_end_closes_the_room(
        app_factory: AppFactory, aiohttp_client: Clients, clock: MutableClock) -> None:
    app = app_factory()
    app[WALL] = TEST_WALL
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    host = await room_app.signed_in("host")
    sites = await site_ids(host)
    chosen = sites[:2]
    resp = await host.post("/meetings", data=[
        ("_csrf", await csrf(host)), ("title", "防汛紧急部署会"), ("scope", "some"),
        *[("site_ids", str(i)) for i in chosen]], allow_redirects=False)
    assert resp.status == 303, await resp.text()
    meeting_path = resp.headers["Location"]
    async with app[DATABASE]() as db:
        meeting = await db.scalar(select(Meeting))
        assert meeting is not None
        called = list(await db.scalars(select(MeetingSite.site_id).order_by(MeetingSite.site_id)))
        notices = list(await db.scalars(select(Notification).where(
            Notification.kind == "meeting.called")))
        recipients = {u.site_id for u in await db.scalars(select(User).where(
            User.id.in_([n.recipient_id for n in notices])))}
        audit = await db.scalar(select(AuditEntry.action).where(
            AuditEntry.target_type == "meeting"))
    assert meeting_path == f"/meetings/{meeting.id}"
    assert (meeting.title, meeting.room, meeting.started_at, meeting.ended_at) == (
        "防汛紧急部署会", f"meeting-{meeting.id}", clock.now, None)
    assert called == chosen
    assert recipients == set(chosen)
    assert {n.link for n in notices} == {f"/rooms/meeting-{meeting.id}"}
    assert audit == "meeting.start"
    # A called site comes in; a site the meeting did not call is refused.
    uncalled = await room_app.signed_in("site03")
    refused = await uncalled.get(f"/rooms/{meeting.room}")
    assert refused.status == 403 and "本次会议没有召集您的站点" in await refused.text()
    clock.advance(minutes=2)
    first_site = await room_app.participant("site01", room=meeting.room)
    host_in_room = await room_app.participant("host", room=meeting.room)
    page = ""
    async with asyncio.timeout(10):  # the hooks write the attendance in the background
        for _ in range(200):
            page = await (await host.get(meeting_path)).text()
            if f'data-site="{chosen[0]}" data-came="true"' in page:
                break
            await asyncio.sleep(0.05)
    assert f'data-site="{chosen[0]}" data-came="true"' in page
    attendance = await (await host.get(f"{meeting_path}/attendance")).text()
    assert 'data-total="site:' in attendance and "仍在会议室" in attendance  # open stays
    assert (await host.get(f"{meeting_path}/attendance.csv")).status == 200
    assert f'data-site="{chosen[1]}" data-came="false"' in page
    clock.advance(minutes=10)
    resp = await host.post(f"{meeting_path}/end", data={"_csrf": await csrf(host, meeting_path)},
                           allow_redirects=False)
    assert resp.status == 303
    for client in (first_site, host_in_room):
        await asyncio.wait_for(client.closed_by_server.wait(), 5)
        assert client.last("removed") == {"type": "removed", "reason": "room-closed"}
    async with app[DATABASE]() as db:
        ended = await db.get(Meeting, meeting.id)
        assert ended is not None and ended.ended_at == clock.now
    # Nobody enters an ended meeting's room; ending twice is a conflict.
    site = await room_app.signed_in("site01")
    refused = await site.get(f"/rooms/{meeting.room}")
    assert refused.status == 403 and "该会议已结束" in await refused.text()
    again = await host.post(f"{meeting_path}/end",
                            data={"_csrf": await csrf(host, meeting_path)},
                            allow_redirects=False)
    assert again.status == 409
    await poll(lambda: not app[REGISTRY].room_ids())


# -- attendance per session ----------------------------------------------------------------


async def csv_download(client: TestClient, path: str, named: str = "") -> list[list[str]]:
    """A CSV export's rows: served as an attachment (named so), UTF-8 with its BOM."""
    resp = await client.get(path)
    assert resp.status == 200 and resp.content_type == "text/csv"
    disposition = resp.headers["Content-Disposition"]
    assert "attachment" in disposition and named in disposition
    body = await resp.read()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_attendance_of_a_session_counts_stays_within_its_window_and_exports(
        signed_in: Callable[[str], Awaitable[TestClient]]) -> None:
    host = await signed_in("host")
    app = host.app
    at = LEGAL_START  # 09:30; the room is open 09:15-10:45

    def stay(key: str, name: str, role: str, start: int, end: int, site: int | None) -> Attendance:
        return Attendance(room="legal", participant_key=key, display_name=name, role=role,
                          site_id=site, user_id=None, joined_at=at + timedelta(minutes=start),
                          left_at=at + timedelta(minutes=end), seconds=(end - start) * 60)

    async with app[DATABASE]() as db, db.begin():
        session = await db.scalar(select(ProgrammeSession).where(
            ProgrammeSession.starts_at == at))
        assert session is not None
        site = await db.scalar(select(Site).where(Site.code == "site01"))
        assert site is not None
        db.add_all([
            stay("site:1", "东坡村", "site", -30, 10, site.id),  # came before the opening
            stay("site:1", "东坡村", "site", 20, 50, site.id),  # back after 10 minutes away
            stay("user:2", "街道会议主持人", "host", 70, 90, None),  # past the closing
            stay("site:2", "西岭村", "site", -120, -90, None),  # another morning's stay
        ])
    page = await host.get(f"/schedule/sessions/{session.id}/attendance")
    text = await page.text()
    assert page.status == 200
    assert 'data-total="site:1" data-seconds="3300"' in text  # 25 + 30 minutes
    assert 'data-total="user:2" data-seconds="300"' in text  # 10:40-10:45
    assert "site:2" not in text
    assert "东坡村 合计，中断 1 次" in text
    assert f'href="/schedule/sessions/{session.id}/attendance"' in await (
        await host.get(f"/schedule/sessions/{session.id}")).text()

    rows = await csv_download(host, f"/schedule/sessions/{session.id}/attendance.csv")
    assert rows == [
        ["名称", "角色", "第几次", "进入", "离开时间", "分钟", "此前离开（分钟）"],
        ["东坡村", "站点", "1", "2026-11-26 09:15:00", "2026-11-26 09:40:00", "25.0", ""],
        ["东坡村", "站点", "2", "2026-11-26 09:50:00", "2026-11-26 10:20:00", "30.0", "10.0"],
        ["街道会议主持人", "主持人", "1", "2026-11-26 10:40:00", "2026-11-26 10:45:00", "5.0",
         ""],
    ]

    resp = await host.get(f"/schedule/sessions/{session.id}/attendance.xlsx")
    assert resp.status == 200
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert values[0] == ["名称", "角色", "第几次", "进入", "离开时间", "分钟", "此前离开（分钟）"]
    assert values[1:] == [
        ["东坡村", "站点", 1, "2026-11-26 09:15:00", "2026-11-26 09:40:00", 25, None],
        ["东坡村", "站点", 2, "2026-11-26 09:50:00", "2026-11-26 10:20:00", 30, 10],
        ["街道会议主持人", "主持人", 1, "2026-11-26 10:40:00", "2026-11-26 10:45:00", 5, None],
    ]
    assert "线上法律咨询服务日" in str(sheet["A1"].value)
    assert "2026-11-26 09:15:00" in str(sheet["A2"].value)

    # Sites and officers may not read it; an unknown session is 404.
    for username in ("site01", "court"):
        other = await signed_in(username)
        for suffix in ("", ".csv", ".xlsx"):
            resp = await other.get(f"/schedule/sessions/{session.id}/attendance{suffix}")
            assert resp.status == 403, (username, suffix)
    assert (await host.get("/schedule/sessions/999999/attendance.csv")).status == 404


# -- chat per session and per meeting -------------------------------------------------------


async def test_the_chat_of_a_session_and_of_a_meeting_is_read_back_and_exported(
        signed_in: Callable[[str], Awaitable[TestClient]]) -> None:
    host = await signed_in("host")
    app = host.app
    at = LEGAL_START  # 09:30; the legal room is open 09:15-10:45

    def line(key: str, room: str, minute: int, text: str, *, audience: str = "all",
             deleted: bool = False, name: str = "东坡村", role: str = "site",
             question: int | None = None) -> RoomChatMessage:
        sent = at + timedelta(minutes=minute)
        return RoomChatMessage(
            message_key=key, room=room, session_id=None, participant_key="site:1",
            user_id=None, site_id=None, display_name=name, role=role, audience=audience,
            text=text, sent_at=sent, deleted_at=sent + timedelta(minutes=1) if deleted else None,
            deleted_by_key="user:2" if deleted else None, question_id=question)

    async with app[DATABASE]() as db, db.begin():
        session = await db.scalar(select(ProgrammeSession).where(
            ProgrammeSession.starts_at == at))
        assert session is not None
        site = await db.scalar(select(Site).where(Site.code == "site01"))
        category = await db.scalar(select(QuestionCategory.id).limit(1))
        assert site is not None and category is not None
        asked = Question(session_id=session.id, site_id=site.id, category_id=category,
                         text="宅基地纠纷怎么办？", submitted_at=at, raised_live=True,
                         status=QuestionStatus.QUEUED, changed_at=at, updated_at=at)
        db.add(asked)
        await db.flush()
        question = asked.id
        host_id = await db.scalar(select(User.id).where(User.username == "host"))
        assert host_id is not None
        meeting = Meeting(street_id=1, title="防汛紧急部署会", started_by_id=host_id,
                          started_at=at + timedelta(hours=3), ended_by_id=host_id,
                          ended_at=at + timedelta(hours=4))
        db.add(meeting)
        await db.flush()
        meeting.room = f"meeting-{meeting.id}"
        db.add_all([
            line("a1", "legal", -10, "麦克风好像没声音"),  # after the opening at 09:15
            line("a2", "legal", 5, "=HYPERLINK(\"http://x\")", audience="hosts"),
            line("a3", "legal", 10, "我家住址是……", deleted=True),
            line("a4", "legal", 30, "宅基地纠纷怎么办？", question=question),
            line("b1", "legal", -60, "昨天的消息"),  # before the window
            line("b2", "street", 0, "另一个房间"),
            line("c1", meeting.room, 200, "收到，马上组织"),
            line("c2", meeting.room, 300, "会后的消息"),  # after the meeting ended
        ])
        await db.flush()
        meeting_id = meeting.id

    page = await host.get(f"/schedule/sessions/{session.id}/chat")
    text = await page.text()
    assert page.status == 200
    keys = re.findall(r'data-key="(\w+)"', text)
    assert keys == ["a1", "a2", "a3", "a4"]
    assert 'data-audience="hosts"' in text and "仅主持人" in text
    assert "我家住址" not in text and "已由主持人于" in text  # deleted: its text is gone
    assert f'href="/legal/questions/{question}"' in text
    assert f'href="/schedule/sessions/{session.id}/chat"' in await (
        await host.get(f"/schedule/sessions/{session.id}")).text()

    rows = await csv_download(host, f"/schedule/sessions/{session.id}/chat.csv", "chat-legal-")
    assert rows[0] == ["时间", "名称", "角色", "发给", "消息", "删除时间", "问题"]
    assert [r[4] for r in rows[1:]] == [
        "麦克风好像没声音", "'=HYPERLINK(\"http://x\")", "", "宅基地纠纷怎么办？"]  # inert
    assert rows[3][5] == "2026-11-26 09:41:00" and rows[4][6] == str(question)
    assert rows[2][3] == "仅主持人" and rows[1][0] == "2026-11-26 09:20:00"

    meeting_page = await host.get(f"/meetings/{meeting_id}/chat")
    assert re.findall(r'data-key="(\w+)"', await meeting_page.text()) == ["c1"]
    assert len(await csv_download(host, f"/meetings/{meeting_id}/chat.csv")) == 2

    for username in ("site01", "court"):
        other = await signed_in(username)
        for path in (f"/schedule/sessions/{session.id}/chat",
                     f"/meetings/{meeting_id}/chat.csv"):
            assert (await other.get(path)).status == 403, (username, path)
    assert (await host.get("/schedule/sessions/999999/chat")).status == 404
    assert (await host.get("/meetings/999999/chat.csv")).status == 404


async def test_a_programme_may_not_take_a_meeting_room_code() -> None:
    from server.core.errors import ValidationFailed
    from server.schedule.programmes import ProgrammeCommand

    with pytest.raises(ValidationFailed) as refused:
        ProgrammeCommand.from_fields({"name": "例会", "room": "meeting-3"})
    assert refused.value.field_errors["room"] == (
        "Room codes starting with 'meeting-' belong to ad-hoc meetings.")
