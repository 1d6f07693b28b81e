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

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms import PortRange, ProcessRoomRegistry, RoomConfig, UnknownRoom, UserError
from rooms.identity import ParticipantIdentity, Role
from rooms.protocol.messages import MAX_MESSAGE_CHARS
from rooms.protocol.signalling import serve_participant
from tests.support.loopback import TEST_WALL, poll

from .client import RoomClient
from .fakes import RecordingHooks

TEST_PORTS = PortRange(47000, 47399)


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
    await site.close()
    await host.close()
    await poll(lambda: ("leave", "r1", "host") in workers.hooks.calls)
    calls = [c for c in workers.hooks.calls if c[2] != "speaking"]
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
