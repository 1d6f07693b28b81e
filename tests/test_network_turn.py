"""TURN: a client that may only use relayed candidates gets its wall through coturn.

The credentials are the ones the room page hands a browser (coturn's REST scheme from the
shared secret); the secret itself never appears in the page. coturn checks their expiry
against its own clock, so this app runs on the real time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from server.core.config import TurnSettings
from server.meetings.registry import WALL
from tests.conftest import AppFactory, MutableClock, login
from tests.support.coturn import Coturn, running_coturn
from tests.support.loopback import TEST_WALL, loopback_ice
from tests.test_rooms_app import COLOURS, AppRoomClient, RoomApp, colours_match

__all__ = ["loopback_ice"]  # autouse: host candidates on 127.0.0.1 only

pytestmark = [pytest.mark.media, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

SECRET = "coturn-test-secret-3f9a"
CONFIG_RE = re.compile(r'<script type="application/json" id="room-config">(.*?)</script>', re.S)


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path, SECRET, relay_ports=(49300, 49400)) as server:
        yield server


def relay_only(ice_servers: list[dict[str, Any]]) -> RTCConfiguration:
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential")) for s in ice_servers]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)


def ice_connection(client: AppRoomClient) -> Any:
    assert client.pc is not None
    (transceiver, *_) = client.pc.getTransceivers()
    return transceiver.receiver.transport.transport.iceGatherer._connection


async def test_a_relay_only_client_gets_its_wall_through_coturn(
    coturn: Coturn, app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    app = app_factory(turn=TurnSettings(urls=(coturn.url,), shared_secret=SECRET))
    app[WALL] = TEST_WALL
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        # What the page gives the browser: short-lived credentials, never the secret.
        site_http = await room_app.signed_in("site01")
        page = await (await site_http.get("/rooms/street")).text()
        assert SECRET not in page
        match = CONFIG_RE.search(page)
        assert match is not None
        ice_servers = json.loads(match.group(1))["iceServers"]
        (turn,) = ice_servers
        assert turn["urls"] == [coturn.url]
        expiry, user = turn["username"].split(":", 1)
        assert user.startswith("site:") and int(expiry) > clock.now.timestamp()

        host = await room_app.participant("host", colour=COLOURS["host"], receive_audio=False)
        await host.connect_media()
        site = AppRoomClient(site_http, "street", headers={"Origin": room_app.origin},
                             colour=COLOURS["site01"], receive_audio=False,
                             configuration=relay_only(ice_servers))
        room_app.clients.append(site)
        await site.open()
        welcome = await site.join()
        await site.connect_media()
        await site.wait_connected()
        layout = await site.expect("layout", lambda n: len(n["tiles"]) == 2)
        colours = {host.of_type("welcome")[0]["participant_id"]: COLOURS["host"],
                   welcome["participant_id"]: COLOURS["site01"]}
        await site.wait_frames(3)
        await site.until(partial(colours_match, site, layout, colours))

        connection = ice_connection(site)
        assert {c.type for c in connection.local_candidates} == {"relay"}
        (pair,) = connection._nominated.values()
        assert pair.local_candidate.type == "relay"
        assert pair.local_candidate.host == "127.0.0.1"
        # ... and the host, on the direct path, sees the site's camera the same way.
        await host.until(partial(colours_match, host, layout, colours))
    finally:
        for client in room_app.clients:
            await client.close()


async def test_a_page_that_reconnects_later_gets_fresh_credentials(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    turn = TurnSettings(urls=("turn:turn.example:3478",), shared_secret=SECRET,
                        credential_ttl_s=600)
    http = await aiohttp_client(app_factory(turn=turn))
    await login(http, "site01")
    page = await (await http.get("/rooms/legal")).text()
    assert 'id="room-network"' in page and '"/rooms/legal/ice-servers"' in page
    clock.advance(hours=3)  # the credentials in the page ran out long ago
    resp = await http.get("/rooms/legal/ice-servers")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    body = await resp.text()
    assert SECRET not in body
    (server,) = json.loads(body)["iceServers"]
    expiry, user = server["username"].split(":", 1)
    assert int(expiry) == int(clock.now.timestamp()) + 600 and user.startswith("site:")
    assert (await http.get("/rooms/nowhere/ice-servers")).status == 404
