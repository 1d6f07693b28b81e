"""Chromium under the Content-Security-Policy: the pages work and nothing is refused.

Every page records `securitypolicyviolation` events (from an init script, which the
policy does not govern) and Chromium's console errors; each visit ends with none. A
script planted on purpose proves the recorder sees a refusal, and a frame proves that no
other page may wrap ours.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page

from server.meetings.registry import WALL
from tests.conftest import AppFactory
from tests.opinion_helpers import png_bytes
from tests.support.browser import chromium
from tests.support.loopback import TEST_WALL, loopback_ice

__all__ = ["loopback_ice"]  # autouse: the server's aiortc gathers on 127.0.0.1 only

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
RECORDER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""
# Pages the street office's host sees (the dashboard, the opinion form, the legal pages).
HOST_PAGES = [
    "/", "/opinions", "/opinions/new", "/opinions/stats", "/legal", "/legal/questions",
    "/legal/questions/new?session_id=1", "/legal/board", "/legal/follow-ups",
    "/legal/stats", "/legal/sessions/1/queue", "/legal/sessions/1/packet", "/rooms",
    "/rooms/street/attendance", "/schedule", "/inbox",
]
ADMIN_PAGES = ["/opinions/categories", "/legal/categories", "/admin/users"]


@pytest.fixture
def app_factory(app_factory: AppFactory) -> AppFactory:
    def factory(**overrides: object) -> Any:
        app = app_factory(**overrides)
        app[WALL] = TEST_WALL
        return app
    return factory


class Watched:
    """A signed-in page whose CSP refusals and console errors are kept."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context, self.page = context, page
        self.console: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.location.get("url", "").endswith("/favicon.ico"):
            return  # the app has no icon; Chromium asks for one on every page
        if message.type == "error" or "Content Security Policy" in message.text:
            self.console.append(f"{message.type}: {message.text}")

    async def violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("() => window.__csp")
        return found

    async def visit(self, base: str, path: str) -> None:
        response = await self.page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        await self.page.wait_for_load_state("load")
        await self.assert_clean(path)

    async def assert_clean(self, where: str) -> None:
        assert (where, await self.violations(), self.console) == (where, [], [])


async def signed_in(browser: Browser, base: str, username: str) -> Watched:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(RECORDER)
    watched = Watched(context, await context.new_page())
    page = watched.page
    page.set_default_timeout(WAIT_MS)
    await page.goto(base + "/login")
    await watched.assert_clean("/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "demo-password")
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/")
    return watched


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_pages_and_the_room_run_under_the_policy(live_server: str, tmp_path: Path) -> None:
    photo = tmp_path / "nest.png"
    photo.write_bytes(png_bytes(40, 30))
    async with chromium(WEBRTC_ARGS) as browser:
        host = await signed_in(browser, live_server, "host")
        page = host.page
        for path in HOST_PAGES:
            await host.visit(live_server, path)

        # The opinion form posts (form-action 'self'); its page shows the photo and contact.
        await host.visit(live_server, "/opinions/new")
        await page.fill("textarea[name=text]", "单元门口雨棚下有马蜂窝。")
        await page.select_option("select[name=site_id]", index=1)
        await page.select_option("select[name=category_id]", label="安全隐患")
        await page.check("input[name=anonymous]")
        await page.fill("input[name=contact]", "13800001234")
        await page.set_input_files("input[name=photos]", str(photo))
        await page.click("button[type=submit].primary")
        await page.wait_for_url(re.compile(r"/opinions/\d+$"))
        assert await page.eval_on_selector("section.card img", "img => img.naturalWidth") == 40
        await host.assert_clean("opinion page")

        # The print buttons lost their onclick=; js/print.js does the same.
        for path in ("/legal/sessions/1/packet", "/legal/board"):
            await host.visit(live_server, path)
            await page.click("button[data-print]")
            assert await page.evaluate("() => window.__printed") == 1, path

        # The queue panel draws itself, styled by css/queue-panel.css (no <style> written).
        await host.visit(live_server, "/legal/sessions/1/queue")
        await page.wait_for_selector("#side-panel[data-rendered]")
        assert await page.eval_on_selector(
            "#side-panel", "p => getComputedStyle(p).backgroundColor") == "rgb(255, 255, 255)"
        await host.assert_clean("queue panel")

        # The room: connected over the WebSocket, the wall playing.
        await host.visit(live_server, "/rooms/street")
        await page.wait_for_selector("#room[data-state=live]")
        await page.wait_for_selector("#overlay[data-tiles='1']")
        await page.wait_for_function(
            "() => { const v = document.getElementById('wall');"
            " return v.videoWidth > 0 && !v.paused && v.currentTime > 0; }")
        assert await page.eval_on_selector("#wall", "v => v.videoWidth") == TEST_WALL.width
        await host.assert_clean("/rooms/street")

        # The legal room takes the queue panel too.
        await host.visit(live_server, "/rooms/legal")
        await page.wait_for_selector("#room[data-state]:not([data-state=connecting])")
        await host.assert_clean("/rooms/legal")

        # The recorder works: a script written into the page is refused, and seen.
        await page.evaluate("""() => { const s = document.createElement("script");
            s.textContent = "window.__ran = true"; document.body.appendChild(s); }""")
        await page.wait_for_function("() => window.__csp.length > 0")
        assert await page.evaluate("() => window.__ran") is None
        assert (await host.violations())[0].startswith("script-src-elem inline")

        admin = await signed_in(browser, live_server, "admin")
        for path in ADMIN_PAGES:
            await admin.visit(live_server, path)
        await admin.visit(live_server, "/opinions/categories")
        # The two widths that were style= attributes come from app.css now.
        widths = await admin.page.eval_on_selector_all(
            "input.category-order, input.category-name",
            """els => { const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
                 return [...new Set(els.map(e => `${e.className} ${
                   parseFloat(getComputedStyle(e).width) / rem}rem`))].sort(); }""")
        assert widths == ["category-name 14rem", "category-order 5rem"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_no_page_can_be_framed(live_server: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_server + "/static/css/app.css")  # a document of the same origin
        async with page.expect_console_message(
                lambda m: "frame-ancestors" in m.text, timeout=WAIT_MS) as refusal:
            await page.set_content(f'<iframe id="f" src="{live_server}/login"></iframe>')
        assert "frame-ancestors 'none'" in (await refusal.value).text
        frame = page.frames[1]
        assert await frame.query_selector("input[name=username]") is None
