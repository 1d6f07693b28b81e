"""Chat over the room's socket: who reads what, who may write and delete, and the limits.

Every refusal comes back as an ``error`` with its code and changes nothing: nobody else
is told, nothing reaches the hooks, the room's log is as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from rooms.chat import CHAT_BURST, CHAT_WINDOW_S, HISTORY, MAX_CHAT_CHARS, Audience, ChatLog
from rooms.errors import UserError
from rooms.events import ChatDeleted, ChatPosted
from rooms.identity import ParticipantIdentity, Role

from .client import RoomClient
from .conftest import RoomServer, poll


def chats(client: RoomClient) -> list[str]:
    return [n["text"] for n in client.of_type("chat")]


def chat_events(server: RoomServer) -> list[ChatPosted | ChatDeleted]:
    return [e for e in server.hooks.events if isinstance(e, ChatPosted | ChatDeleted)]


def logged(server: RoomServer) -> list[str]:
    conference = server.registry.get("r1")
    assert conference is not None
    return [m.text for m in conference.chat]


async def test_a_message_to_all_reaches_everyone_and_the_hooks(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    watcher = await room_server.client("watcher", role="observer")
    mark = await site.request("chat", text="  喂，听得到吗？\r\n第二行 \x1b[31m ", to="all")
    for client in (host, site, watcher):
        notice = await client.expect("chat", after=mark if client is site else 0)
        assert {k: notice[k] for k in ("sender_id", "display_name", "role", "to", "text")} == {
            "sender_id": "site", "display_name": "SITE", "role": "site", "to": "all",
            "text": "喂，听得到吗？\n第二行"}
        assert len(notice["id"]) == 32 and notice["sent_at"].endswith("+00:00")
    await poll(lambda: len(chat_events(room_server)) == 1)
    [event] = chat_events(room_server)
    assert isinstance(event, ChatPosted)
    assert (event.message_id, event.participant_id, event.role, event.audience, event.text) == (
        notice["id"], "site", "site", "all", "喂，听得到吗？\n第二行")
    json.dumps(event.to_dict())  # plain JSON: it may cross a process boundary


async def test_a_message_to_the_hosts_is_read_by_hosts_and_its_sender(
        room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    other = await room_server.client("other", role="site")
    speaker = await room_server.client("speaker", role="speaker")
    watcher = await room_server.client("watcher", role="observer")
    await site.request("chat", text="只给主持人", to="hosts")
    await watcher.request("chat", text="这里没有声音", to="hosts")
    await host.expect("chat", lambda n: n["text"] == "这里没有声音")
    assert chats(host) == ["只给主持人", "这里没有声音"]
    await site.expect("chat", lambda n: n["to"] == "hosts")
    await watcher.expect("chat")
    # An everyone-message after them: whoever did not get the host-only ones got this.
    await host.request("chat", text="大家好")
    for client in (other, speaker):
        await client.expect("chat", lambda n: n["text"] == "大家好")
        assert chats(client) == ["大家好"]
    await site.expect("chat", lambda n: n["text"] == "大家好")
    assert chats(site) == ["只给主持人", "大家好"]
    assert chats(watcher) == ["这里没有声音", "大家好"]


REFUSED = [
    # (role, message, code): each changes nothing
    ("site", {"type": "chat"}, "protocol-error"),
    ("site", {"type": "chat", "text": 5}, "protocol-error"),
    ("site", {"type": "chat", "text": "hi", "to": "everyone"}, "protocol-error"),
    ("site", {"type": "chat", "text": "hi", "to": "hosts", "html": "<b>"}, "protocol-error"),
    ("site", {"type": "chat", "text": "   \n\t\x00\u202e "}, "chat-empty"),
    ("site", {"type": "chat", "text": ""}, "chat-empty"),
    ("site", {"type": "chat", "text": "长" * (MAX_CHAT_CHARS + 1)}, "chat-too-long"),
    ("site", {"type": "chat", "text": "x" * 5000}, "chat-too-long"),
    ("observer", {"type": "chat", "text": "hi", "to": "all"}, "not-authorised"),
    ("observer", {"type": "chat", "text": "hi"}, "not-authorised"),
    ("site", {"type": "delete_chat"}, "protocol-error"),
    ("site", {"type": "delete_chat", "id": ""}, "protocol-error"),
    ("site", {"type": "delete_chat", "id": 3}, "protocol-error"),
    ("host", {"type": "delete_chat", "id": "no-such-message"}, "unknown-message"),
    ("site", {"type": "delete_chat", "id": "no-such-message"}, "not-authorised"),
    ("speaker", {"type": "delete_chat", "id": "no-such-message"}, "not-authorised"),
]


@pytest.mark.parametrize(("role", "message", "code"), REFUSED,
                         ids=[f"{r}-{c}-{i}" for i, (r, _, c) in enumerate(REFUSED)])
async def test_refused_chat_gets_an_error_and_changes_nothing(
        room_server: RoomServer, role: str, message: dict[str, object], code: str) -> None:
    host = await room_server.client("host", role="host")
    await host.request("chat", text="before")
    await host.expect("chat")
    actor = host if role == "host" else await room_server.client("actor", role=role)
    await poll(lambda: len(chat_events(room_server)) == 1)
    host_mark, events = len(host.notices), len(room_server.hooks.events)
    mark = len(actor.notices)
    await actor.send_text(json.dumps(message))
    error = await actor.expect("error", after=mark)
    # A message that does not parse is refused before its type counts (request: null).
    parsed = code not in ("protocol-error",) and message.get("text") != "x" * 5000
    assert (error["code"], error["request"]) == (code, message["type"] if parsed else None)
    assert error["message"]
    # A refused message reaches nobody and nothing: the next one is the first to arrive.
    await actor.request("chat", text="after", to="hosts")
    await host.expect("chat", lambda n: n["text"] == "after", after=host_mark)
    assert [n["text"] for n in host.notices[host_mark:] if n["type"] == "chat"] == ["after"]
    assert "chat_deleted" not in [n["type"] for n in host.notices[host_mark:]]
    await poll(lambda: len(chat_events(room_server)) == 2)
    assert [type(e).__name__ for e in room_server.hooks.events[events:]
            if isinstance(e, ChatPosted | ChatDeleted)] == ["ChatPosted"]
    assert logged(room_server) == ["before", "after"]


async def test_chat_is_rate_limited_per_participant(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    for i in range(CHAT_BURST):
        await site.request("chat", text=f"m{i}")
    await host.expect("chat", lambda n: n["text"] == f"m{CHAT_BURST - 1}")
    mark = await site.request("chat", text="one too many")
    error = await site.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("chat-rate-limited", "chat")
    assert 0 < error["retry_after"] <= CHAT_WINDOW_S
    # Someone else's budget is their own.
    await host.request("chat", text="host still talks")
    await site.expect("chat", lambda n: n["text"] == "host still talks")
    assert "one too many" not in chats(host) + logged(room_server)
    assert logged(room_server) == [f"m{i}" for i in range(CHAT_BURST)] + ["host still talks"]


async def test_host_deletes_a_message_for_everyone(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await site.request("chat", text="不该发的")
    posted = await host.expect("chat")
    mark = await host.request("delete_chat", id=posted["id"])
    for client in (host, site):
        gone = await client.expect("chat_deleted")
        assert gone == {"type": "chat_deleted", "id": posted["id"], "by": "host"}
    assert logged(room_server) == []
    await poll(lambda: len(chat_events(room_server)) == 2)
    deleted = chat_events(room_server)[1]
    assert isinstance(deleted, ChatDeleted)
    assert (deleted.message_id, deleted.by) == (posted["id"], "host")
    # A second delete of the same message: it is gone.
    mark = await host.request("delete_chat", id=posted["id"])
    assert (await host.expect("error", after=mark))["code"] == "unknown-message"
    # A late joiner does not get it.
    late = await room_server.client("late", role="site")
    assert late.of_type("chat_history")[-1]["messages"] == []


async def test_late_joiners_get_the_history_they_may_read(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    await host.request("chat", text="公开")
    await host.request("chat", text="主持人之间", to="hosts")
    await host.expect("chat", lambda n: n["text"] == "主持人之间")
    site = await room_server.client("site", role="site")
    [history] = site.of_type("chat_history")
    assert [m["text"] for m in history["messages"]] == ["公开"]
    assert site.notices.index(history) > site.notices.index(site.of_type("welcome")[0])
    cohost = await room_server.client("cohost", role="host")
    assert [m["text"] for m in cohost.of_type("chat_history")[-1]["messages"]] == [
        "公开", "主持人之间"]


# -- the log itself, with its own clocks ---------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def person(key: str, role: Role) -> ParticipantIdentity:
    return ParticipantIdentity(key=key, display_name=key, role=role)


def test_the_rate_window_slides() -> None:
    ticks = Ticks()
    log = ChatLog(clock=lambda: datetime(2026, 12, 2, tzinfo=UTC), monotonic=ticks)
    site = person("site", Role.SITE)
    for i in range(CHAT_BURST):
        log.post(site, f"m{i}", Audience.ALL)
        ticks.now += 1
    with pytest.raises(UserError) as refused:
        log.post(site, "too fast", Audience.ALL)
    assert refused.value.code == "chat-rate-limited"
    assert refused.value.retry_after == pytest.approx(CHAT_WINDOW_S - CHAT_BURST)
    ticks.now = 100.0 + CHAT_WINDOW_S  # the first message's ten seconds are over
    log.post(site, "again", Audience.ALL)
    assert [m.text for m in log] == [f"m{i}" for i in range(CHAT_BURST)] + ["again"]


def test_history_is_the_last_messages_a_reader_may_see() -> None:
    ticks = Ticks()
    log = ChatLog(clock=lambda: datetime(2026, 12, 2, tzinfo=UTC), monotonic=ticks)
    senders = [person(f"s{i}", Role.SITE) for i in range(HISTORY + 10)]
    for i, sender in enumerate(senders):
        log.post(sender, f"m{i}", Audience.HOSTS if i % 2 else Audience.ALL)
    host, site = person("host", Role.HOST), person("s1", Role.SITE)
    assert [m.text for m in log.history(host)] == [f"m{i}" for i in range(10, HISTORY + 10)]
    everyone = [f"m{i}" for i in range(0, HISTORY + 10, 2)]
    assert [m.text for m in log.history(site)] == ["m0", "m1", *everyone[1:]][-HISTORY:]
