"""One site floods the signalling socket of the real app while two others watch the wall.

The flooder (site01, as in the report that empties the street room) sends
3,000 hand and audio-only toggles as fast as its socket takes them. The
host and site02 publish cameras and read normally: they must stay, keep
getting notices and keep getting the wall; the flooder gets ``rate-limited``
errors and, flooding on, is closed by itself with 1008.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rooms.protocol.signalling import CLOSE_FLOODING
from rooms.protocol.snapshot import state_notices
from rooms.protocol.throttle import MESSAGE_BURST
from server.edge.room_socket import ON_DUTY
from server.meetings.registry import REGISTRY, WALL
from server.meetings.room_access import EveryoneOnDuty
from tests.conftest import AppFactory, MutableClock
from tests.support.loopback import TEST_WALL, loopback_ice, poll
from tests.test_rooms_app import RoomApp

from .test_flood import flood

__all__ = ["loopback_ice"]  # autouse: ICE on 127.0.0.1 only

pytestmark = [pytest.mark.media, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def street(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> AsyncIterator[RoomApp]:
    app = app_factory()
    app[WALL] = TEST_WALL
    app[ON_DUTY] = EveryoneOnDuty()
    street = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        yield street
    finally:
        for client in street.clients:
            await client.close()
        registry = app.get(REGISTRY)
        if registry is not None:
            await poll(lambda: not registry.room_ids())


def flood_of(count: int) -> list[dict[str, Any]]:
    cycle: list[dict[str, Any]] = [
        {"type": "raise_hand"}, {"type": "audio_only", "enabled": True},
        {"type": "lower_hand"}, {"type": "audio_only", "enabled": False},
    ]
    return [cycle[i % len(cycle)] for i in range(count)]


def hand_queue(notice: dict[str, Any]) -> list[str]:
    return [h["participant_id"] for h in notice["queue"]]


async def test_a_flooding_site_empties_nothing_but_its_own_socket(street: RoomApp) -> None:
    host = await street.participant("host", colour=(220, 30, 30), receive_audio=False)
    site02 = await street.participant("site02", colour=(30, 40, 220), receive_audio=False)
    flooder = await street.participant("site01", receive_audio=False, receive_video=False)
    watchers = (host, site02)
    for c in watchers:
        await c.connect_media()
    for c in watchers:
        await c.wait_connected()
        await c.wait_frames(3)
    conference = street.http.app[REGISTRY].get("street")
    assert conference is not None
    flooder_id = flooder.of_type("welcome")[0]["participant_id"]
    site02_id = site02.of_type("welcome")[0]["participant_id"]
    marks = {id(c): len(c.notices) for c in (host, site02, flooder)}

    sent = await flood(flooder, flood_of(3000))
    await poll(flooder.closed_by_server.is_set)

    assert flooder.ws is not None and flooder.ws.close_code == CLOSE_FLOODING
    errors = [n for n in flooder.notices[marks[id(flooder)]:] if n["type"] == "error"]
    assert errors and {e["code"] for e in errors} == {"rate-limited"}
    assert all(e["retry_after"] > 0 and e["request"] in ("raise_hand", "lower_hand", "audio_only")
               for e in errors)
    assert MESSAGE_BURST <= len(errors) < sent
    for c in watchers:  # not closed, and nobody sent them an error or a goodbye
        assert not c.closed_by_server.is_set() and c.ws is not None and not c.ws.closed
        assert {n["type"] for n in c.notices[marks[id(c)]:]} <= {
            "layout", "participants", "hands", "room_state", "waiting_list", "speaking"}

    # The wall keeps coming, and so do the notices.
    frames = {id(c): c.frames for c in watchers}
    for c in watchers:
        await c.wait_frames(10)
        assert c.frames >= frames[id(c)] + 10
    marks = {id(c): len(c.notices) for c in watchers}
    await site02.request("raise_hand")
    for c in watchers:
        await c.expect("hands", lambda n: site02_id in hand_queue(n), after=marks[id(c)])
        await c.expect("layout", lambda n: any(
            t["participant_id"] == site02_id and t["hand_raised"] for t in n["tiles"]),
            after=marks[id(c)])
    marks = {id(c): len(c.notices) for c in watchers}
    await host.request("give_floor", participant_id=site02_id)
    for c in watchers:
        layout = await c.expect("layout", lambda n: n["mode"] == "spotlight", after=marks[id(c)])
        assert layout["spotlight"] == site02_id

    # The room is as its last notices say: the flooder's place is held, its state
    # that of the messages that got through.
    settings = conference.config.wall
    flooder_state = conference.room.participants[flooder_id]
    assert flooder_state.reconnecting

    def agreed() -> bool:
        now = state_notices(conference.room, conference.room.layout(settings.width,
                                                                    settings.height))
        return all(c.last(n.type) == n.to_dict() for c in watchers for n in now
                   if n.type != "waiting_list" or c is host)

    await poll(agreed)
    participants = host.last("participants")
    assert participants is not None
    (entry,) = [p for p in participants["participants"] if p["participant_id"] == flooder_id]
    assert entry["reconnecting"] is True
    assert entry["audio_only"] == flooder_state.audio_only
    assert entry["hand_raised"] == (flooder_state.hand_raised_at is not None)
    assert conference.stats()["participants"] == 3
    for c in watchers:
        await c.wait_frames(5)

    # The flooder may come back into its place (and leaves politely at the end).
    back = await street.participant("site01", receive_audio=False, receive_video=False)
    assert back.of_type("welcome")[0]["participant_id"] == flooder_id
    await host.expect("participants", lambda n: not any(
        p["reconnecting"] for p in n["participants"]))
