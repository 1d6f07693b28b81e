"""The page keeps itself in the room: a link that drops and comes back on a new address, a restart.

A village PC (Chromium in a network namespace of the test's own, at 10.213.0.2) is in the
street meeting over HTTPS with its hand up. Its link goes down; the server notices (pings)
and the wall marks its tile as reconnecting while holding its place. The link comes back
with a new address (10.213.0.3), as when a PC falls from Wi-Fi to 4G: the page is back in
the room, in the same tile with its hand still up, its wall playing within 10 seconds,
and the attendance shows one stay. A server restart mid-session brings the page back too.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page
from sqlalchemy import select

from server.accounts import users as accounts
from server.accounts.directory import Actor
from server.core.keys import DATABASE
from server.edge import tls
from server.meetings.registry import REGISTRY
from server.models import Attendance, User
from tests.conftest import AppFactory, MutableClock
from tests.support.browser import chromium
from tests.support.live import LiveApp
from tests.support.loopback import loopback_ice
from tests.support.netns import Lab
from tests.test_rooms_app import AppRoomClient

from .netlab import (
    WEBRTC_ARGS,
    certificate,
    chromium_in,
    network_lab,
    signed_in_page,
    small_app,
    tls_server,
    wall_playing,
)

__all__ = ["certificate", "loopback_ice", "network_lab"]

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

NEW_ADDRESS = "10.213.0.3"


async def device_token(app: Any, username: str, clock: MutableClock) -> str:
    async with app[DATABASE]() as session, session.begin():
        admin = await session.scalar(select(User).where(User.username == "admin"))
        user = await session.scalar(select(User).where(User.username == username))
        assert admin is not None and user is not None
        _, token = await accounts.issue_device_token(
            session, user.id, "meeting room PC", actor=Actor(admin.id), clock=clock)
    return token


def tile(layout: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    return next((t for t in (layout or {}).get("tiles", []) if t["participant_id"] == key), None)


async def enter_room(page: Page, base: str) -> str:
    await page.goto(base + "/rooms/street")
    await page.wait_for_selector("#room[data-participant-id]")
    key = await page.get_attribute("#room", "data-participant-id")
    assert key is not None
    return key


async def test_a_site_whose_link_drops_is_back_on_a_new_address_in_its_tile_within_10_s(
    network_lab: Lab, certificate: tls.CertFiles, app_factory: AppFactory, tmp_path: Path,
    clock: MutableClock,
) -> None:
    trusted = ssl.create_default_context(cafile=str(certificate.cert))
    async with tls_server(app_factory, certificate, heartbeat=2.0) as live, \
            chromium_in(network_lab, tmp_path, certificate) as browser, \
            aiohttp.ClientSession(base_url=live.url,
                                  connector=aiohttp.TCPConnector(ssl=trusted)) as http:
        assert live.app is not None
        # Another site watches the layout from the server's side of the link.
        token = await device_token(live.app, "site02", clock)
        watcher = AppRoomClient(http, "street",  # type: ignore[arg-type]
                                headers={"Authorization": f"Bearer {token}"})
        await watcher.open()
        await watcher.join()
        try:
            page = await signed_in_page(browser, live.url, "site01")
            key = await enter_room(page, live.url)
            await wall_playing(page)
            await page.click("[data-testid=hand]")
            await watcher.expect("layout", lambda n: (tile(n, key) or {}).get("hand_raised"))
            places = [t["participant_id"] for t in (watcher.last("layout") or {})["tiles"]]

            mark = len(watcher.notices)
            network_lab.cut()
            cut_at = time.monotonic()
            await watcher.expect("layout", lambda n: (tile(n, key) or {}).get("reconnecting"),
                                 after=mark)
            shown = time.monotonic() - cut_at
            await page.wait_for_selector("#room[data-state='reconnecting']")
            noticed = time.monotonic() - cut_at
            await asyncio.sleep(max(0.0, 3.0 - noticed))  # a few failed retries meanwhile

            mark = len(watcher.notices)
            network_lab.restore(NEW_ADDRESS)
            restored_at = time.monotonic()
            layout = await watcher.expect(
                "layout", lambda n: (tile(n, key) or {}).get("reconnecting") is False, after=mark)
            await page.wait_for_selector("#room[data-state='live']")
            await wall_playing(page)
            back = time.monotonic() - restored_at
            print(f"tile marked reconnecting {shown:.1f} s after the cut, the page knew in "
                  f"{noticed:.1f} s; wall back {back:.1f} s after the link returned")
            assert back < 10

            # The same place on the wall, the hand still up, now from the new address.
            assert [t["participant_id"] for t in layout["tiles"]] == places
            assert (tile(layout, key) or {})["hand_raised"] is True
            await page.wait_for_selector(f"#overlay [data-participant-id='{key}'][data-hand='true']")
            assert await page.get_attribute("#room", "data-participant-id") == key
            conference = live.app[REGISTRY].get("street")
            assert conference is not None
            peer = conference._members[key].peer
            assert peer is not None
            (transceiver, *_) = peer.pc.getTransceivers()
            connection = transceiver.receiver.transport.transport.iceGatherer._connection
            (pair,) = connection._nominated.values()
            assert pair.remote_candidate.host == NEW_ADDRESS
            async with live.app[DATABASE]() as session:
                stays = list(await session.scalars(
                    select(Attendance).where(Attendance.participant_key == key)))
            assert len(stays) == 1 and stays[0].left_at is None  # one stay, still open
        finally:
            await watcher.close()


async def test_a_server_restart_brings_the_page_back_into_the_room(
    app_factory: AppFactory,
) -> None:
    live = LiveApp(lambda: small_app(app_factory), host="127.0.0.1")
    await live.start()
    try:
        async with chromium([*WEBRTC_ARGS, "--allow-loopback-in-peer-connection"]) as browser:
            page = await signed_in_page(browser, live.url, "site01")
            key = await enter_room(page, live.url)
            await wall_playing(page)

            stopping = asyncio.create_task(live.stop())
            await page.wait_for_selector("#room[data-state='reconnecting']")
            await stopping
            await asyncio.sleep(2.0)  # down for a while: the page keeps trying
            app = await live.start()
            started = time.monotonic()
            await page.wait_for_selector("#room[data-state='live']")
            await page.wait_for_selector(f"#overlay [data-participant-id='{key}']")
            await wall_playing(page)
            print(f"page back in the room {time.monotonic() - started:.1f} s after the restart")
            conference = app[REGISTRY].get("street")
            assert conference is not None and key in conference.room.participants
    finally:
        await live.stop()
