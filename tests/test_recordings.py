"""Recordings to watch: the file with range requests, who may watch what, the event list,
"watch this answer" links, the catalogue (on stop and at start-up), retention and its
setting."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from rooms import RecordingSaved
from server.app import job_table
from server.core import jobs
from server.core.db import session_factory
from server.core.keys import DATABASE as DATABASE_KEY
from server.core.keys import ENGINE, SETTINGS
from server.meetings.attendance import AttendanceHooks
from server.models import (
    Attendance,
    AuditEntry,
    Meeting,
    MeetingSite,
    Outcome,
    Programme,
    Question,
    QuestionStatus,
    Recording,
    RecordingMark,
    RecordingPolicy,
    Site,
    User,
)
from server.recordings import retention
from server.recordings.catalogue import scan
from server.recordings.hooks import RecordingHooks
from tests.conftest import CSRF_RE, AppFactory, MutableClock, login
from tests.question_helpers import ask, duty_station_session, legal_sessions
from tests.recording_helpers import floor, make_webm, marker, place

SignedIn = Callable[[str], Awaitable[TestClient]]
ROLES = ("admin", "host", "court", "procuratorate", "deputy1", "site01", "site02")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_webm(tmp_path_factory.mktemp("sample"))


class Scene:
    """One recording of the court's legal session, with site01 in the room and its
    answered question marked."""

    def __init__(self, app: web.Application, recording_id: int, question_id: int,
                 site01: int, media: Path) -> None:
        self.app, self.recording_id, self.question_id = app, recording_id, question_id
        self.site01, self.media = site01, media


async def scene(app: web.Application, sample: Path, clock: MutableClock) -> Scene:
    directory = app[SETTINGS].recordings_dir
    async with session_factory(app[ENGINE])() as db, db.begin():
        session = (await legal_sessions(db))[0]  # the court's
        site01 = await db.scalar(select(Site.id).where(Site.code == "site01"))
        assert site01 is not None
        submitted = await ask(db, clock, "site01", session=session.id)
        question = await db.get(Question, submitted.question_id)
        assert question is not None
        question.status, question.outcome = QuestionStatus.ANSWERED, Outcome.LIVE
        question.answer_summary, question.answered_at = "由侵权人赔偿。", clock.now
        started = session.starts_at + timedelta(minutes=2)
        db.add(Attendance(room="legal", participant_key=f"site:{site01}", user_id=None,
                          site_id=site01, display_name="东坡村", role="site",
                          joined_at=session.starts_at, left_at=started + timedelta(hours=1),
                          seconds=3600))
        media, _ = place(sample, directory, "legal", started, [
            floor(1.0, f"site:{site01}"),
            marker(2.0, "now-answering", session=session.id, question=question.id,
                   site=site01),
            marker(4.5, "question-answered", session=session.id, question=question.id,
                   site=site01, outcome="live"),
            marker(5.0, "调解建议已记录"),
        ])
        (row,) = await scan(db, directory, clock=clock)
        return Scene(app, row.id, question.id, site01, media)


async def clients(signed_in: SignedIn) -> dict[str, TestClient]:
    return {name: await signed_in(name) for name in ROLES}


# -- the file -------------------------------------------------------------------------

async def test_the_file_answers_range_requests(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    s = await scene(host.server.app, sample, clock)
    data = s.media.read_bytes()
    url = f"/recordings/{s.recording_id}/video"

    whole = await host.get(url)
    assert whole.status == 200
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert await whole.read() == data

    part = await host.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert part.headers["Content-Type"] == "video/webm"
    assert await part.read() == data[100:1100]

    tail = await host.get(url, headers={"Range": "bytes=-500"})
    assert tail.status == 206 and await tail.read() == data[-500:]

    beyond = await host.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"

    head = await host.head(url)
    assert head.status == 200 and head.headers["Content-Length"] == str(len(data))
    assert await head.read() == b""

    # If-Range: the same file version gets the range, another one the whole file.
    etag = whole.headers["ETag"]
    same = await host.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status == 206 and await same.read() == data[:10]
    changed = await host.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert changed.status == 200 and await changed.read() == data


async def test_the_file_is_found_by_id_only(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    s = await scene(host.server.app, sample, clock)
    for path in ("/recordings/999999/video", "/recordings/..%2F..%2Fetc%2Fpasswd/video",
                 "/recordings/99999999999999999999/video", "/recordings/1%2F..%2F1/video"):
        resp = await host.get(path)
        assert resp.status == 404, path
    s.media.unlink()  # the row without its file
    assert (await host.get(f"/recordings/{s.recording_id}/video")).status == 404


# -- who may watch -------------------------------------------------------------------

async def test_each_role_sees_what_the_rule_says(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    people = await clients(signed_in)
    s = await scene(people["admin"].server.app, sample, clock)
    may = {"admin": True, "host": True, "court": True,  # on duty for this session
           "procuratorate": False, "deputy1": False,  # not theirs
           "site01": True, "site02": False}  # site01 was in the room, site02 was not
    for name, c in people.items():
        page = await c.get(f"/recordings/{s.recording_id}")
        video = await c.get(f"/recordings/{s.recording_id}/video",
                            headers={"Range": "bytes=0-3"})
        listing = await (await c.get("/recordings")).text()
        in_room_list = await (await c.get("/rooms/legal/recordings")).text()
        expected = (200, 206) if may[name] else (403, 403)
        assert (page.status, video.status) == expected, name
        linked = f'href="/recordings/{s.recording_id}"'
        assert (linked in listing, linked in in_room_list) == (may[name], may[name]), name
        assert (await c.get("/recordings/999999")).status == 404, name
        assert (await c.get("/recordings/999999/video")).status == 404, name
    anonymous = await aiohttp_client(people["admin"].server)
    resp = await anonymous.get(f"/recordings/{s.recording_id}/video")
    assert resp.status == 401
    resp = await anonymous.get(f"/recordings/{s.recording_id}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login?")


async def test_a_site_sees_the_sessions_it_sent_questions_to(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    site02 = await signed_in("site02")
    s = await scene(site02.server.app, sample, clock)
    assert (await site02.get(f"/recordings/{s.recording_id}")).status == 403
    async with session_factory(s.app[ENGINE])() as db, db.begin():
        recording = await db.get(Recording, s.recording_id)
        assert recording is not None and recording.session_id is not None
        await ask(db, clock, "site02", session=recording.session_id)
    assert (await site02.get(f"/recordings/{s.recording_id}")).status == 200


async def test_a_site_sees_the_meetings_it_was_called_to(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    site02 = await signed_in("site02")
    app = site02.server.app
    directory = app[SETTINGS].recordings_dir
    async with session_factory(app[ENGINE])() as db, db.begin():
        host = await db.scalar(select(User.id).where(User.username == "host"))
        street = await db.scalar(select(Site.street_id).where(Site.code == "site02"))
        site02_id = await db.scalar(select(Site.id).where(Site.code == "site02"))
        site01_id = await db.scalar(select(Site.id).where(Site.code == "site01"))
        assert host is not None and street is not None and site02_id and site01_id
        started = clock.now - timedelta(hours=2)
        called = Meeting(street_id=street, title="防汛部署", started_by_id=host,
                         started_at=started, ended_at=started + timedelta(hours=1))
        other = Meeting(street_id=street, title="另一次会", started_by_id=host,
                        started_at=started, ended_at=started + timedelta(hours=1))
        db.add_all([called, other])
        await db.flush()
        called.room, other.room = f"meeting-{called.id}", f"meeting-{other.id}"
        db.add_all([MeetingSite(meeting_id=called.id, site_id=site02_id, called_at=started),
                    MeetingSite(meeting_id=other.id, site_id=site01_id, called_at=started)])
        place(sample, directory, called.room, started + timedelta(minutes=1), [])
        place(sample, directory, other.room, started + timedelta(minutes=1), [])
        rows = {row.room: row.id for row in await scan(db, directory, clock=clock)}
    # Called but never came in: still its meeting's recording; not the other meeting's.
    assert (await site02.get(f"/recordings/{rows[called.room]}")).status == 200
    assert (await site02.get(f"/recordings/{rows[other.room]}")).status == 403


async def test_per_session_and_per_room_lists(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    s = await scene(host.server.app, sample, clock)
    async with session_factory(s.app[ENGINE])() as db:
        recording = await db.get(Recording, s.recording_id)
        assert recording is not None and recording.session_id is not None
        other = (await legal_sessions(db))[1].id
    linked = f'href="/recordings/{s.recording_id}"'
    session_page = await host.get(f"/schedule/sessions/{recording.session_id}/recordings")
    assert session_page.status == 200 and linked in await session_page.text()
    assert linked not in await (await host.get(f"/schedule/sessions/{other}/recordings")).text()
    assert linked not in await (await host.get("/rooms/street/recordings")).text()
    assert (await host.get("/rooms/nowhere/recordings")).status == 404
    assert (await host.get("/schedule/sessions/999999/recordings")).status == 404


# -- the page -------------------------------------------------------------------------

def entries(page: str) -> list[tuple[str, str]]:
    """(data-offset, text) of each entry of the event list."""
    found = re.findall(r'data-offset="([^"]+)"><span class="offset">[^<]*</span> ([^<]*)</button>',
                       page)
    return [(offset, text.strip()) for offset, text in found]


async def test_the_page_lists_the_events_and_starts_where_asked(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    s = await scene(host.server.app, sample, clock)
    page = await (await host.get(f"/recordings/{s.recording_id}")).text()
    q = s.question_id
    assert entries(page) == [("1.0", "发言权交给 东坡村"), ("2.0", f"正在解答问题 #{q}"),
                             ("4.5", f"问题 #{q} 已解答"), ("5.0", "调解建议已记录")]
    assert f'src="/recordings/{s.recording_id}/video"' in page
    assert 'data-start="0.0"' in page
    assert "js/recording.js" in page
    later = await (await host.get(f"/recordings/{s.recording_id}?t=4.5")).text()
    assert 'data-start="4.5"' in later
    clamped = await (await host.get(f"/recordings/{s.recording_id}?t=600")).text()
    assert 'data-start="6.0"' in clamped  # no further than the end
    for bad in ("-1", "abc", "nan", "inf", "1e400", "9" * 40):
        resp = await host.get(f"/recordings/{s.recording_id}", params={"t": bad})
        assert resp.status == 422, bad
        assert "请以秒为单位" in await resp.text()


async def test_watch_this_answer_links(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    site01, site02 = await signed_in("site01"), await signed_in("site02")
    host = await signed_in("host")
    s = await scene(host.server.app, sample, clock)
    link = f'href="/recordings/{s.recording_id}?t=2.0" data-testid="watch-answer"'
    for c in (site01, host):
        detail = await (await c.get(f"/legal/questions/{s.question_id}")).text()
        assert link in detail  # the start of the answer ("now answering")
    board = await (await site01.get("/legal/board")).text()
    assert link in board
    # Another site's board has no question of site01's; its own has no link.
    assert "watch-answer" not in await (await site02.get("/legal/board")).text()
    # Without "now answering", the link goes to where it was marked answered.
    async with session_factory(s.app[ENGINE])() as db, db.begin():
        mark = await db.scalar(select(RecordingMark).where(
            RecordingMark.question_id == s.question_id, RecordingMark.label == "now-answering"))
        assert mark is not None
        await db.delete(mark)
    detail = await (await host.get(f"/legal/questions/{s.question_id}")).text()
    assert f'href="/recordings/{s.recording_id}?t=4.5" data-testid="watch-answer"' in detail
    # A deleted recording gives no link.
    async with session_factory(s.app[ENGINE])() as db, db.begin():
        recording = await db.get(Recording, s.recording_id)
        assert recording is not None
        recording.deleted_at = clock.now
    assert "watch-answer" not in await (await host.get(f"/legal/questions/{s.question_id}")).text()
    assert (await host.get(f"/recordings/{s.recording_id}")).status == 404


# -- the catalogue ---------------------------------------------------------------------

async def test_a_stopped_recording_is_listed_with_its_session_and_marks(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    app = host.server.app
    directory = app[SETTINGS].recordings_dir
    async with session_factory(app[ENGINE])() as db, db.begin():
        session = (await legal_sessions(db))[0]
        submitted = await ask(db, clock, "site01", session=session.id)
        started = session.starts_at + timedelta(minutes=5)
    media, index = place(sample, directory, "legal", started, [
        marker(3.25, "question-answered", question=submitted.question_id),
        marker(3.5, "question-answered", question=99999)])  # no such question: skipped
    hooks = RecordingHooks(AttendanceHooks(app[DATABASE_KEY]), app[DATABASE_KEY], directory,
                           clock=clock)
    event = RecordingSaved(at=clock.now, file=media.name, index_file=index.name,
                           started_at=started, duration=6.0)
    await hooks.on_event("legal", event)
    await hooks.on_event("legal", event)  # told twice: still one row
    async with session_factory(app[ENGINE])() as db:
        (row,) = list(await db.scalars(select(Recording)))
        assert (row.room, row.file, row.index_file, row.started_at, row.duration_s,
                row.session_id, row.recovered, row.deleted_at) == (
            "legal", media.name, index.name, started, 6.0, session.id, False, None)
        marks = [(m.question_id, m.label, m.offset_s)
                 for m in await db.scalars(select(RecordingMark))]
        assert marks == [(submitted.question_id, "question-answered", 3.25)]
    # A recording of the street room in the same hour belongs to no legal session.
    media2, index2 = place(sample, directory, "street", started, [])
    await hooks.on_event("street", RecordingSaved(
        at=clock.now, file=media2.name, index_file=index2.name, started_at=started,
        duration=6.0))
    async with session_factory(app[ENGINE])() as db:
        street = await db.scalar(select(Recording).where(Recording.room == "street"))
        assert street is not None and street.session_id is None


async def test_recordings_on_disk_are_listed_at_start_up(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    sample: Path, clock: MutableClock, tmp_path: Path,
) -> None:
    directory = tmp_path / "var" / "recordings"
    started = datetime(2026, 11, 20, 2, 0).astimezone()
    place(sample, directory, "street", started, [], recovered=True)
    (directory / "notes.json").write_text("[1, 2]", encoding="utf-8")  # not an index
    (directory / "street-orphan.json").write_text(
        '{"room_id": "street", "file": "gone.webm", "started_at": "2026-11-20T02:00:00+00:00"}',
        encoding="utf-8")  # an index without its file
    c = await aiohttp_client(app_factory())
    await login(c, "host")
    async with session_factory(c.app[ENGINE])() as db:
        (row,) = list(await db.scalars(select(Recording)))
    assert (row.room, row.recovered, row.started_at) == ("street", True, started)
    page = await (await c.get(f"/recordings/{row.id}")).text()
    assert "服务器在录制过程中停止" in page


# -- retention ---------------------------------------------------------------------------

async def retention_audits(app: web.Application) -> list[dict[str, object]]:
    async with session_factory(app[ENGINE])() as db:
        rows = await db.scalars(select(AuditEntry).where(
            AuditEntry.action == retention.AUDIT_DELETED).order_by(AuditEntry.id))
        return [{"target": entry.target_id, **dict(entry.changes)} for entry in rows]


async def test_expired_recordings_are_deleted_and_logged(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    app = host.server.app
    directory = app[SETTINGS].recordings_dir
    now = clock.now
    old_media, old_index = place(sample, directory, "street", now - timedelta(days=31), [])
    gone_media, gone_index = place(sample, directory, "street", now - timedelta(days=40), [])
    fresh_media, fresh_index = place(sample, directory, "street", now - timedelta(days=29), [])
    async with session_factory(app[ENGINE])() as db, db.begin():
        db.add(RecordingPolicy(id=1, keep_days=30, updated_at=now, updated_by_id=None))
        await scan(db, directory, clock=clock)
    gone_media.unlink()  # already gone (deleted by hand): tolerated
    gone_index.unlink()
    job = job_table(app[SETTINGS]).daily_job("daily:recordings")
    assert job is not None and job.handler is retention.run and job.spec.at == time(3, 30)
    await jobs.run_daily_job("daily:recordings")  # what APScheduler calls at 03:30
    assert not old_media.exists() and not old_index.exists()
    assert fresh_media.exists() and fresh_index.exists()
    async with session_factory(app[ENGINE])() as db:
        by_file = {r.file: r for r in await db.scalars(select(Recording))}
    assert by_file[old_media.name].deleted_at == now
    assert by_file[gone_media.name].deleted_at == now
    assert by_file[fresh_media.name].deleted_at is None
    logged = await retention_audits(app)
    assert [(e["target"], e["file"], e["file_missing"], e["keep_days"]) for e in logged] == [
        (str(by_file[gone_media.name].id), [gone_media.name, None], True, 30),
        (str(by_file[old_media.name].id), [old_media.name, None], False, 30)]
    await jobs.run_daily_job("daily:recordings")  # again: nothing more to do
    assert len(await retention_audits(app)) == 2
    assert (await host.get(f"/recordings/{by_file[old_media.name].id}")).status == 404
    assert (await host.get(f"/recordings/{by_file[fresh_media.name].id}")).status == 200


async def post_days(c: TestClient, value: str) -> tuple[int, str]:
    page = await (await c.get("/admin/recordings")).text()
    token = CSRF_RE.search(page)
    assert token
    resp = await c.post("/admin/recordings", data={"keep_days": value, "_csrf": token.group(1)},
                        allow_redirects=False)
    return resp.status, await resp.text()


async def test_the_administrator_sets_how_long_recordings_are_kept(
    signed_in: SignedIn,
) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/admin/recordings")).text()
    assert f'value="{retention.DEFAULT_KEEP_DAYS}"' in page
    for bad, message in (("", "请输入整数"), ("abc", "请输入整数"), ("1.5", "请输入整数"),
                         ("0", "请输入 1 到 3650 之间的天数"),
                         ("3651", "请输入 1 到 3650 之间的天数"),
                         ("-3", "请输入 1 到 3650 之间的天数")):
        status, body = await post_days(admin, bad)
        assert status == 422, bad
        assert message in body and 'data-field-error="keep_days"' in body, bad
    async with session_factory(admin.server.app[ENGINE])() as db:
        assert await db.get(RecordingPolicy, 1) is None  # nothing changed
    status, _ = await post_days(admin, "90")
    assert status == 303
    assert 'value="90"' in await (await admin.get("/admin/recordings")).text()
    async with session_factory(admin.server.app[ENGINE])() as db:
        policy = await db.get(RecordingPolicy, 1)
        assert policy is not None and policy.keep_days == 90
        entry = await db.scalar(select(AuditEntry).where(
            AuditEntry.action == retention.AUDIT_POLICY))
        assert entry is not None and entry.changes == {
            "keep_days": [retention.DEFAULT_KEEP_DAYS, 90]}
    host = await signed_in("host")
    assert (await host.get("/admin/recordings")).status == 403


async def test_a_deputy_sees_its_own_duty_station_sessions(
    signed_in: SignedIn, sample: Path, clock: MutableClock,
) -> None:
    host = await signed_in("host")
    app = host.server.app
    directory = app[SETTINGS].recordings_dir
    async with session_factory(app[ENGINE])() as db, db.begin():
        session = await duty_station_session(db)
        programme = await db.get(Programme, session.programme_id)
        deputy = await db.scalar(select(User.username).where(User.deputy_id == session.deputy_id))
        other = await db.scalar(select(User.username).where(
            User.deputy_id.is_not(None), User.deputy_id != session.deputy_id))
        assert programme is not None and deputy is not None and other is not None
        place(sample, directory, programme.room, session.starts_at + timedelta(minutes=1), [])
        (row,) = await scan(db, directory, clock=clock)
        assert row.session_id == session.id
    for username, status in ((deputy, 200), (other, 403), ("court", 403), ("site01", 403)):
        c = await signed_in(username)
        assert (await c.get(f"/recordings/{row.id}")).status == status, username
