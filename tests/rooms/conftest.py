"""Room tests: loopback-only ICE and a tiny app that routes a WebSocket to the rooms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.config import RoomConfig
from rooms.identity import ParticipantIdentity, Role
from rooms.protocol.messages import MAX_MESSAGE_CHARS
from rooms.protocol.signalling import serve_participant
from rooms.registry import RoomRegistry
from tests.support.loopback import TEST_WALL, loopback_ice, poll

from .client import RoomClient
from .fakes import RecordingHooks, StepClock

__all__ = ["TEST_WALL", "RoomServer", "loopback_ice", "poll"]


@dataclass
class RoomServer:
    http: TestClient[web.Request, web.Application]
    registry: RoomRegistry
    hooks: RecordingHooks
    recordings: Path
    clients: list[RoomClient] = field(default_factory=list)

    async def client(self, key: str, *, room: str = "r1", join: bool = True, **options: Any) -> RoomClient:
        c = RoomClient(self.http, room, key, **options)
        self.clients.append(c)
        await c.open()
        if join:
            await c.join()
        return c


@pytest.fixture
async def room_server(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]],
    tmp_path: Path,
) -> AsyncIterator[RoomServer]:
    hooks = RecordingHooks()
    recordings = tmp_path / "recordings"
    registry = RoomRegistry(
        RoomConfig(wall=TEST_WALL, recordings_dir=recordings, max_participants=8, max_rooms=2),
        hooks=hooks,
        clock=StepClock(),
    )

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * MAX_MESSAGE_CHARS)
        await ws.prepare(request)
        query = request.query  # stands in for the server's real authentication
        identity = ParticipantIdentity(
            key=query["key"], display_name=query["key"].upper(), role=Role(query["role"])
        )
        await serve_participant(ws, registry, request.match_info["room"], identity)
        return ws

    app = web.Application()
    app.router.add_get("/rooms/{room}/ws", websocket)
    server = RoomServer(await aiohttp_client(app), registry, hooks, recordings)
    try:
        yield server
    finally:
        for c in server.clients:
            await c.close()
        await poll(lambda: not registry.room_ids())  # every handler has seen its client go
        await registry.close()
