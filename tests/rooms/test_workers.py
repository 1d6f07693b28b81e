"""A process per room (rooms.ProcessRoomRegistry), through its public surface.

Participants connect to a tiny app whose handler hands the socket to the
process registry, as the server's WebSocket edge does; each room runs in a
real worker process (``python -m rooms.workers.main``). Media across the
boundary, a worker killed mid-room and the app's attendance are in
tests/test_room_workers.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice
import aioice.ice
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms import (
    NotAuthorisedError,
    PortRange,
    ProcessRoomRegistry,
    RoomConfig,
    UnknownRoom,
    UserError,
)
from rooms.identity import ParticipantIdentity, Role
from rooms.protocol.messages import MAX_MESSAGE_CHARS
from rooms.protocol.signalling import serve_participant
from rooms.workers.ports import RangedEventLoop, bind_udp
from tests.support.loopback import TEST_WALL, poll

from .client import RoomClient
from .documents import shared_pages
from .fakes import RecordingHooks

TEST_PORTS = PortRange(47000, 47399)
SILENT_S = 2.0  # the watchdog's bound in these tests (10 s in the app)


@dataclass
class WorkerServer:
    http: TestClient[web.Request, web.Application]
    registry: ProcessRoomRegistry
    hooks: RecordingHooks
    clients: list[RoomClient] = field(default_factory=list)

    async def client(self, key: str, *, room: str = "r1", join: bool = True,
                     **options: Any) -> RoomClient:
        c = RoomClient(self.http, room, key, **options)
        self.clients.append(c)
        await c.open()
        if join:
            await c.join()
        return c


def process_registry(tmp_path: Path, hooks: RecordingHooks, **options: Any) -> ProcessRoomRegistry:
    return ProcessRoomRegistry(
        RoomConfig(wall=TEST_WALL, recordings_dir=tmp_path / "recordings", max_participants=8,
                   max_rooms=2),
        hooks=hooks, media_ports=TEST_PORTS, host_addresses=("127.0.0.1",), **options)


async def serve_with(
    registry: ProcessRoomRegistry, hooks: RecordingHooks,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
) -> WorkerServer:
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * MAX_MESSAGE_CHARS)
        await ws.prepare(request)
        query = request.query
        identity = ParticipantIdentity(
            key=query["key"], display_name=query["key"].upper(), role=Role(query["role"]))
        await serve_participant(ws, registry, request.match_info["room"], identity)
        return ws

    app = web.Application()
    app.router.add_get("/rooms/{room}/ws", websocket)
    return WorkerServer(await aiohttp_client(app), registry, hooks)


@pytest.fixture
async def workers(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
    tmp_path: Path,
) -> AsyncIterator[WorkerServer]:
    hooks = RecordingHooks()
    registry = process_registry(tmp_path, hooks)
    server = await serve_with(registry, hooks, aiohttp_client)
    try:
        yield server
    finally:
        for c in server.clients:
            await c.close()
        await registry.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive either
        return stat.read().split(")")[-1].split()[0] != "Z"


async def test_hook_calls_cross_the_process_boundary_in_order(workers: WorkerServer) -> None:
    host = await workers.client("host", role="host")
    site = await workers.client("s1")
    pid = workers.registry.worker_pid("r1")
    assert pid is not None and pid != os.getpid()
    mark = await site.request("raise_hand")
    await host.expect("hands", lambda n: [h["participant_id"] for h in n["queue"]] == ["s1"],
                      after=mark)
    mark = await host.request("give_floor", participant_id="s1")
    await host.expect("hands", lambda n: n["queue"] == [], after=mark)
    for client in (site, host):  # each leaves, and the room closes its socket
        await client.send("leave")
        await asyncio.wait_for(client.closed_by_server.wait(), 15)
    def without_speaking() -> list[tuple[str, str, str]]:
        return [c for c in workers.hooks.calls if c[2] != "speaking"]

    # The host's leave and its "left" event arrive one after the other: wait for both.
    await poll(lambda: without_speaking()[-2:] == [("leave", "r1", "host"),
                                                   ("event", "r1", "left")])
    calls = without_speaking()
    assert calls == [
        ("join", "r1", "host"), ("event", "r1", "joined"),
        ("join", "r1", "s1"), ("event", "r1", "joined"),
        ("event", "r1", "hand_raised"), ("event", "r1", "floor_given"), ("event", "r1", "hand_lowered"),
        ("event", "r1", "spotlight"),  # the floor's spotlight
        ("event", "r1", "spotlight"),  # back to the grid as s1 leaves
        ("leave", "r1", "s1"), ("event", "r1", "left"),
        ("leave", "r1", "host"), ("event", "r1", "left"),
    ]
    await poll(lambda: not alive(pid))  # its room closed: the worker went with it
    assert workers.registry.room_ids() == []


async def test_entry_points_reach_the_room_in_its_worker(workers: WorkerServer) -> None:
    registry = workers.registry
    host = await workers.client("host", role="host")
    await workers.client("s1")
    # Its welcome may come before the worker's word that it joined: the hook shows both.
    await poll(lambda: ("join", "r1", "s1") in workers.hooks.calls)
    mark = len(host.notices)
    registry.set_spotlight("r1", "s1")
    await host.expect("layout", lambda n: n["spotlight"] == "s1", after=mark)
    registry.add_marker("r1", "question 12 answered", {"question": 12})
    await poll(lambda: ("event", "r1", "marker") in workers.hooks.calls)
    assert await registry.call("r1", "start_recording") is None  # a live Recorder stays there
    await host.expect("room_state", lambda n: n["recording"] is True)
    info = await registry.call("r1", "stop_recording")
    assert Path(info["index_path"]).name.startswith("r1-")
    assert info["duration"] == 0 and info["events"] >= 1  # no camera sent a frame
    await host.expect("room_state", lambda n: n["recording"] is False)
    with pytest.raises(UserError) as refused:
        await registry.call("r1", "stop_recording")
    assert refused.value.code == "not-recording"
    with pytest.raises(UserError) as absent:
        registry.set_spotlight("r1", "nobody")
    assert absent.value.code == "unknown-participant"
    with pytest.raises(UnknownRoom):
        registry.set_spotlight("r2", None)
    with pytest.raises(UnknownRoom):
        registry.add_marker("r2", "nothing here")
    with pytest.raises(ValueError, match="not an entry point"):
        await registry.call("r1", "close")
    assert registry.stats().rooms == 1 and registry.stats().workers == 1
    assert registry.stats().per_room[0].participants == 2


async def test_a_document_and_the_room_state_cross_and_come_back_in_a_fresh_worker(
    workers: WorkerServer,
) -> None:
    registry, files = workers.registry, shared_pages()
    host = await workers.client("host", role="host")
    await workers.client("s1")
    await poll(lambda: registry.is_live("r1"))
    with pytest.raises(NotAuthorisedError):  # a site may not present: refused in the worker
        await registry.present("r1", "s1", "T", files)
    await registry.present("r1", "host", "民法典第一千二百五十四条", files)
    await host.expect("room_state", lambda n: (n["presentation"] or {}).get("pages") == 3)
    await host.send("lock")
    await host.expect("room_state", lambda n: n["locked"] is True)
    state = await registry.room_state("r1")
    assert state.locked and state.document is not None
    assert (state.document.presenter, list(state.document.files)) == ("host", files)
    # The room ends; kept state opens it again in a fresh worker (a restart, another node).
    await registry.close_room("r1")
    await poll(lambda: not registry.is_live("r1") and "r1" not in registry.room_ids())
    registry.restore("r1", state)
    again = await workers.client("host", role="host")
    await again.expect("room_state", lambda n: n["locked"] is True
                       and (n["presentation"] or {}).get("title") == "民法典第一千二百五十四条")
    await poll(lambda: registry.is_live("r1"))
    assert (await registry.room_state("r1")).document == state.document
    with pytest.raises(UserError) as live:
        registry.restore("r1", state)
    assert live.value.code == "room-live"


FAILING_WORKER = "import sys; sys.exit(3)"


async def test_a_worker_that_does_not_start_refuses_the_join_clearly(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
    tmp_path: Path,
) -> None:
    hooks = RecordingHooks()
    registry = process_registry(tmp_path, hooks, command=(sys.executable, "-c", FAILING_WORKER))
    server = await serve_with(registry, hooks, aiohttp_client)
    try:
        client = await server.client("s1", join=False)
        mark = await client.request("join")
        error = await client.expect("error", after=mark)
        assert (error["code"], error["request"]) == ("room-unavailable", "join")
        assert "the room's worker did not start (exit code" in error["message"]
        assert registry.room_ids() == [] and registry.stats().refused == {"room-unavailable": 1}
        assert not client.closed_by_server.is_set()  # the page may ask again later
    finally:
        for c in server.clients:
            await c.close()
        await registry.close()


async def test_a_worker_that_sends_garbage_is_ended_and_its_participants_told_to_come_back(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    script = """
import socket, struct, sys
sock = socket.socket(fileno=int(sys.argv[1]))
def read():
    size = struct.unpack('>I', sock.recv(4, socket.MSG_WAITALL))[0]
    return sock.recv(size, socket.MSG_WAITALL)
def send(data):
    sock.sendall(struct.pack('>I', len(data)) + data)
read()
send(b'{"t": "ready"}')
read()
send(b'not json at all')
while sock.recv(65536):  # keep the socket open whatever the web process sends
    pass
"""
    hooks = RecordingHooks()
    registry = process_registry(tmp_path, hooks, command=(sys.executable, "-c", script))
    server = await serve_with(registry, hooks, aiohttp_client)
    try:
        client = await server.client("s1", join=False)
        await client.send("join")
        await asyncio.wait_for(client.closed_by_server.wait(), 15)
        assert client.ws is not None and client.ws.close_code == 1012  # come back
        assert "malformed frame from worker" in caplog.text
        await poll(lambda: registry.stats().worker_restarts == 1)
        assert registry.room_ids() == []
    finally:
        for c in server.clients:
            await c.close()
        await registry.close()


async def test_a_hung_worker_is_killed_and_only_its_room_restarts(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = RecordingHooks()
    registry = process_registry(tmp_path, hooks, silent_after_s=SILENT_S)
    server = await serve_with(registry, hooks, aiohttp_client)
    try:
        hung = await server.client("host", role="host")
        other = await server.client("s1", room="r2")
        pid, other_pid = registry.worker_pid("r1"), registry.worker_pid("r2")
        assert pid is not None and other_pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, but it will never say a word again
        await asyncio.wait_for(hung.closed_by_server.wait(), SILENT_S + 10)
        assert hung.ws is not None and hung.ws.close_code == 1012  # come back
        assert f"worker {pid} stopped answering" in caplog.text
        await poll(lambda: not alive(pid))
        await poll(lambda: registry.stats().worker_restarts == 1)
        assert registry.stats().workers_hung == 1
        # The other room ran on in its own worker, and its participant is still in it.
        assert registry.worker_pid("r2") == other_pid and not other.closed_by_server.is_set()
        mark = len(other.notices)
        await other.send("raise_hand")
        await other.expect("hands", lambda n: len(n["queue"]) == 1, after=mark)
        back = await server.client("host", role="host")  # the room opens in a fresh worker
        assert back.of_type("welcome") and registry.worker_pid("r1") not in (None, pid)
    finally:
        for c in server.clients:
            await c.close()
        await registry.close()


async def test_no_worker_outlives_the_registry_or_its_socket(workers: WorkerServer) -> None:
    await workers.client("host", role="host")
    await workers.client("s1", room="r2")
    pids = workers.registry.worker_pids()
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    # A web process that dies without a word: the worker sees its socket end and exits.
    orphan = workers.registry._workers["r2"]
    orphan.writer.transport.abort()
    await poll(lambda: not alive(orphan.process.pid))
    await workers.registry.close()
    assert not any(alive(pid) for pid in pids)
    assert workers.registry.stats().workers == 0


def test_media_ports_are_taken_from_the_range_and_refused_when_it_is_full() -> None:
    ports = PortRange(47900, 47902)
    assert PortRange.parse("47900-47902") == ports and len(ports) == 3
    with pytest.raises(ValueError, match="FIRST-LAST"):
        PortRange.parse("forty")
    with pytest.raises(ValueError, match="not a range"):
        PortRange(5000, 4000)
    taken = [bind_udp("127.0.0.1", ports) for _ in range(3)]
    try:
        assert sorted(s.getsockname()[1] for s in taken) == [47900, 47901, 47902]
        with pytest.raises(OSError, match="no free UDP port in 47900-47902"):
            bind_udp("127.0.0.1", ports)
    finally:
        for s in taken:
            s.close()


def test_a_worker_loop_binds_ice_host_candidates_within_the_range() -> None:
    ports = PortRange(47910, 47919)

    async def gather() -> list[int]:
        connection = aioice.Connection(ice_controlling=True, components=2)
        await connection.gather_candidates()
        found = [c.port for c in connection.local_candidates]
        await connection.close()
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
        with asyncio.Runner(loop_factory=lambda: RangedEventLoop(ports)) as runner:
            found = runner.run(gather())
    assert len(found) == 2 and all(port in ports for port in found)
