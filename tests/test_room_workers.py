"""A process per room in the real app: a worker killed mid-room ends only its room.

aiortc clients join through the app's WebSocket (as in tests/test_rooms_app.py)
with ``YIZHAN_ROOM_WORKERS`` on; each room's engine runs in its own worker
process, media on 127.0.0.1 within a UDP port range.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from rooms import ProcessRoomRegistry
from server.core.config import ConfigError, settings_from_env
from server.edge.room_socket import ON_DUTY
from server.meetings.registry import REGISTRY, WALL
from server.meetings.room_access import EveryoneOnDuty
from tests.conftest import METRICS_AUTH, AppFactory, MutableClock
from tests.support.loopback import TEST_WALL, loopback_ice, poll
from tests.test_rooms_app import COLOURS, RoomApp, rows_after_leaving

__all__ = ["loopback_ice"]

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
PORTS = (47400, 47799)


@pytest.fixture
async def worker_app(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> AsyncIterator[RoomApp]:
    app = app_factory(room_workers=True, media_addresses=("127.0.0.1",), media_ports=PORTS)
    app[WALL] = TEST_WALL
    app[ON_DUTY] = EveryoneOnDuty()
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        yield room_app
    finally:
        for client in room_app.clients:
            await client.close()


def candidate_ports(sdp: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ", sdp)]


@pytest.mark.media
@SQLITE
async def test_a_killed_worker_ends_only_its_room_and_its_sites_come_back(
    worker_app: RoomApp,
) -> None:
    http, clock = worker_app.http, worker_app.clock
    registry = http.app[REGISTRY]
    assert isinstance(registry, ProcessRoomRegistry)
    site = await worker_app.participant("site01", colour=COLOURS["site01"], receive_audio=False)
    other = await worker_app.participant("host", room="legal", colour=COLOURS["host"],
                                         receive_audio=False)
    for client in (site, other):
        await client.connect_media()
        await client.wait_frames(2)
    ports = candidate_ports(site.of_type("answer")[0]["sdp"])
    assert ports and all(PORTS[0] <= port <= PORTS[1] for port in ports)
    street, legal = registry.worker_pid("street"), registry.worker_pid("legal")
    assert street is not None and legal is not None and len({street, legal, os.getpid()}) == 3

    # Every half second: the other room's frame count, and whether the app answers.
    samples: list[tuple[int, int]] = []

    async def watch() -> None:
        while True:
            response = await http.get("/healthz")
            samples.append((other.frames, response.status))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    clock.advance(minutes=5)
    await asyncio.sleep(1.0)
    os.kill(street, signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.wait_for(site.closed_by_server.wait(), 10)
    assert site.ws is not None and site.ws.close_code == 1012  # "room-restarting": come back
    await site.drop()
    clock.advance(minutes=1)
    back = await worker_app.participant("site01", colour=COLOURS["site01"], receive_audio=False)
    await back.connect_media()
    await back.wait_frames(1)
    print(f"wall back {time.monotonic() - killed:.2f} s after the worker was killed")
    assert time.monotonic() - killed < 10
    await asyncio.sleep(1.0)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)

    assert all(status == 200 for _, status in samples)
    frames = [count for count, _ in samples]
    assert all(later > earlier for earlier, later in zip(frames, frames[2:], strict=False)), frames
    assert registry.worker_pid("legal") == legal
    assert registry.worker_pid("street") not in (None, street)
    metrics = await (await http.get("/metrics", headers=METRICS_AUTH)).text()
    assert "yizhan_room_worker_restarts_total 1.0" in metrics
    assert "yizhan_room_workers_hung_total 0.0" in metrics  # it died; it did not hang
    assert "yizhan_room_workers 2.0" in metrics

    clock.advance(minutes=2)
    for client in (back, other):  # each leaves, and the room closes its socket
        await client.send("leave")
        await asyncio.wait_for(client.closed_by_server.wait(), 15)
    rows = await rows_after_leaving(http, 3)
    stays = sorted((r.joined_at, r.seconds) for r in rows if r.display_name == "东坡村")
    assert len(stays) == 2  # the gap: left when the worker died, back with the fresh one
    (first_in, first_s), (second_in, second_s) = stays
    # The worker's clock is the app's (a test's frozen clock) plus the real time since.
    assert abs(first_s - 300) < 15 and abs(second_s - 120) < 15
    assert abs((second_in - first_in).total_seconds() - 360) < 15
    await poll(lambda: registry.room_ids() == [])  # rooms closed: workers gone


@SQLITE
async def test_the_app_stops_its_workers_when_it_closes(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    app = app_factory(room_workers=True, media_addresses=("127.0.0.1",), media_ports=PORTS)
    app[ON_DUTY] = EveryoneOnDuty()
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    host = await room_app.participant("host")
    registry = app[REGISTRY]
    assert isinstance(registry, ProcessRoomRegistry)
    pids = registry.worker_pids()
    assert len(pids) == 1
    await room_app.http.close()  # the app shuts down with the host still in the room
    assert host.ws is not None
    await asyncio.wait_for(host.closed_by_server.wait(), 10)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert [n["reason"] for n in host.of_type("removed")] == ["room-closed"]


def test_a_process_per_room_is_the_default_and_its_ports_come_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {"YIZHAN_VAR_DIR": str(tmp_path), "YIZHAN_SECRET_KEY": "k" * 40}
    settings = settings_from_env(env)
    assert (settings.room_workers, settings.media_ports, settings.media_addresses) == (
        True, (40000, 40999), ())
    settings = settings_from_env({**env, "YIZHAN_ROOM_WORKERS": "false",
                                  "YIZHAN_MEDIA_PORTS": "50000-50099",
                                  "YIZHAN_MEDIA_ADDRESSES": "192.168.1.10, 10.0.0.2"})
    assert (settings.room_workers, settings.media_ports, settings.media_addresses) == (
        False, (50000, 50099), ("192.168.1.10", "10.0.0.2"))
    assert settings_from_env({**env, "YIZHAN_MEDIA_PORTS": "any"}).media_ports is None
    for bad in ("40000", "40999-40000", "80-90", "a-b"):
        with pytest.raises(ConfigError, match="YIZHAN_MEDIA_PORTS"):
            settings_from_env({**env, "YIZHAN_MEDIA_PORTS": bad})
    with pytest.raises(ConfigError, match="YIZHAN_ROOM_WORKERS"):
        settings_from_env({**env, "YIZHAN_ROOM_WORKERS": "sometimes"})
