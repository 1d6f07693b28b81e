"""What the people in a room see: the host and two sites in Chromium with fake cameras.

Each is its own browser context (its own cookies), signs in, opens the street's room and
sees the wall with three named tiles; site01 raises its hand, the host gives it the
floor from the queue, and every wall switches to the spotlight on site01.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from server.meetings.registry import WALL
from tests.conftest import AppFactory
from tests.support.browser import chromium, signed_in_page
from tests.support.loopback import TEST_WALL, loopback_ice

__all__ = ["loopback_ice"]  # autouse: the server's aiortc gathers on 127.0.0.1 only

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
# The server only offers 127.0.0.1; let Chromium use loopback too, with real addresses
# (not mDNS names) in its candidates, and play the wall's sound without a click.
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
NAMES = {"host": "街道会议主持人", "site01": "东坡村", "site02": "西岭村"}


@pytest.fixture
def app_factory(app_factory: AppFactory) -> AppFactory:
    """The app with a small wall, so three browsers and the server share two cores."""
    def factory(**overrides: object) -> Any:
        app = app_factory(**overrides)
        app[WALL] = TEST_WALL
        return app
    return factory


async def enter(browser: Browser, base: str, username: str, *, init_script: str = "") -> Page:
    page = await signed_in_page(browser, base, username, wait_ms=WAIT_MS,
                                init_script=init_script)
    await page.click("nav a[href='/rooms']")
    await page.click("[data-room=street] a.button.primary")
    await page.wait_for_url(base + "/rooms/street")
    return page


async def tiles(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await page.eval_on_selector_all(
        "#overlay [data-testid=tile]",
        """els => els.map(e => ({id: e.dataset.participantId, index: Number(e.dataset.index),
             w: Number(e.dataset.w), h: Number(e.dataset.h),
             name: e.querySelector('[data-testid=tile-name]').textContent,
             box: e.getBoundingClientRect().width}))""")
    return result


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_host_gives_the_floor_to_a_raised_hand(live_server: str) -> None:
    async with chromium(WEBRTC_ARGS) as browser:
        pages = {name: await enter(browser, live_server, name) for name in NAMES}

        for page in pages.values():
            await page.wait_for_selector("#overlay[data-tiles='3']")
            assert sorted(t["name"] for t in await tiles(page)) == sorted(NAMES.values())
            assert await page.get_attribute("#overlay", "data-mode") == "grid"
            await page.wait_for_function(
                "() => { const v = document.getElementById('wall');"
                " return v.videoWidth > 0 && !v.paused && v.currentTime > 0; }")
            assert await page.eval_on_selector("#wall", "v => v.videoWidth") == TEST_WALL.width
        host, site01 = pages["host"], pages["site01"]
        assert await host.get_attribute("#room", "data-role") == "host"
        assert await site01.get_attribute("#room", "data-role") == "site"
        assert await host.is_visible("[data-testid=host-panel]")
        assert not await site01.is_visible("[data-testid=host-panel]")
        assert await site01.is_visible("#side-panel") is False  # empty until a feature fills it
        site_key = await site01.get_attribute("#room", "data-participant-id")
        assert site_key is not None and site_key.startswith("site:")

        await site01.click("[data-testid=hand]")
        queued = f"[data-testid=hands-queue] li[data-participant-id='{site_key}']"
        await host.wait_for_selector(queued)
        assert await host.inner_text(f"{queued} .person-name") == NAMES["site01"]
        await site01.wait_for_selector(
            f"#overlay [data-participant-id='{site_key}'][data-hand='true']")
        await host.click(f"{queued} button[data-action=give_floor]")

        for page in pages.values():
            await page.wait_for_selector(f"#overlay[data-mode='spotlight'][data-spotlight='{site_key}']")
            shown = await tiles(page)
            large = next(t for t in shown if t["index"] == 0)
            assert large["id"] == site_key and large["name"] == NAMES["site01"]
            assert all(large["w"] > 2 * t["w"] and large["box"] > 2 * t["box"]
                       for t in shown if t is not large)
        await host.wait_for_selector("[data-testid=hands-queue] li.empty")
        assert await site01.inner_text("[data-testid=hand]") == "举手"
        assert await pages["site02"].eval_on_selector("#wall", "v => v.videoWidth") > 0
