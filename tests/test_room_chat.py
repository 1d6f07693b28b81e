"""Room chat in the real app: stored with its session through the rooms' hooks, deletions
marked, writes retried until the database takes them, and a site's message made a live
question in the legal queue (once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms import ChatDeleted, ChatPosted, ParticipantIdentity, RoomEvent
from server.core import db as server_db
from server.core.keys import DATABASE
from server.meetings.attendance import AttendanceHooks
from server.meetings.chat import ChatStore
from server.meetings.registry import CHAT_STORE
from server.meetings.room_hooks import RoomHooksChain
from server.models import AuditEntry, Question, QuestionStatus, RoomChatMessage, Site, User
from tests.conftest import AppFactory, MutableClock
from tests.question_helpers import csrf, legal_sessions
from tests.rooms.client import WAIT
from tests.support.loopback import poll
from tests.test_rooms_app import RoomApp, room_app

__all__ = ["room_app"]  # the fixture, shared with the rooms' app tests

# The demo's first legal consultation: Thu 2026-11-26 09:30-10:30 Shanghai.
LEGAL_START = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


async def rows(app: RoomApp | TestClient) -> list[RoomChatMessage]:
    http = app.http if isinstance(app, RoomApp) else app
    async with http.app[DATABASE]() as db:
        return list(await db.scalars(select(RoomChatMessage).order_by(RoomChatMessage.id)))


async def rows_where(app: RoomApp, ready: Callable[[list[RoomChatMessage]], bool]
                     ) -> list[RoomChatMessage]:
    """The stored messages once ``ready`` holds (the hooks write in the background)."""
    async with asyncio.timeout(WAIT):
        while True:
            found = await rows(app)
            if ready(found):
                return found
            await asyncio.sleep(0.05)


async def user_id(app: RoomApp, username: str) -> int:
    async with app.http.app[DATABASE]() as db:
        found = await db.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


async def test_chat_is_stored_with_its_session_and_deletions_are_marked(
        room_app: RoomApp) -> None:
    room_app.clock.now = LEGAL_START
    async with room_app.http.app[DATABASE]() as db:
        session = (await legal_sessions(db))[0]
        site = await db.scalar(select(Site).where(Site.code == "site01"))
    assert session.starts_at == LEGAL_START and site is not None
    host = await room_app.participant("host", room="legal")
    site01 = await room_app.participant("site01", room="legal")
    await site01.send("chat", text="我们这边听不清", to="all")
    await site01.send("chat", text="只给主持人", to="hosts")
    posted = await host.expect("chat", lambda n: n["text"] == "我们这边听不清")
    await host.expect("chat", lambda n: n["text"] == "只给主持人")
    stored = await rows_where(room_app, lambda found: len(found) == 2)
    site_user = await user_id(room_app, "site01")
    assert [(r.message_key, r.room, r.session_id, r.participant_key, r.user_id, r.site_id,
             r.role, r.audience, r.text, r.deleted_at) for r in stored] == [
        (posted["id"], "legal", session.id, f"site:{site.id}", site_user, site.id, "site",
         "all", "我们这边听不清", None),
        (stored[1].message_key, "legal", session.id, f"site:{site.id}", site_user, site.id,
         "site", "hosts", "只给主持人", None)]
    assert stored[0].display_name == posted["display_name"]
    assert stored[0].sent_at == LEGAL_START

    # The host deletes the first: off every page, kept in the store marked deleted.
    room_app.clock.advance(minutes=2)
    await host.send("delete_chat", id=posted["id"])
    await site01.expect("chat_deleted", lambda n: n["id"] == posted["id"])
    stored = await rows_where(room_app, lambda found: found[0].deleted_at is not None)
    host_user = await user_id(room_app, "host")
    assert (stored[0].deleted_at, stored[0].deleted_by_key, stored[0].deleted_by_id,
            stored[0].text) == (LEGAL_START + timedelta(minutes=2), f"user:{host_user}",
                                host_user, "我们这边听不清")
    assert stored[1].deleted_at is None

    # Outside any session's room window the message is kept with the room and time only.
    room_app.clock.now = LEGAL_START + timedelta(days=2)
    await host.send("chat", text="会后说明")
    stored = await rows_where(room_app, lambda found: len(found) == 3)
    assert (stored[2].session_id, stored[2].room, stored[2].role, stored[2].user_id,
            stored[2].site_id) == (None, "legal", "host", host_user, None)


def posted(key: str, text: str = "你好", *, at: datetime = LEGAL_START) -> ChatPosted:
    return ChatPosted(at=at, message_id=key, participant_id="site:1", display_name="一村",
                      role="site", sender_tags=("site:1",), audience="all", text=text)


class Flaky:
    """A session factory whose first ``failures`` sessions fail on use."""

    def __init__(self, database: async_sessionmaker[AsyncSession], failures: int) -> None:
        self.database = database
        self.failures = failures
        self.calls = 0

    def __call__(self) -> AsyncSession:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("the database went away")
        return self.database()


def as_factory(flaky: Flaky) -> async_sessionmaker[AsyncSession]:
    return cast("async_sessionmaker[AsyncSession]", flaky)


async def test_a_failed_write_is_retried_in_order_and_nothing_is_lost(
        app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
        caplog: pytest.LogCaptureFixture) -> None:
    http = await aiohttp_client(app_factory())
    flaky = Flaky(http.app[DATABASE], failures=3)
    store = ChatStore(as_factory(flaky), retry_delays=(0.01,))
    with caplog.at_level(logging.ERROR, logger="yizhan.rooms"):
        await store.on_event("legal", posted("a1", "第一条"))
        await store.on_event("legal", posted("a2", "第二条"))
        await store.on_event("legal", ChatDeleted(at=LEGAL_START, message_id="a1",
                                                  by="user:2", by_tags=("user:2",)))
        assert store.pending == 3  # each call found the database away; kept, in order
        await poll(lambda: store.pending == 0)
    assert "will retry" in caplog.text
    stored = await rows(http)
    assert [(r.message_key, r.text, r.deleted_by_key) for r in stored] == [
        ("a1", "第一条", "user:2"), ("a2", "第二条", None)]
    # Storing an event again (a retry after a lost commit) changes nothing.
    await store.on_event("legal", posted("a2", "第二条"))
    assert len(await rows(http)) == 2
    await store.close()


async def test_close_stores_what_is_pending_and_logs_what_it_cannot(
        app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
        caplog: pytest.LogCaptureFixture) -> None:
    http = await aiohttp_client(app_factory())
    flaky = Flaky(http.app[DATABASE], failures=1)
    store = ChatStore(as_factory(flaky), retry_delays=(60.0,))  # the retry comes too late
    await store.on_event("legal", posted("b1", "临走前"))
    assert store.pending == 1
    await store.close()  # shutdown: one more try, before the database closes
    assert [r.message_key for r in await rows(http)] == ["b1"]

    dead = Flaky(http.app[DATABASE], failures=1000)
    store = ChatStore(as_factory(dead), retry_delays=(0.0,))
    with caplog.at_level(logging.ERROR, logger="yizhan.rooms"):
        await store.on_event("legal", posted("b2", "写不进去"))
        await store.close()
    [lost] = [r for r in caplog.records if "NOT stored at shutdown" in r.getMessage()]
    assert lost.ctx_event["text"] == "写不进去"  # type: ignore[attr-defined]
    assert lost.ctx_event["message_id"] == "b2"  # type: ignore[attr-defined]


async def test_a_message_sent_just_before_shutdown_is_stored(room_app: RoomApp,
                                                             db_url: str) -> None:
    """The app closes the rooms (their hooks drain), then the chat store, then the database."""
    host = await room_app.participant("host", room="street")
    await host.send("chat", text="散会")
    await host.expect("chat")
    store = room_app.http.app[CHAT_STORE]
    await room_app.http.close()  # at once: on_shutdown, then cleanup_ctx
    room_app.clients.clear()
    assert store.pending == 0
    engine = server_db.create_engine(db_url)
    try:
        async with server_db.session_factory(engine)() as db:
            texts = list(await db.scalars(select(RoomChatMessage.text)))
    finally:
        await engine.dispose()
    assert texts == ["散会"]


# -- a site's message becomes a live question ----------------------------------------------


@asynccontextmanager
async def database(http: TestClient) -> AsyncIterator[AsyncSession]:
    async with http.app[DATABASE]() as db, db.begin():
        yield db


async def message(http: TestClient, key: str, *, site: str | None = "site01",
                  at: datetime = LEGAL_START, deleted: bool = False) -> RoomChatMessage:
    """A stored message, as the chat store writes it (the storage test covers that path)."""
    async with database(http) as db:
        site_id = (await db.scalar(select(Site.id).where(Site.code == site))
                   if site else None)
        row = RoomChatMessage(
            message_key=key, room="legal",
            session_id=(await legal_sessions(db))[0].id if at == LEGAL_START else None,
            participant_key=f"site:{site_id}" if site_id else "user:1", user_id=None,
            site_id=site_id, display_name="一村", role="site" if site_id else "host",
            audience="all", text="楼上漏水，物业不管怎么办？", sent_at=at,
            deleted_at=LEGAL_START if deleted else None)
        db.add(row)
    return row


async def make_question(c: TestClient, key: str) -> tuple[int, dict[str, object]]:
    resp = await c.post(f"/rooms/legal/chat/{key}/question",
                        headers={"X-CSRF-Token": await csrf(c, "/rooms/legal"),
                                 "Accept": "application/json"})
    return resp.status, await resp.json()


async def test_a_site_makes_its_message_a_live_question_once(
        signed_in: Callable[[str], Awaitable[TestClient]], clock: MutableClock) -> None:
    clock.now = LEGAL_START + timedelta(minutes=5)
    site = await signed_in("site01")
    await message(site, "aa01")
    status, body = await make_question(site, "aa01")
    assert status == 201 and body["created"] is True
    async with database(site) as db:
        question = await db.get(Question, body["question"])
        assert question is not None
        session = (await legal_sessions(db))[0]
        site_id = await db.scalar(select(Site.id).where(Site.code == "site01"))
        row = await db.scalar(select(RoomChatMessage).where(
            RoomChatMessage.message_key == "aa01"))
        assert row is not None
        assert (question.session_id, question.site_id, question.text, question.raised_live,
                question.status, question.answering_at) == (
            session.id, site_id, "楼上漏水，物业不管怎么办？", True, QuestionStatus.QUEUED, None)
        assert (row.question_id, body["session"]) == (question.id, session.id)
        audit = await db.scalar(select(AuditEntry).where(
            AuditEntry.action == "question.raise_live", AuditEntry.target_id == str(question.id)))
        assert audit is not None and audit.changes["chat_message"] == [None, "aa01"]
        count = await db.scalar(select(func.count()).select_from(Question))
    # The second click says it exists already; nothing new.
    status, again = await make_question(site, "aa01")
    assert (status, again) == (200, {"question": question.id, "session": session.id,
                                     "created": False})
    async with database(site) as db:
        assert await db.scalar(select(func.count()).select_from(Question)) == count


async def test_who_may_make_which_message_a_question(
        signed_in: Callable[[str], Awaitable[TestClient]], clock: MutableClock) -> None:
    clock.now = LEGAL_START + timedelta(minutes=5)
    site01 = await signed_in("site01")
    await message(site01, "bb01")
    await message(site01, "bb02", site=None)  # the host's own message
    await message(site01, "bb03", deleted=True)
    await message(site01, "bb04", at=LEGAL_START + timedelta(days=2))  # outside a session
    async with database(site01) as db:
        before = await db.scalar(select(func.count()).select_from(Question))
    site02 = await signed_in("site02")
    status, body = await make_question(site02, "bb01")
    assert status == 403, body
    deputy = await signed_in("deputy1")
    assert (await make_question(deputy, "bb01"))[0] == 403
    police = await signed_in("police")  # an officer whose department is not on duty
    assert (await make_question(police, "bb01"))[0] == 403
    assert (await make_question(site01, "ffff"))[0] == 404  # unknown message
    assert (await make_question(site01, "bb03"))[0] == 422  # deleted
    assert (await make_question(site01, "bb04"))[0] == 422  # not in a legal session
    host = await signed_in("host")
    assert (await make_question(host, "bb02"))[0] == 422  # not a site's message
    resp = await host.post("/rooms/legal/chat/bb01/question",
                           headers={"Accept": "application/json"})  # no CSRF token
    assert resp.status == 403
    async with database(site01) as db:
        assert await db.scalar(select(func.count()).select_from(Question)) == before
    # The host (and the officer on duty) may for any site's message.
    status, body = await make_question(host, "bb01")
    assert status == 201 and body["created"] is True
    court = await signed_in("court")
    assert await make_question(court, "bb01") == (
        200, {"question": body["question"], "session": body["session"], "created": False})


class Broken:
    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        raise RuntimeError("attendance is down")

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        raise RuntimeError("attendance is down")

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        raise RuntimeError("attendance is down")


async def test_one_failing_hook_does_not_keep_chat_from_the_store(
        app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
        caplog: pytest.LogCaptureFixture) -> None:
    http = await aiohttp_client(app_factory())
    store = ChatStore(http.app[DATABASE])
    chain = RoomHooksChain(Broken(), store)
    with caplog.at_level(logging.INFO, logger="yizhan.rooms"):
        await chain.on_event("legal", posted("c1", "秘密内容"))
        await AttendanceHooks(http.app[DATABASE]).on_event("legal", posted("c2", "秘密内容"))
    assert [r.message_key for r in await rows(http)] == ["c1"]
    assert "Broken.on_event failed" in caplog.text
    # The text is stored, never logged (a deleted message must not live on in the log).
    assert [r.getMessage() for r in caplog.records if "chat" in r.getMessage()] == [
        "chat message in room legal"]
    assert all("秘密内容" not in str(vars(r)) for r in caplog.records)
    await store.close()
