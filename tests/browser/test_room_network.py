"""The room over a real network: HTTPS from a LAN address, and a refusal at capacity.

A community PC opens ``https://10.213.0.1:PORT/rooms/street`` from its own address in a
network namespace of the test's own; trusting the street office's self-signed certificate
it gets a secure context, so Chromium gives it the camera and the server puts that camera
on the wall. The same page over plain HTTP from the LAN is not a secure context: no
camera, only watching. At capacity the page says why it is not let in, in Chinese.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Page

from rooms.load import FixedLoad
from server.edge import tls
from server.meetings.registry import CPU_PROBE, REGISTRY
from tests.conftest import AppFactory
from tests.support.browser import chromium
from tests.support.live import LiveApp
from tests.support.loopback import loopback_ice, poll
from tests.support.netns import CLIENT_ADDRESS, Lab

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


async def enter_room(page: Page, base: str) -> str:
    await page.goto(base + "/rooms/street")
    await page.wait_for_selector("#room[data-participant-id]")
    key = await page.get_attribute("#room", "data-participant-id")
    assert key is not None
    return key


async def test_a_lan_pc_joins_over_https_with_its_camera_and_not_over_http(
    network_lab: Lab, certificate: tls.CertFiles, app_factory: AppFactory, tmp_path: Path,
) -> None:
    async with tls_server(app_factory, certificate, plain_port=True) as live, \
            chromium_in(network_lab, tmp_path, certificate) as browser:
        assert live.app is not None
        page = await signed_in_page(browser, live.url, "site01")
        key = await enter_room(page, live.url)
        assert page.url == f"https://10.213.0.1:{live.port}/rooms/street"
        assert await page.evaluate("window.isSecureContext") is True
        await page.wait_for_selector("#overlay[data-tiles='1']")
        await wall_playing(page)
        await page.wait_for_selector("#room[data-state='live']")
        # The server decodes this PC's camera for the wall, over the LAN address.
        conference = live.app[REGISTRY].get("street")
        assert conference is not None
        await poll(lambda: key in conference.wall._inputs
                   and conference.wall._inputs[key].frames_decoded > 0)
        peer = conference._members[key].peer
        assert peer is not None
        (transceiver, *_) = peer.pc.getTransceivers()
        connection = transceiver.receiver.transport.transport.iceGatherer._connection
        (pair,) = connection._nominated.values()
        assert pair.remote_candidate.host == CLIENT_ADDRESS

        # On a slow link the site switches to audio only, and back.
        assert await page.inner_text("[data-testid=audio-only]") == "仅听声音"
        await page.click("[data-testid=audio-only]")
        await page.wait_for_selector("#room[data-audio-only='true']")
        await poll(lambda: conference.stats()["audio_only"] == 1)
        assert await page.is_visible("[data-testid=audio-only-note]")
        assert await page.inner_text("[data-testid=audio-only]") == "恢复视频"
        await page.click("[data-testid=audio-only]")
        await page.wait_for_selector("#room[data-audio-only='false']")
        await poll(lambda: conference.stats()["audio_only"] == 0)
        await wall_playing(page)

        # The same room over plain HTTP from the LAN: not a secure context, so no camera.
        plain = await signed_in_page(browser, live.plain_url, "site02")
        plain_key = await enter_room(plain, live.plain_url)
        assert await plain.evaluate("window.isSecureContext") is False
        assert await plain.evaluate("navigator.mediaDevices === undefined") is True
        notice = plain.locator("[data-testid=notice].info")
        await notice.wait_for()
        assert "无法开启摄像头或麦克风" in await notice.inner_text()
        await plain.wait_for_selector("#overlay[data-tiles='2']")
        await wall_playing(plain)  # it still watches and listens
        assert plain_key not in conference.wall._inputs


async def test_at_capacity_the_page_says_so_and_gets_in_when_there_is_room(
    app_factory: AppFactory,
) -> None:
    cpu = FixedLoad(0.95)

    def app() -> web.Application:
        made = small_app(app_factory)
        made[CPU_PROBE] = cpu
        return made

    live = LiveApp(app, host="127.0.0.1")
    await live.start()
    try:
        async with chromium([*WEBRTC_ARGS, "--allow-loopback-in-peer-connection"]) as browser:
            page = await signed_in_page(browser, live.url, "site01")
            await page.goto(live.url + "/rooms/street")
            await page.wait_for_selector("#room[data-state='refused'][data-refused='server-busy']")
            status = await page.inner_text("[data-testid=status]")
            assert status == ("服务器已满负荷，暂时无法接纳新的参会方；正在进行的会议不受影响。"
                              " 稍后将自动重试…")
            assert await page.get_attribute("#room", "data-participant-id") is None
            cpu.value = 0.2  # room again: the page asks again by itself and gets in
            await page.wait_for_selector("#room[data-state='live']", timeout=40_000)
            assert await page.get_attribute("#room", "data-refused") is None
    finally:
        await live.stop()
