"""Each role sees the room controls it may use, and is told what it does there.

The host, a site and an officer off duty (an observer) in the legal consultation room, each
in Chromium with fake devices: the observer sees only the controls it can use and a line
saying it listens in until its duty hours, while the wall still plays; the site is told
"请您发言" while it has the floor; leaving is the red button; a page that is closed takes
its tile with it at once (no "reconnecting" ghost for the hold's 60 s).
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
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
RED = "rgb(179, 38, 30)"  # --error in app.css

# Every button or button-styled link of the room that a person can see (not hidden, not
# inside something hidden, not invisible): its data-testid or id.
VISIBLE_CONTROLS = """() => [...document.querySelectorAll('#room button, #room a.button')]
  .filter(e => e.offsetParent !== null && getComputedStyle(e).visibility === 'visible'
               && e.getClientRects().length > 0)
  .map(e => e.dataset.testid || e.id || e.dataset.action || e.textContent.trim())
  .sort()"""


@pytest.fixture
def app_factory(app_factory: AppFactory) -> AppFactory:
    """The app with a small wall, so three browsers and the server share two cores."""
    def factory(**overrides: object) -> Any:
        app = app_factory(**overrides)
        app[WALL] = TEST_WALL
        return app
    return factory


async def enter(browser: Browser, base: str, username: str) -> Page:
    page = await signed_in_page(browser, base, username, wait_ms=WAIT_MS)
    await page.goto(base + "/rooms/legal")
    await page.wait_for_selector("#room[data-participant-id]")
    return page


async def visible_controls(page: Page) -> list[str]:
    controls: list[str] = await page.evaluate(VISIBLE_CONTROLS)
    return controls


async def background(page: Page, selector: str) -> str:
    colour: str = await page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")
    return colour


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_each_role_sees_the_controls_it_may_use_and_the_floor(live_server: str) -> None:
    # The test clock's day has no legal session: the officer "court" takes part as an observer.
    async with chromium(WEBRTC_ARGS) as browser:
        officer = await enter(browser, live_server, "court")
        # Alone in the room, the observer is told why the wall is black.
        await officer.wait_for_selector("#overlay[data-tiles='0']")
        assert await officer.inner_text("[data-testid=empty-wall]") == (
            "墙上还没有画面：主持人、发言人或站点入会后即有视频。")
        host = await enter(browser, live_server, "host")
        site = await enter(browser, live_server, "site01")
        pages = {"host": host, "site": site, "observer": officer}
        for role, page in pages.items():
            assert await page.get_attribute("#room", "data-role") == role
            await page.wait_for_selector("#overlay[data-tiles='2']")  # host and site: no observer
            await page.wait_for_function(
                "() => { const v = document.getElementById('wall');"
                " return v.videoWidth > 0 && !v.paused && v.currentTime > 0; }")
            # Once the sound plays, "turn on sound" has done its work.
            await page.wait_for_function(
                "() => { const a = document.getElementById('mix');"
                " return !a.paused && a.currentTime > 0; }")
            assert not await page.is_visible("[data-testid=sound]")
            assert not await page.is_visible("[data-testid=floor]")
            assert not await page.is_visible("[data-testid=empty-wall]")
            # Leaving is the red button; the hand (where there is one) is not red.
            assert await background(page, "[data-testid=leave]") == RED
            assert await background(page, "[data-testid=hand]") != RED

        # The observer: only what it can use, and a line saying how it takes part; the
        # wall (checked above) plays for it.
        # (It may write to the hosts in the chat: "no sound here".)
        assert await visible_controls(officer) == ["audio-only", "chat-send", "fullscreen", "leave"]
        assert await officer.inner_text("[data-testid=role-note]") == "旁听中，值班时段可发言。"
        for hidden in ("mic", "camera", "hand", "host-panel"):
            assert not await officer.is_visible(f"[data-testid={hidden}]")

        assert await visible_controls(site) == [
            "audio-only", "camera", "chat-send", "fullscreen", "hand", "leave", "mic"]
        assert await site.inner_text("[data-testid=role-note]") == "本站点已入会，请举手申请发言。"
        host_controls = set(await visible_controls(host))
        assert {"mic", "camera", "hand", "leave", "lock", "waiting-room", "recording",
                "spotlight", "remove"} <= host_controls
        assert "admit-next" not in host_controls  # the waiting room is off
        assert await host.inner_text("[data-testid=role-note]") == "您是本会议室的主持人。"

        # The site asks for the floor and is given it: "请您发言" until the floor moves on.
        site_key = await site.get_attribute("#room", "data-participant-id")
        await site.click("[data-testid=hand]")
        queued = f"[data-testid=hands-queue] li[data-participant-id='{site_key}']"
        await host.click(f"{queued} button[data-action=give_floor]")
        await site.wait_for_selector("[data-testid=floor]", state="visible")
        assert await site.inner_text("[data-testid=floor]") == "请您发言"
        await host.wait_for_selector(f"#overlay[data-spotlight='{site_key}']")
        for other in (host, officer):
            await other.wait_for_selector(f"#overlay[data-spotlight='{site_key}']")
            assert not await other.is_visible("[data-testid=floor]")
        await host.click("[data-testid=clear-spotlight]")
        await site.wait_for_selector("[data-testid=floor]", state="hidden")
        assert await site.get_attribute("#room", "data-floor") == "false"

        # The site closes its page: its tile goes at once, no "reconnecting" for 60 s.
        await site.close()
        # (Well under the 60 s a dropped link keeps its place, with room for a loaded machine.)
        await host.wait_for_selector("#overlay[data-tiles='1']", timeout=20_000)
        assert await host.locator("[data-testid=tile-reconnecting]").count() == 0
        await officer.wait_for_selector("#overlay[data-tiles='1']", timeout=20_000)
