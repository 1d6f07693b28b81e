"""The live queue on the day: now answering (the room spotlights the site), answers with
their outcomes, follow-ups tracked to closure, questions carried over or raised live;
two people acting at once; the records each site keeps."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import db as server_db
from server.core.errors import Conflict
from server.core.jobs import run_session_job
from server.core.keys import ENGINE
from server.legal.commands import AnswerQuestion, NowAnswering
from server.legal.live_queue import answer, now_answering
from server.legal.questions import compare_and_set
from server.meetings.room_control import ROOM_CONTROL
from server.models import (
    AuditEntry,
    FollowUp,
    FollowUpStatus,
    Notification,
    Outcome,
    Question,
    QuestionAttachment,
    QuestionStatus,
    Source,
    User,
)
from tests.conftest import CSRF_RE, AppFactory, MutableClock, login
from tests.question_helpers import (
    FALLING,
    PARKING,
    PNG,
    SignedIn,
    ask,
    field_errors,
    fresh,
    known,
    new_question,
    post,
    principal,
    version_of,
)


class FakeRoom:
    """RoomControl without media: records what the queue asked of the room."""

    def __init__(self, *, site_in_room: bool = True) -> None:
        self.spotlights: list[tuple[str, int | None]] = []
        self.markers: list[tuple[str, str, dict[str, Any]]] = []
        self.site_in_room = site_in_room

    def is_live(self, room: str) -> bool:
        return True

    def spotlight(self, room: str, site_id: int | None) -> None:
        if not self.site_in_room and site_id is not None:
            raise Conflict("This site is not in the room.")
        self.spotlights.append((room, site_id))

    def add_marker(self, room: str, label: str, data: Mapping[str, Any] | None = None) -> None:
        self.markers.append((room, label, dict(data or {})))


Clients = Callable[..., Awaitable[TestClient]]


async def clients_with_room(app_factory: AppFactory, aiohttp_client: Clients, room: FakeRoom,
                            *names: str) -> list[TestClient]:
    app = app_factory()

    async def install(app: web.Application) -> None:  # after the app's own room control
        app[ROOM_CONTROL] = room

    app.on_startup.append(install)
    first = await aiohttp_client(app)
    out = [first]
    for _ in names[1:]:
        out.append(await aiohttp_client(first.server))
    for c, name in zip(out, names, strict=True):
        await login(c, name)
    return out


async def act(c: TestClient, question_id: int, what: str, **fields: str
              ) -> tuple[int, str, str]:
    data = {"version": await version_of(c, question_id), **fields}
    return await post(c, f"/legal/questions/{question_id}/{what}", data)


async def test_the_host_runs_the_queue_and_the_court_answers(
        app_factory: AppFactory, aiohttp_client: Clients, clock: MutableClock) -> None:
    room = FakeRoom()
    site01, site02 = await clients_with_room(app_factory, aiohttp_client, room,
                                             "site01", "site02")
    ids = await known(site01)
    first = await new_question(site01)
    second = await new_question(site02, text=PARKING, category_id=str(ids["邻里与物业"]))
    clock.advance(days=3)  # Thursday 09:30: the session starts
    await run_session_job(ids["s1"], "cutoff")
    host, court, police = await clients_with_room(app_factory, aiohttp_client, room,
                                                  "host", "court", "police")
    await login(site01, "site01")
    await login(site02, "site02")

    status, _, location = await act(host, first, "now-answering", next="queue")
    assert (status, location) == (303, f"/legal/sessions/{ids['s1']}/queue")
    assert room.spotlights == [("legal", ids["site01"])]
    assert room.markers == [("legal", "now-answering",
                             {"session": ids["s1"], "question": first, "site": ids["site01"]})]
    payload = await (await site02.get("/legal/queue.json?room=legal")).json()
    assert (payload["session"]["id"], payload["current"]) == (ids["s1"], first)
    assert [q["current"] for q in payload["queued"]] == [True, False]
    page = await (await host.get(location)).text()
    assert f'data-testid="current-question" data-question="{first}"' in page

    # A department not on duty may neither run the queue nor answer.
    for what in ("now-answering", "answer"):
        status, page, _ = await act(police, second, what, summary="x", outcome="live")
        assert status == 403
        assert "您的部门不是本场的值班部门。" in page
    status, _, _ = await post(police, f"/legal/sessions/{ids['s1']}/live",
                              {"site_id": str(ids["site05"])})
    assert status == 403
    assert (await police.get(f"/legal/sessions/{ids['s1']}/queue.json")).status == 403

    summary = "依照民法典第一千二百五十四条，先由公安机关调查；查不清的，由可能加害的建筑物使用人给予补偿。"
    status, page, _ = await act(court, first, "answer", summary=summary, outcome="live",
                                next="queue")
    assert status == 303, page
    assert room.spotlights[-1] == ("legal", None)
    assert room.markers[-1] == ("legal", "question-answered", {
        "session": ids["s1"], "question": first, "site": ids["site01"], "outcome": "live"})
    page = await (await site01.get(f"/legal/questions/{first}")).text()
    assert f'data-testid="answer-summary">{summary}<' in page
    assert 'data-outcome="live"' in page
    list_page = await (await site01.get("/legal/questions")).text()
    assert summary[:20] in list_page

    # The second: a mediation follows, with a department, a date and a status.
    await act(host, second, "now-answering")
    status, page, _ = await act(court, second, "answer", summary="建议由司法所组织调解",
                                outcome="follow_up", follow_up_kind="mediation",
                                follow_up_department_id=str(ids["justice"]),
                                follow_up_due_on="2026-12-04")
    assert status == 303, page
    async with server_db.session_factory(host.app[ENGINE])() as db:
        follow_up = await db.scalar(select(FollowUp).where(FollowUp.question_id == second))
        assert follow_up is not None
        assert (follow_up.kind.value, follow_up.department_id, follow_up.due_on,
                follow_up.status) == ("mediation", ids["justice"], date(2026, 12, 4),
                                      FollowUpStatus.PLANNED)
    justice = (await clients_with_room(app_factory, aiohttp_client, room, "justice"))[0]
    page = await (await justice.get("/legal/follow-ups")).text()
    assert f'data-follow-up="{follow_up.id}"' in page
    assert f'data-follow-up="{follow_up.id}"' in await (
        await site02.get("/legal/follow-ups")).text()
    assert f'data-follow-up="{follow_up.id}"' not in await (
        await site01.get("/legal/follow-ups")).text()
    # The court is not following it up: it does not see it in its list.
    assert f'data-follow-up="{follow_up.id}"' not in await (
        await court.get("/legal/follow-ups")).text()
    status, _, _ = await post(justice, f"/legal/follow-ups/{follow_up.id}",
                              {"version": "1", "status": "in_progress",
                               "due_on": "2026-12-04", "note": "已约双方周五到司法所"})
    assert status == 303
    status, page, _ = await post(justice, f"/legal/follow-ups/{follow_up.id}",
                                 {"version": "2", "status": "closed", "note": ""})
    assert status == 422
    assert field_errors(page) == {"note": "此项为必填项。"}
    status, page, _ = await post(justice, f"/legal/follow-ups/{follow_up.id}",
                                 {"version": "1", "status": "closed", "note": "调解成功"})
    assert status == 409
    assert "其他人已先修改了此后续跟进" in page
    status, _, _ = await post(justice, f"/legal/follow-ups/{follow_up.id}",
                              {"version": "2", "status": "closed", "note": "双方达成调解协议"})
    assert status == 303
    page = await (await site02.get(f"/legal/questions/{second}")).text()
    assert 'data-follow-up-status="closed"' in page and "双方达成调解协议" in page
    status, _, _ = await post(site02, f"/legal/follow-ups/{follow_up.id}",
                              {"version": "3", "status": "planned", "note": "x"})
    assert status == 403

    # One click: site05 raises a question live; it is answered now.
    status, _, location = await post(host, f"/legal/sessions/{ids['s1']}/live",
                                     {"site_id": str(ids["site05"]), "answer_now": "1"})
    assert (status, location) == (303, f"/legal/sessions/{ids['s1']}/queue")
    assert room.spotlights[-1] == ("legal", ids["site05"])
    payload = await (await court.get(f"/legal/sessions/{ids['s1']}/queue.json")).json()
    [live] = payload["queued"]
    assert (live["site_id"], live["raised_live"], live["current"], live["text"]) == (
        ids["site05"], True, True, "现场提问")
    status, _, _ = await act(court, live["id"], "answer", summary="当场解答：车位归属看购房合同约定",
                             outcome="live")
    assert status == 303

    async with server_db.session_factory(host.app[ENGINE])() as db:
        actions = [a.action for a in await db.scalars(
            select(AuditEntry).where(AuditEntry.action.like("question.%")
                                     | AuditEntry.action.like("follow_up.%"))
            .order_by(AuditEntry.id))]
        site01_user = await db.scalar(select(User).where(User.username == "site01"))
        assert site01_user is not None
        answered_note = await db.scalar(select(Notification).where(
            Notification.recipient_id == site01_user.id,
            Notification.kind == "question.answered"))
        assert answered_note is not None and answered_note.body == summary
    assert actions == ["question.submit", "question.submit", "question.now_answering",
                       "question.answer", "question.now_answering", "question.answer",
                       "follow_up.create", "follow_up.update", "follow_up.update",
                       "question.raise_live", "question.answer"]


async def test_written_answers_and_carry_over(signed_in: SignedIn) -> None:
    site01, court = await signed_in("site01"), await signed_in("court")
    ids = await known(site01)
    status, _, location = await post(site01, "/legal/questions/new", {
        "session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
        "anonymous": "1"}, [("car.png", PNG, "image/png")])
    assert status == 303
    carried = int(location.rsplit("/", 1)[1])
    written = await new_question(site01, text=PARKING)
    status, _, _ = await act(court, written, "answer", summary="会后书面答复", outcome="written")
    assert status == 303
    status, page, _ = await act(court, written, "answer", summary="书面答复：公共车位由业主大会决定",
                                outcome="live")
    assert status == 422
    assert field_errors(page) == {"outcome": "书面答复的结果须保持为“会后书面答复”。"}
    status, _, _ = await act(court, written, "answer", summary="书面答复：公共车位由业主大会决定",
                             outcome="written")
    assert status == 303
    page = await (await site01.get(f"/legal/questions/{written}")).text()
    assert "书面答复：公共车位由业主大会决定" in page
    status, _, _ = await act(court, written, "answer", summary="书面答复（修订）", outcome="written")
    assert status == 303  # a written answer may be revised
    # As if the resident had filed it from the site's QR page: the copy stays theirs
    # (the retention job and the status page go by `source`).
    async with server_db.session_factory(court.app[ENGINE])() as db, db.begin():
        original = await db.get(Question, carried)
        assert original is not None
        original.source = Source.RESIDENT
    status, page, _ = await act(court, carried, "answer", summary="时间不够，转下一场",
                                outcome="carried_over")
    assert status == 303, page
    async with server_db.session_factory(court.app[ENGINE])() as db:
        copy = await db.scalar(select(Question).where(Question.carried_from_id == carried))
        assert copy is not None
        assert (copy.session_id, copy.status, copy.text, copy.site_id, copy.source) == (
            ids["s2"], QuestionStatus.QUEUED, FALLING, ids["site01"], Source.RESIDENT)
        files = list(await db.scalars(select(QuestionAttachment).where(
            QuestionAttachment.question_id.in_([carried, copy.id]))))
        assert len({f.sha256 for f in files}) == 1 and len(files) == 2
    page = await (await site01.get(f"/legal/questions/{carried}")).text()
    assert f'href="/legal/questions/{copy.id}"' in page
    # The next session's department (the procuratorate) now sees it, the court does not.
    procuratorate = await signed_in("procuratorate")
    assert (await procuratorate.get(f"/legal/questions/{copy.id}")).status == 200
    assert (await court.get(f"/legal/questions/{copy.id}")).status == 404
    # Answered questions are not answered twice.
    status, page, _ = await act(court, carried, "answer", summary="x", outcome="live")
    assert status == 422
    assert "此问题已解答。" in page


async def test_answer_form_errors(signed_in: SignedIn) -> None:
    site01, court = await signed_in("site01"), await signed_in("court")
    question = await new_question(site01)
    status, page, _ = await act(court, question, "answer", summary="", outcome="maybe")
    assert status == 422
    assert field_errors(page) == {"summary": "此项为必填项。", "outcome": "请从选项中选择。"}
    # What does not parse is refused first (at the edge); a parsed day outside the window
    # the answer allows is refused by the use case.
    status, page, _ = await act(court, question, "answer", summary="需要上门", outcome="follow_up",
                                follow_up_kind="visit", follow_up_due_on="2020-01-01")
    assert status == 422
    assert field_errors(page) == {"follow_up_kind": "请从选项中选择。"}
    status, page, _ = await act(court, question, "answer", summary="需要上门", outcome="follow_up",
                                follow_up_kind="onsite", follow_up_due_on="2020-01-01")
    assert status == 422
    assert field_errors(page) == {"follow_up_due_on": "请选择从今天起一年以内的日期。"}


async def test_two_people_answer_at_once_one_wins(signed_in: SignedIn) -> None:
    site01, host, court = await signed_in("site01"), await signed_in("host"), \
        await signed_in("court")
    question = await new_question(site01)
    version = await version_of(host, question)

    async def send(c: TestClient, summary: str, outcome: str) -> tuple[int, str]:
        page = await (await c.get(f"/legal/questions/{question}")).text()
        token = CSRF_RE.search(page)
        assert token
        resp = await c.post(f"/legal/questions/{question}/answer", allow_redirects=False,
                            data={"_csrf": token.group(1), "version": version,
                                  "summary": summary, "outcome": outcome})
        return resp.status, await resp.text()

    (a_status, a_page), (b_status, b_page) = await asyncio.gather(
        send(court, "法院：当场解答", "live"), send(host, "主持人：会后书面答复", "written"))
    assert sorted([a_status, b_status]) == [303, 409]
    loser = a_page if a_status == 409 else b_page
    winner_summary = "法院：当场解答" if a_status == 303 else "主持人：会后书面答复"
    assert "其他人已先修改了此问题" in loser
    assert 'data-status="answered"' in loser and winner_summary in loser
    async with server_db.session_factory(host.app[ENGINE])() as db:
        stored = await db.get(Question, question)
        assert stored is not None
        assert (stored.answer_summary, stored.version) == (winner_summary, int(version) + 1)
        answers = list(await db.scalars(select(AuditEntry).where(
            AuditEntry.action == "question.answer")))
        assert len(answers) == 1


async def test_compare_and_set_refuses_the_slower_transaction(
        app_factory: AppFactory, aiohttp_client: Clients, clock: MutableClock) -> None:
    client = await aiohttp_client(app_factory())
    factory = server_db.session_factory(client.app[ENGINE])
    async with factory() as s, s.begin():
        question_id = (await ask(s, clock)).question_id
    async with factory() as first, factory() as second:
        a = await first.get(Question, question_id)
        b = await second.get(Question, question_id)
        assert a is not None and b is not None
        await compare_and_set(first, a, {"answer_summary": "first"})
        await first.commit()
        with pytest.raises(Conflict):
            await compare_and_set(second, b, {"answer_summary": "second"})
        await second.rollback()

    async def run(who: str, what: str) -> str:
        try:
            async with factory() as s, s.begin():
                viewer = await principal(s, who)
                if what == "now":
                    await now_answering(s, question_id, NowAnswering(version=2), viewer=viewer,
                                        clock=clock)
                else:
                    await answer(s, question_id, AnswerQuestion(version=2, summary=who,
                                                                outcome=Outcome.LIVE),
                                 viewer=viewer, clock=clock, today=date(2026, 11, 23))
        except Conflict:
            return "conflict"
        return "ok"

    results = await asyncio.gather(run("host", "now"), run("court", "answer"),
                                   run("host", "answer"))
    assert sorted(results) == ["conflict", "conflict", "ok"]


async def test_one_current_question_per_session(db_session: AsyncSession,
                                                clock: MutableClock) -> None:
    host = await principal(db_session, "host")
    first = (await ask(db_session, clock)).question_id
    second = (await ask(db_session, clock, "site02")).question_id
    cue = await now_answering(db_session, first, NowAnswering(version=1), viewer=host,
                              clock=clock)
    assert (cue.marker, cue.spotlight, cue.site_id) == ("now-answering", True,
                                                       (await fresh(db_session, first)).site_id)
    await now_answering(db_session, second, NowAnswering(version=1), viewer=host, clock=clock)
    assert (await fresh(db_session, first)).answering_at is None
    assert (await fresh(db_session, second)).answering_at is not None
    cue = await answer(db_session, first,
                       AnswerQuestion(version=(await fresh(db_session, first)).version,
                                      summary="ok", outcome=Outcome.LIVE),
                       viewer=host, clock=clock, today=date(2026, 11, 23))
    assert cue.spotlight is False  # it was not the current one: the spotlight stays
    assert (await fresh(db_session, first)).outcome is Outcome.LIVE


async def test_the_room_being_away_does_not_stop_the_queue(
        app_factory: AppFactory, aiohttp_client: Clients) -> None:
    room = FakeRoom(site_in_room=False)
    site01, court = await clients_with_room(app_factory, aiohttp_client, room,
                                            "site01", "court")
    question = await new_question(site01)
    status, _, _ = await act(court, question, "now-answering")
    assert status == 303
    assert room.spotlights == []
    assert [m[1] for m in room.markers] == ["now-answering"]


async def test_records_board_and_stats(signed_in: SignedIn, clock: MutableClock) -> None:
    site01, site02, court = (await signed_in("site01"), await signed_in("site02"),
                             await signed_in("court"))
    ids = await known(site01)
    answered = await new_question(site01)
    await new_question(site02, text=PARKING)
    waiting = await new_question(site01, text=PARKING, category_id=str(ids["邻里与物业"]))
    await act(court, answered, "answer", summary="由物业和侵权人承担责任", outcome="live")
    await act(court, waiting, "answer", summary="上门调解", outcome="follow_up",
              follow_up_kind="onsite", follow_up_due_on="2026-11-30")
    page = await (await site01.get("/legal/board")).text()
    items = re.findall(r'<li data-question="(\d+)">', page)
    assert items == [str(answered), str(waiting)]
    assert 'data-testid="board-answer">解答：由物业和侵权人承担责任<' in page
    assert "王阿姨" not in page and "13800001111" not in page  # a public notice board
    assert (await site01.get(f"/legal/board?site_id={ids['site02']}")).status == 403
    host = await signed_in("host")
    page = await (await host.get(f"/legal/board?site_id={ids['site02']}")).text()
    assert PARKING in page and "由物业和侵权人承担责任" not in page
    page = await (await host.get("/legal/stats")).text()
    row = re.search(rf'<tr data-session="{ids["s1"]}">(.*?)</tr>', page)
    assert row
    numbers = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(1))]
    # collected, raised live, answered, carried over, follow-ups, open, rejected, merged
    assert numbers == [3, 0, 2, 0, 1, 1, 0, 0]
    assert "区人民法院" in page and "邻里与物业" in page
    assert (await site01.get("/legal/stats")).status == 403


async def test_live_pages_render_for_everyone(signed_in: SignedIn,
                                              app_factory: AppFactory) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    await new_question(site01)
    for who in ("admin", "host", "site01", "site09", "court"):
        c = site01 if who == "site01" else await signed_in(who)
        for path in ("/legal", "/legal/questions", f"/legal/sessions/{ids['s1']}/queue",
                     "/legal/follow-ups"):
            resp = await c.get(path)
            assert resp.status == 200, (who, path)
        page = await (await c.get(f"/legal/sessions/{ids['s1']}/queue")).text()
        assert 'id="side-panel"' in page and "/static/js/queue.js" in page
    admin = await signed_in("admin")
    assert (await admin.get("/legal/categories")).status == 200
    status, _, _ = await post(admin, "/legal/categories", {"name": "房屋拆迁", "position": "8"})
    assert status == 303
    assert "房屋拆迁" in await (await admin.get("/legal/categories")).text()
    assert "法律咨询" in await (await site01.get("/")).text()  # the nav entry
    deputy = await signed_in("deputy1")
    assert "/legal" not in re.sub(r"<main.*", "", await (await deputy.get("/")).text(),
                                  flags=re.S)


def test_queue_routes_are_declared(app_factory: AppFactory) -> None:
    app: web.Application = app_factory()
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert {"/legal/queue.json", r"/legal/sessions/{session_id}/queue.json"} <= {
        re.sub(r":[^}]+", "", p) for p in paths}
