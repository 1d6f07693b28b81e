"""One client flooding the signalling socket: refused, coalesced, and alone in its trouble.

Over a real WebSocket without media (quick); test_flood_media.py does the
same with walls running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from rooms.config import RoomConfig
from rooms.identity import ParticipantIdentity, Role
from rooms.protocol import notices as nt
from rooms.protocol.signalling import CLOSE_FLOODING, CLOSE_FLOODING_REASON, _Connection
from rooms.protocol.snapshot import state_notices
from rooms.protocol.throttle import FLOOD_LIMIT, MESSAGE_BURST
from rooms.registry import RoomRegistry

from .client import RoomClient
from .conftest import RoomServer, poll


async def flood(client: RoomClient, messages: list[dict[str, Any]]) -> int:
    """Send everything without waiting for an answer; how many went out before a close."""
    assert client.ws is not None
    sent = 0
    with contextlib.suppress(ConnectionError, RuntimeError):
        for message in messages:
            await client.ws.send_str(json.dumps(message))
            sent += 1
    return sent


def toggles(kind: str, count: int) -> list[dict[str, Any]]:
    if kind == "audio_only":
        return [{"type": "audio_only", "enabled": i % 2 == 0} for i in range(count)]
    return [{"type": "raise_hand" if i % 2 == 0 else "lower_hand"} for i in range(count)]


async def consistent(server: RoomServer, *clients: RoomClient) -> None:
    """Every client's newest state notices are what the room is now."""
    conference = server.registry.get("r1")
    assert conference is not None
    settings = conference.config.wall

    def agreed() -> bool:
        now = state_notices(conference.room, conference.room.layout(settings.width,
                                                                    settings.height))
        return all(c.last(n.type) == n.to_dict() for c in clients for n in now
                   if n.type != "waiting_list")

    await poll(agreed)


async def test_an_observer_toggling_audio_only_200_times_disturbs_nobody(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    observer = await room_server.client("obs", role="observer")
    mark = len(observer.notices)
    assert await flood(observer, toggles("audio_only", 200)) == 200
    await asyncio.sleep(0.2)  # a token comes back
    end = await observer.request("teleport")  # answered in order: after all of the flood
    await observer.expect("error", lambda n: n["code"] == "protocol-error", after=end)
    errors = [n for n in observer.notices[mark:end] if n["type"] == "error"]
    assert {(e["code"], e["request"]) for e in errors} == {("rate-limited", "audio_only")}
    assert all(0 < e["retry_after"] <= 0.05 and "try again" in e["message"] for e in errors)
    assert MESSAGE_BURST - 1 <= 200 - len(errors) < 200  # the burst (less join) went through
    for c in (host, site, observer):
        assert not c.closed_by_server.is_set()
    await consistent(room_server, host, site, observer)
    # The room goes on for everyone, the flooder included once it has waited.
    await asyncio.sleep(0.1)
    marks = {c.key: len(c.notices) for c in (host, site, observer)}
    await site.request("raise_hand")
    for c in (host, site, observer):
        await c.expect("hands", lambda n: [h["participant_id"] for h in n["queue"]] == ["site"],
                       after=marks[c.key])
    mark = await observer.request("audio_only", enabled=True)
    end = await observer.request("teleport")
    await observer.expect("error", lambda n: n["code"] == "protocol-error", after=end)
    assert [n["code"] for n in observer.notices[mark:] if n["type"] == "error"] == [
        "protocol-error"]  # the toggle went through
    conference = room_server.registry.get("r1")
    assert conference is not None and conference.room.get("obs").audio_only is True
    await consistent(room_server, host, site, observer)


async def test_a_client_that_floods_on_is_closed_and_nobody_else(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host")
    other = await room_server.client("other", role="site")
    flooder = await room_server.client("flooder", role="site")
    mark = len(flooder.notices)
    sent = await flood(flooder, toggles("hands", 3000))
    await poll(flooder.closed_by_server.is_set)
    assert flooder.ws is not None and flooder.ws.close_code == CLOSE_FLOODING == 1008
    errors = [n for n in flooder.notices[mark:] if n["type"] == "error"]
    assert errors and {e["code"] for e in errors} == {"rate-limited"}
    assert FLOOD_LIMIT <= len(errors) < sent
    await asyncio.sleep(0.3)
    assert not host.closed_by_server.is_set() and not other.closed_by_server.is_set()
    # The flooder's place is held like that of any dropped connection.
    await host.expect("participants", lambda n: any(
        p["participant_id"] == "flooder" and p["reconnecting"] for p in n["participants"]))
    await consistent(room_server, host, other)
    mark = len(host.notices)
    await other.request("raise_hand")
    await host.expect("hands", lambda n: "other" in [h["participant_id"] for h in n["queue"]],
                      after=mark)
    back = await room_server.client("flooder", role="site")  # it may come back, and behave
    mark = await back.request("raise_hand")
    end = await back.request("teleport")
    await back.expect("error", lambda n: n["code"] == "protocol-error", after=end)
    assert [n["code"] for n in back.notices[mark:] if n["type"] == "error"] == ["protocol-error"]
    await consistent(room_server, host, other, back)
    hands = host.last("hands")
    assert hands is not None and "flooder" in [h["participant_id"] for h in hands["queue"]]


async def test_leave_is_obeyed_even_when_rate_limited(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await flood(site, [*toggles("hands", MESSAGE_BURST + 5), {"type": "leave"}])
    await poll(site.closed_by_server.is_set)
    assert site.ws is not None and site.ws.close_code == aiohttp.WSCloseCode.OK
    await host.expect("participants", lambda n: [p["participant_id"] for p in n["participants"]]
                      == ["host"])
    await poll(lambda: ("leave", "r1", "site") in room_server.hooks.calls)


async def test_garbage_and_binary_frames_count_too(room_server: RoomServer) -> None:
    client = await room_server.client("host", role="host")
    assert client.ws is not None
    mark = len(client.notices)
    for i in range(MESSAGE_BURST + 10):
        if i % 2:
            await client.ws.send_bytes(b"\x00")
        else:
            await client.ws.send_str("{nope")
    await client.until(lambda: len(client.notices) - mark >= MESSAGE_BURST + 10)
    codes = [n["code"] for n in client.notices[mark:]]
    assert codes.count("protocol-error") >= MESSAGE_BURST - 1  # join took one
    assert "rate-limited" in codes
    assert set(codes) == {"protocol-error", "rate-limited"}


async def test_second_join_answers_already_joined_and_changes_nothing(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host")
    mark = await host.request("join")
    error = await host.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("already-joined", "join")
    assert "retry_after" not in error
    await host.request("set_waiting_room", enabled=True)
    waiting = await room_server.client("late", role="site", join=False)
    await waiting.request("join")
    await waiting.expect("waiting")
    host_mark = len(host.notices)
    mark = await waiting.request("join")
    error = await waiting.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("already-joined", "join")
    conference = room_server.registry.get("r1")
    assert conference is not None
    assert list(conference.room.participants) == ["host"] and list(conference.room.waiting) == [
        "late"]
    assert waiting.of_type("welcome") == []
    assert [n["type"] for n in host.notices[host_mark:] if n["type"] == "error"] == []


# -- the edge itself, on a fake socket ----------------------------------------------------------


class StuckSocket:
    """A WebSocket whose client never reads: the first send never finishes."""

    def __init__(self, frames: list[str] | None = None, *, stuck: bool = True) -> None:
        self.frames = frames or []
        self.read = 0  # frames handed to the reader so far
        self.sent: list[str] = []
        self.stuck = stuck
        self.closed_with: int | None = None

    async def send_str(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(text)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = code
        return True

    async def receive(self) -> aiohttp.WSMessage:
        if self.read < len(self.frames):  # all at once, as a buffered burst arrives: never suspends
            self.read += 1
            return aiohttp.WSMessage(WSMsgType.TEXT, self.frames[self.read - 1], None)
        return aiohttp.WSMessage(WSMsgType.CLOSED, None, None)


def connection(ws: StuckSocket, *, max_outbox: int = 8) -> _Connection:
    registry = RoomRegistry(RoomConfig(max_outbox=max_outbox))
    identity = ParticipantIdentity(key="a", display_name="A", role=Role.SITE)
    return _Connection(ws, registry, "r", identity)  # type: ignore[arg-type]


async def test_only_a_socket_that_does_not_drain_is_disconnected() -> None:
    ws = StuckSocket()
    conn = connection(ws)
    writer = asyncio.create_task(conn._write())
    conn.send(nt.ErrorNotice(code="x", message="x"))
    await asyncio.sleep(0)  # the writer takes it and hangs in send_str
    for i in range(1000):  # the room changing fast: state only, coalesced
        conn.send(nt.HandsNotice(queue=({"participant_id": str(i)},)))
        conn.send(nt.RoomStateNotice(locked=i % 2 == 0, waiting_room=False, recording=False))
        conn.send(nt.SpeakingNotice(participant_id=str(i % 3), speaking=i % 2 == 0))
    assert not conn._closing and len(conn._queue) == 5
    for _ in range(3):  # events fill the rest
        conn.send(nt.ErrorNotice(code="y", message="y"))
    assert not conn._closing
    conn.send(nt.ErrorNotice(code="z", message="z"))  # one too many
    assert conn._closing and len(conn._queue) == 0
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def test_the_reader_lets_other_tasks_run_between_buffered_messages() -> None:
    ws = StuckSocket(['{"type": "teleport"}'] * 30, stuck=False)
    conn = connection(ws, max_outbox=64)
    seen: list[int] = []

    async def watch() -> None:
        while ws.read < len(ws.frames):
            seen.append(ws.read)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)
    await conn.run()
    await watcher
    assert len(set(seen)) >= 29  # it ran after (nearly) every message, not once at the end
    assert len(ws.sent) == 30 and all('"protocol-error"' in s for s in ws.sent)
    assert ws.closed_with == aiohttp.WSCloseCode.OK
    assert CLOSE_FLOODING_REASON == "too many messages"
