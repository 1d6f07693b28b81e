"""Overload: at capacity a newcomer is refused clearly, and the running room keeps its frame rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from rooms.load import FixedLoad
from server.core.config import ConfigError, settings_from_env
from server.meetings.registry import CPU_PROBE, REGISTRY, WALL
from tests.conftest import METRICS_AUTH, AppFactory, MutableClock
from tests.support.loopback import TEST_WALL, loopback_ice
from tests.test_rooms_app import COLOURS, AppRoomClient, RoomApp

__all__ = ["loopback_ice"]  # autouse: ICE on 127.0.0.1 only

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def running_room(room_app: RoomApp) -> list[AppRoomClient]:
    """The street meeting: the host and two sites, cameras on, the wall running."""
    clients = [await room_app.participant(name, colour=rgb, receive_audio=False)
               for name, rgb in COLOURS.items()]
    await asyncio.gather(*(c.connect_media() for c in clients))
    for c in clients:
        await c.wait_frames(3)
    return clients


async def frame_rate(room_app: RoomApp, watcher: AppRoomClient, seconds: float) -> tuple[
        float, float]:
    """Frames the street's wall made per second, and frames ``watcher`` decoded per second."""
    conference = room_app.http.app[REGISTRY].get("street")
    assert conference is not None
    made, seen, started = conference.wall.frames_encoded, watcher.frames, time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return ((conference.wall.frames_encoded - made) / elapsed, (watcher.frames - seen) / elapsed)


async def refused(room_app: RoomApp, username: str, room: str) -> dict[str, object]:
    client = await room_app.participant(username, room=room, join=False)
    mark = await client.request("join")
    error = await client.expect("error", after=mark)
    assert error["request"] == "join"
    return error


def metric(text: str, name: str) -> float:
    return float(next(line.split()[-1] for line in text.splitlines()
                      if line.startswith((name + " ", name + "{"))))


@pytest.mark.media
@SQLITE
async def test_at_capacity_newcomers_are_refused_and_the_room_keeps_its_frame_rate(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    cpu = FixedLoad(0.2)
    app = app_factory()
    app[WALL] = TEST_WALL
    app[CPU_PROBE] = cpu
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        clients = await running_room(room_app)
        cpu.value = 0.9  # the measurement says: at the budget (0.8 by default)
        for username, room in (("site03", "street"), ("deputy1", "duty-station")):
            error = await refused(room_app, username, room)
            assert error["code"] == "server-busy"
            assert "capacity" in str(error["message"])
        registry = room_app.http.app[REGISTRY]
        assert registry.room_ids() == ["street"]  # no room was opened for the refused
        made, seen = await frame_rate(room_app, clients[0], 3.0)
        print(f"street wall at capacity: {made:.1f} fps made, {seen:.1f} fps decoded "
              f"(configured {TEST_WALL.fps})")
        assert made >= 0.9 * TEST_WALL.fps
        assert seen >= 0.8 * TEST_WALL.fps

        text = await (await room_app.http.get("/metrics", headers=METRICS_AUTH)).text()
        assert 'yizhan_rooms_refused_total{reason="server-busy"} 2.0' in text
        assert metric(text, "yizhan_server_cpu_load") == pytest.approx(0.9)
        assert metric(text, "yizhan_server_cpu_budget") == pytest.approx(0.8)
        assert metric(text, "yizhan_room_frame_budget") == pytest.approx(0.7)
        assert metric(text, "yizhan_rooms_max") == 8
        assert metric(text, "yizhan_room_participants_max") == 24
        assert metric(text, "yizhan_room_reconnect_hold_seconds") == 60
        assert metric(text, 'yizhan_room_fps{room="street"}') > 0.8 * TEST_WALL.fps

        cpu.value = 0.3  # room again: the same site is let in
        late = await room_app.participant("site03")
        assert late.of_type("welcome")[0]["role"] == "site"
    finally:
        for client in room_app.clients:
            await client.close()


@pytest.mark.media
@SQLITE
async def test_the_measured_cpu_load_refuses_newcomers_over_a_tight_budget(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    app = app_factory(cpu_budget=0.01)  # the real process CPU probe, a budget it must exceed
    app[WALL] = TEST_WALL
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        host = await room_app.participant("host", colour=COLOURS["host"], receive_audio=False)
        await host.connect_media()
        await host.wait_frames(5)
        await asyncio.sleep(1.5)  # a few samples of the wall running
        registry = room_app.http.app[REGISTRY]
        assert registry.cpu.load() > 0.01
        assert (await refused(room_app, "site01", "street"))["code"] == "server-busy"
        made, _ = await frame_rate(room_app, host, 2.0)
        assert made >= 0.9 * TEST_WALL.fps
    finally:
        for client in room_app.clients:
            await client.close()


def test_limits_come_from_the_environment(tmp_path: Path) -> None:
    env = {"YIZHAN_VAR_DIR": str(tmp_path), "YIZHAN_SECRET_KEY": "k" * 40}
    settings = settings_from_env(env)
    assert (settings.cpu_budget, settings.frame_budget, settings.reconnect_hold_s) == (
        0.8, 0.7, 60.0)
    settings = settings_from_env({**env, "YIZHAN_CPU_BUDGET": "65%", "YIZHAN_FRAME_BUDGET": "0.5",
                                  "YIZHAN_RECONNECT_HOLD": "90"})
    assert (settings.cpu_budget, settings.frame_budget, settings.reconnect_hold_s) == (
        0.65, 0.5, 90.0)
    for name, value in (("YIZHAN_CPU_BUDGET", "1.5"), ("YIZHAN_CPU_BUDGET", "lots"),
                        ("YIZHAN_FRAME_BUDGET", "0"), ("YIZHAN_RECONNECT_HOLD", "-1")):
        with pytest.raises(ConfigError, match=name):
            settings_from_env({**env, name: value})
