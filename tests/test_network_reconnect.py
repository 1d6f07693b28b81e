"""Reconnecting in the real app: one stay through a reconnection, two when the hold ran out.

The page's own reconnecting (new socket, new peer connection, backoff) is driven in
Chromium by tests/browser/test_room_reconnect.py; here aiortc clients drop their socket
the way a lost network does (no ``leave``) and come back with the same device token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from server.meetings.registry import REGISTRY, WALL
from tests.conftest import METRICS_AUTH, AppFactory, MutableClock
from tests.support.loopback import TEST_WALL, loopback_ice
from tests.test_rooms_app import COLOURS, RoomApp, attendance_rows, room_app, rows_after_leaving

__all__ = ["loopback_ice", "room_app"]

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def reconnecting(layout: dict[str, object] | None, key: str) -> bool | None:
    tiles = (layout or {}).get("tiles", [])
    assert isinstance(tiles, list)
    return next((t["reconnecting"] for t in tiles if t["participant_id"] == key), None)


@pytest.mark.media
@SQLITE
async def test_a_site_back_within_the_hold_is_one_stay_with_its_tile_and_hand(
    room_app: RoomApp,
) -> None:
    host = await room_app.participant("host", receive_audio=False)
    site = await room_app.participant("site01", colour=COLOURS["site01"], receive_audio=False)
    key = site.of_type("welcome")[0]["participant_id"]
    await site.connect_media()
    await site.wait_frames(2)
    await site.request("raise_hand")
    await host.expect("hands", lambda n: [h["participant_id"] for h in n["queue"]] == [key])
    before = [t["participant_id"] for t in (host.last("layout") or {})["tiles"]]

    room_app.clock.advance(minutes=10)
    mark = len(host.notices)
    await site.drop()
    await host.expect("layout", lambda n: reconnecting(n, key) is True, after=mark)
    text = await (await room_app.http.get("/metrics", headers=METRICS_AUTH)).text()
    assert 'yizhan_room_reconnecting{room="street"} 1.0' in text

    room_app.clock.advance(seconds=40)
    back = await room_app.participant("site01", colour=COLOURS["site01"], receive_audio=False)
    started = time.monotonic()
    assert back.of_type("welcome")[0]["participant_id"] == key
    layout = await host.expect("layout", lambda n: reconnecting(n, key) is False, after=mark)
    assert [t["participant_id"] for t in layout["tiles"]] == before  # the same place
    assert [h["participant_id"] for h in (back.last("hands") or {})["queue"]] == [key]
    await back.connect_media()
    await back.wait_frames(1)
    print(f"wall back {time.monotonic() - started:.2f} s after the site reconnected")
    assert time.monotonic() - started < 10

    room_app.clock.advance(minutes=5)
    await back.close()
    await host.close()
    rows = await rows_after_leaving(room_app.http, 2)
    site_rows = [r for r in rows if r.display_name == "东坡村"]
    assert len(site_rows) == 1  # one stay, the gap only in the log
    assert site_rows[0].seconds == (10 * 60 + 40 + 5 * 60)


@pytest.mark.media
@SQLITE
async def test_after_the_hold_the_stay_ends_when_the_connection_was_lost(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    app = app_factory(reconnect_hold_s=0.5)
    app[WALL] = TEST_WALL
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        host = await room_app.participant("host")
        site = await room_app.participant("site01")
        clock.advance(minutes=3)
        mark = len(host.notices)
        await site.drop()
        await host.expect("layout", lambda n: len(n["tiles"]) == 1, after=mark)  # hold ran out
        clock.advance(minutes=2)
        await room_app.participant("site01")  # back, but too late: a second stay
        for _ in range(100):  # the hooks write in the background
            rows = await attendance_rows(room_app.http)
            if len(rows) == 3:
                break
            await asyncio.sleep(0.05)
        stays = [(r.seconds, r.left_at is None) for r in rows if r.display_name == "东坡村"]
        assert stays == [(180, False), (None, True)]
        assert room_app.http.app[REGISTRY].stats().per_room[0].reconnecting == 0
    finally:
        for client in room_app.clients:
            await client.close()
