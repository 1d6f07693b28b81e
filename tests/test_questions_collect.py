"""Collecting questions: sites and the host submit before the cutoff, late questions move
to the next session, files are checked and served only to those who may see them, and
every bad input is refused with a clear error."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.planner import SessionStatus
from server.core.db import session_factory
from server.core.errors import Forbidden, NotFound, ValidationFailed
from server.core.keys import ENGINE, SETTINGS
from server.legal.files import FileUpload, check, clean_name
from server.models import (
    AuditEntry,
    ProgrammeSession,
    Question,
    QuestionAttachment,
    QuestionStatus,
)
from tests.conftest import AppFactory, MutableClock, login
from tests.opinion_helpers import JPEG
from tests.question_helpers import (
    FALLING,
    PDF,
    PNG,
    SignedIn,
    ask,
    duty_station_session,
    field_errors,
    known,
    legal_sessions,
    new_question,
    post,
    submit_page,
)


async def test_site_submits_with_files_and_readers_see_them(signed_in: SignedIn) -> None:
    site01, site02, host = await signed_in("site01"), await signed_in("site02"), \
        await signed_in("host")
    court, police = await signed_in("court"), await signed_in("police")
    ids = await known(site01)
    status, page, location = await post(site01, "/legal/questions/new", {
        "session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
        "resident_name": "王阿姨", "contact": "13800001111"},
        [("car.png", PNG, "image/png"), ("letter.pdf", PDF, "application/pdf")])
    assert status == 303, page
    question_id = int(location.rsplit("/", 1)[1])
    page = await (await site01.get(location)).text()
    assert FALLING in page
    assert 'data-testid="question-contact">13800001111<' in page
    assert 'data-testid="moved-notice"' not in page
    files = re.findall(r'href="/legal/files/(\d+)"', page)
    assert len(set(files)) == 2
    async with session_factory(site01.app[ENGINE])() as db:
        stored = await db.get(Question, question_id)
        assert stored is not None
        assert (stored.session_id, stored.site_id, stored.status, stored.position,
                stored.requested_session_id) == (ids["s1"], ids["site01"],
                                                 QuestionStatus.QUEUED, 1, None)
        rows = list(await db.scalars(select(QuestionAttachment).order_by(QuestionAttachment.id)))
    assert [(r.content_type, r.filename, r.size) for r in rows] == [
        ("image/png", "car.png", len(PNG)), ("application/pdf", "letter.pdf", len(PDF))]
    uploads = site01.app[SETTINGS].uploads_dir
    assert (uploads / rows[1].sha256[:2] / rows[1].sha256).read_bytes() == PDF
    # The site, the street office and the department on duty (the court) get the files.
    for reader in (site01, host, court):
        resp = await reader.get(f"/legal/files/{rows[1].id}")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.read() == PDF
    # Another site and a department not on duty: neither the question nor its files exist.
    for outsider in (site02, police):
        assert (await outsider.get(f"/legal/files/{rows[0].id}")).status == 404
        assert (await outsider.get(f"/legal/questions/{question_id}")).status == 404
    deputy = await signed_in("deputy1")
    assert (await deputy.get(f"/legal/files/{rows[0].id}")).status == 403


async def test_other_sites_see_the_queue_without_contact(signed_in: SignedIn) -> None:
    site01, site02 = await signed_in("site01"), await signed_in("site02")
    question_id = await new_question(site01)
    ids = await known(site01)
    resp = await site02.get(f"/legal/sessions/{ids['s1']}/queue.json")
    assert resp.status == 200
    body = await resp.text()
    assert "13800001111" not in body
    payload = await resp.json()
    [item] = payload["queued"]
    assert (item["id"], item["text"], item["own"], item["url"], item["resident"]) == (
        question_id, FALLING, False, None, None)  # another site's resident: no name
    assert "王阿姨" not in body
    own = await (await site01.get(f"/legal/sessions/{ids['s1']}/queue.json")).json()
    assert (own["queued"][0]["own"], own["queued"][0]["url"]) == (
        True, f"/legal/questions/{question_id}")
    # Its own question list shows a site nothing of other sites.
    assert f'data-question="{question_id}"' not in await (
        await site02.get("/legal/questions")).text()


async def test_question_after_the_cutoff_goes_to_the_next_session(
        signed_in: SignedIn, clock: MutableClock) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    clock.advance(days=2, minutes=1)  # Wednesday 09:31: the court's session closed at 09:30
    await login(site01, "site01")  # a password session lasts 12 hours
    status, page, location = await submit_page(site01)
    assert status == 303, page
    assert location.endswith("?moved=1")
    page = await (await site01.get(location)).text()
    assert 'data-testid="moved-notice"' in page
    assert "11月26日（周四）09:30 场次的问题已于 11月25日（周三）09:30 截止收集，" \
           "此问题将转入 12月3日（周四）09:30 的场次。" in page
    async with session_factory(site01.app[ENGINE])() as db:
        stored = await db.scalar(select(Question))
        assert stored is not None
        assert (stored.session_id, stored.requested_session_id) == (ids["s2"], ids["s1"])


async def test_host_submits_for_any_site(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    ids = await known(host)
    question_id = await new_question(host, site_id=str(ids["site07"]), anonymous="1",
                                     resident_name="")
    async with session_factory(host.app[ENGINE])() as db:
        stored = await db.get(Question, question_id)
        assert stored is not None
        assert (stored.site_id, stored.resident_name) == (ids["site07"], None)


@pytest.mark.parametrize(("fields", "errors"), [
    ({"text": ""}, {"text": "此项为必填项。"}),
    ({"text": "长" * 2001}, {"text": "内容过长。"}),
    ({"category_id": "99999"}, {"category_id": "请从列表中选择一个类别。"}),
    ({"category_id": "劳动"}, {"category_id": "请从选项中选择。"}),
    ({"resident_name": ""}, {"resident_name": "请填写居民姓名，或勾选“匿名”。"}),
    ({"contact": "1" * 101}, {"contact": "内容过长。"}),
    ({"category_id": "99999999999999999999"}, {"category_id": "请从选项中选择。"}),
    ({"session_id": "99999999999999999999"}, {"session_id": "请从选项中选择。"}),
    ({"session_id": ""}, {"session_id": "请从选项中选择。"}),
], ids=["empty", "too-long", "unknown-category", "not-a-category", "no-name", "contact",
        "category-out-of-range", "session-out-of-range", "no-session"])
async def test_bad_fields_are_refused(signed_in: SignedIn, fields: dict[str, str],
                                      errors: dict[str, str]) -> None:
    site01 = await signed_in("site01")
    status, page, _ = await submit_page(site01, **fields)
    assert status == 422
    assert field_errors(page) == errors
    assert "请更正标出的字段。" in page
    async with session_factory(site01.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Question)) == 0


@pytest.mark.parametrize(("upload", "error"), [
    (("scan.pdf", PNG, "application/pdf"), "文件内容与其类型不符。"),
    (("photo.png", PDF, "image/png"), "文件内容与其类型不符。"),
    (("photo.jpg", JPEG, "application/pdf"), "文件内容与其类型不符。"),
    (("notes.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
     "只接受照片（JPEG、PNG、WebP）和 PDF 文件。"),
    (("notes.txt", b"just text", "text/plain"), "只接受照片（JPEG、PNG、WebP）和 PDF 文件。"),
    (("big.pdf", b"%PDF-1.7\n" + b"\x00" * (5 * 1024 * 1024), "application/pdf"),
     "每个附件不能超过 5 MB。"),
], ids=["png-named-pdf", "pdf-named-png", "jpeg-declared-pdf", "gif", "text", "too-big"])
async def test_bad_files_are_refused(signed_in: SignedIn, upload: tuple[str, bytes, str],
                                     error: str) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    status, page, _ = await post(site01, "/legal/questions/new", {
        "session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
        "anonymous": "1"}, [upload])
    assert status == 422
    assert field_errors(page) == {"attachments": error}
    async with session_factory(site01.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Question)) == 0
        assert await db.scalar(select(func.count()).select_from(QuestionAttachment)) == 0


async def test_too_many_files_and_the_body_limit(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    fields = {"session_id": str(ids["s1"]), "text": FALLING,
              "category_id": str(ids["侵权"]), "anonymous": "1"}
    status, page, _ = await post(site01, "/legal/questions/new", fields,
                                 [(f"p{n}.png", PNG, "image/png") for n in range(5)])
    assert status == 422
    assert field_errors(page) == {"attachments": "每个问题最多 4 个附件。"}
    limit = site01.app[SETTINGS].max_upload_bytes
    status, page, _ = await post(site01, "/legal/questions/new", fields,
                                 [("huge.pdf", b"%PDF-" + b"\x00" * limit, "application/pdf")])
    assert status == 413
    assert "上传的文件过大。" in page


async def test_a_site_may_not_submit_for_another_site(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    status, page, _ = await submit_page(site01, site_id=str(ids["site02"]))
    assert status == 403
    assert "站点只能为本站点提交问题。" in page
    status, _, _ = await submit_page(site01, site_id=str(ids["site01"]))  # its own: fine
    assert status == 303
    # Officers and deputies do not submit at all.
    court = await signed_in("court")
    assert (await court.get("/legal/questions/new")).status == 403


async def test_sessions_that_take_no_questions(signed_in: SignedIn, clock: MutableClock
                                               ) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    async with session_factory(site01.app[ENGINE])() as db, db.begin():
        await db.execute(update(ProgrammeSession).where(ProgrammeSession.id == ids["s2"])
                         .values(status=SessionStatus.CANCELLED))
        duty = (await duty_station_session(db)).id
    status, page, _ = await submit_page(site01, session_id=str(ids["s2"]))
    assert status == 422
    assert "本场不举行，不收集问题。" in page
    status, page, _ = await submit_page(site01, session_id=str(duty))
    assert status == 404  # the deputies' duty station collects opinions, not questions
    status, page, _ = await submit_page(site01, session_id="99999")
    assert status == 404
    clock.advance(days=3, hours=2)  # Thursday 11:30: the court's session is over
    await login(site01, "site01")
    status, page, _ = await submit_page(site01, session_id=str(ids["s1"]))
    assert status == 422
    assert "本场已结束。" in page
    async with session_factory(site01.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Question)) == 0


async def test_no_later_session_open(db_session: AsyncSession,
                                     clock: MutableClock) -> None:
    sessions = await legal_sessions(db_session)
    await db_session.execute(update(ProgrammeSession).where(
        ProgrammeSession.id.in_([s.id for s in sessions[1:]]))
        .values(status=SessionStatus.CANCELLED))
    clock.advance(days=2, minutes=1)
    with pytest.raises(ValidationFailed) as caught:
        await ask(db_session, clock)
    assert caught.value.message == ("Questions for this session are closed, and no later "
                                    "session takes questions yet.")


async def test_domain_refusals(db_session: AsyncSession, clock: MutableClock) -> None:
    with pytest.raises(Forbidden):
        await ask(db_session, clock, "court")
    with pytest.raises(Forbidden):
        await ask(db_session, clock, "deputy1")
    with pytest.raises(NotFound):
        await ask(db_session, clock, session=(await duty_station_session(db_session)).id)
    done = await ask(db_session, clock, "host", anonymous="1")
    assert done.moved_from is None
    entry = await db_session.scalar(select(AuditEntry).where(
        AuditEntry.action == "question.submit"))
    assert entry is not None
    assert entry.target_id == str(done.question_id)


def test_file_checks_by_content() -> None:
    ok = check([FileUpload("a.JPG", "image/jpeg", JPEG), FileUpload("b", "", PNG),
                FileUpload("c.pdf", "application/octet-stream", PDF),
                FileUpload("d.jpeg", "image/pjpeg", JPEG)])
    assert [(c.stored.content_type, c.filename) for c in ok] == [
        ("image/jpeg", "a.JPG"), ("image/png", "b"), ("application/pdf", "c.pdf"),
        ("image/jpeg", "d.jpeg")]
    assert check([FileUpload("", "", b"")]) == []  # an empty file field
    assert clean_name('C:\\Users\\x\\合同"扫描".pdf') == "合同扫描.pdf"
    assert clean_name("../../etc/passwd") == "passwd"


async def test_nothing_submitted_is_lost_across_a_restart(
        app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    first = await aiohttp_client(app_factory())
    await login(first, "site01")
    ids = await known(first)
    status, _, location = await post(first, "/legal/questions/new", {
        "session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
        "resident_name": "王阿姨", "contact": "13800001111"}, [("car.png", PNG, "image/png")])
    assert status == 303
    before = await (await first.get(f"/legal/sessions/{ids['s1']}/queue.json")).json()
    page_before = await (await first.get(location)).text()
    await first.close()

    second = await aiohttp_client(app_factory())  # a new app on the same database
    await login(second, "site01")
    after = await (await second.get(f"/legal/sessions/{ids['s1']}/queue.json")).json()
    assert after == before
    assert [q["text"] for q in after["queued"]] == [FALLING]
    page_after = await (await second.get(location)).text()
    file_id = re.search(r'href="/legal/files/(\d+)"', page_after)
    assert file_id and file_id.group(0) in page_before
    resp = await second.get(f"/legal/files/{file_id.group(1)}")
    assert (resp.status, await resp.read()) == (200, PNG)


async def test_a_late_question_can_be_seen_at_once(db_session: AsyncSession,
                                                   clock: MutableClock) -> None:
    clock.advance(days=2, minutes=1)
    done = await ask(db_session, clock)
    sessions = await legal_sessions(db_session)
    assert done.moved_from is not None
    assert (done.moved_from.id, done.session.id) == (sessions[0].id, sessions[1].id)
    assert done.session.starts_at - done.moved_from.starts_at == timedelta(days=7)


async def test_ids_no_row_can_have_are_not_found(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    too_big = "99999999999999999999"
    for path in (f"/legal/questions/{too_big}", f"/legal/files/{too_big}",
                 f"/legal/sessions/{too_big}/queue", f"/legal/sessions/{too_big}/queue.json",
                 f"/legal/sessions/{too_big}/packet"):
        assert (await host.get(path)).status == 404, path
    status, _, _ = await post(host, f"/legal/questions/{too_big}/review",
                              {"action": "top", "version": "1"})
    assert status == 404
    # A session asked for in the query that no row can have is simply not preselected.
    assert (await host.get(f"/legal/questions/new?session_id={too_big}")).status == 200


async def test_question_text_is_stored_cleaned(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    question = await new_question(site01, text="楼上\x00漏水\x1b[1m怎么办\u202e？\r\n急",
                                  resident_name="王\n阿姨", contact="\u2066138\u2069")
    async with session_factory(site01.app[ENGINE])() as db:
        row = await db.get(Question, question)
    assert row is not None
    assert (row.text, row.resident_name, row.contact) == ("楼上漏水怎么办？\n急", "王 阿姨", "138")
