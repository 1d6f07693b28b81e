"""The site's standby screen in Chromium: it rings and enters the room by itself, goes back
to standby at the end, and rides out a server that goes away.

The meeting-room PC signs in with its device token, opens /standby and is set up with one
click ("开始待机"). The app polls fast here (``standby_poll_s``) and runs on the test's
clock, which the tests move: the legal consultation day is Thursday 2026-11-26 09:30 in
Shanghai, its room opens 15 minutes before and closes 15 minutes after the end.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from server.accounts import users as accounts
from server.accounts.directory import Actor
from server.core.keys import DATABASE
from server.meetings.registry import WALL
from server.models import User
from tests.browser.test_csp import signed_in
from tests.conftest import AppFactory, MutableClock
from tests.support.browser import chromium, signed_in_page
from tests.support.live import LiveApp
from tests.support.loopback import TEST_WALL, loopback_ice

__all__ = ["loopback_ice"]  # autouse: the server's aiortc gathers on 127.0.0.1 only

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

WAIT_MS = 30_000
POLL_S = 0.3
THURSDAY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # the legal day, 09:30 in Shanghai
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def app_factory(app_factory: AppFactory) -> AppFactory:
    """A small wall and a fast poll, so a browser and the server share two cores."""
    def factory(**overrides: object) -> Any:
        app = app_factory(standby_poll_s=POLL_S, **overrides)
        app[WALL] = TEST_WALL
        return app
    return factory


async def device_token(app: Any, username: str, clock: MutableClock) -> str:
    async with app[DATABASE]() as session, session.begin():
        admin = await session.scalar(select(User).where(User.username == "admin"))
        user = await session.scalar(select(User).where(User.username == username))
        assert admin is not None and user is not None
        _, token = await accounts.issue_device_token(
            session, user.id, "meeting room PC", actor=Actor(admin.id), clock=clock)
    return token


async def standby_screen(browser: Browser, base: str, token: str, *, arm: bool = True) -> Page:
    """The meeting-room PC: signed in with its device token, on /standby, set up once."""
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(base + "/device")
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/")
    await page.click("[data-testid=standby-link]")
    await page.wait_for_url(base + "/standby")
    await page.wait_for_selector("#standby[data-connection=ok]")
    if arm:
        assert await page.is_visible("[data-testid=setup]")
        await page.click("[data-testid=arm]")
        await page.wait_for_selector("#standby[data-armed=true]")
    return page


async def countdowns(page: Page) -> list[str]:
    texts: list[str] = await page.eval_on_selector_all(
        "#today [data-testid=countdown]", "els => els.map(e => e.textContent)")
    return texts


async def host_page(browser: Browser, base: str) -> Page:
    return await signed_in_page(browser, base, "host", wait_ms=WAIT_MS)


async def test_the_host_calls_the_site_in_and_ending_the_meeting_sends_it_back(
        app_factory: AppFactory, clock: MutableClock) -> None:
    live = LiveApp(app_factory, host="127.0.0.1")
    app = await live.start()
    base = live.url
    try:
        token = await device_token(app, "site01", clock)
        async with chromium(WEBRTC_ARGS) as browser:
            site = await standby_screen(browser, base, token)
            assert await site.get_attribute("#standby", "data-ringing") == "false"
            host = await host_page(browser, base)

            # "召集各站点": the host calls site01 only, through the rooms page's form.
            await host.goto(base + "/rooms")
            await host.fill("[data-testid=call-sites] input[name=title]", "防汛工作紧急会议")
            await host.check("[data-testid=call-sites] input[name=scope][value=some]")
            await host.check("[data-testid=call-sites] label:has-text('东坡村') input")
            await host.click("[data-testid=call-sites] button[type=submit]")
            await host.wait_for_url(re.compile(r"/meetings/\d+$"))
            meeting_url = host.url
            room = await host.get_attribute("[data-testid=meeting-room-link]", "href")
            assert room is not None and room.startswith("/rooms/meeting-")

            await site.wait_for_selector("#standby[data-ringing=true]")
            assert await site.inner_text("[data-testid=ring-title]") == "防汛工作紧急会议"
            assert await site.inner_text("#ring-label") == "街道正在召集本站点"
            await site.wait_for_function(
                "() => Number(document.getElementById('standby').dataset.chimes) >= 1")
            await site.wait_for_url(f"{base}{room}?standby=1")
            await site.wait_for_selector("#room[data-role=site]")
            site_key = await site.get_attribute("#room", "data-participant-id")
            assert site_key is not None and site_key.startswith("site:")

            # The host sees the site in the meeting's room.
            await host.goto(base + room)
            await host.wait_for_selector(f"#participants li[data-participant-id='{site_key}']")
            # Several polls later the site is still in the room while the meeting runs.
            await site.wait_for_timeout(POLL_S * 5 * 1000)
            assert site.url == f"{base}{room}?standby=1"

            # The host ends the meeting from its page: the site goes back to standby.
            await host.goto(meeting_url)
            await host.click("[data-testid=end-meeting]")
            await host.wait_for_selector("[data-testid=meeting-ended]")
            await site.wait_for_url(base + "/standby")
            await site.wait_for_selector("#standby[data-connection=ok]")
            assert await site.get_attribute("#standby", "data-ringing") == "false"
            assert not await site.is_visible("[data-testid=ring]")
    finally:
        await live.stop()


async def test_the_scheduled_start_rings_enters_the_room_and_the_end_brings_it_back(
        app_factory: AppFactory, clock: MutableClock) -> None:
    clock.now = THURSDAY - timedelta(minutes=16)  # 09:14: the room opens at 09:15
    live = LiveApp(app_factory, host="127.0.0.1")
    app = await live.start()
    try:
        token = await device_token(app, "site01", clock)
        async with chromium(WEBRTC_ARGS) as browser:
            page = await standby_screen(browser, live.url, token)
            base = live.url
            assert await page.get_attribute("#standby", "data-sound") == "on"
            assert await page.inner_text("#site-name") == "东坡村"
            # The countdown runs on the server's clock (the test's), not the PC's.
            await page.wait_for_function(
                "() => document.querySelector('#today [data-testid=countdown]')"
                ".textContent.startsWith('15:')")
            assert (await countdowns(page))[0].endswith("后开始")
            assert await page.inner_text("#today .sb-session-title") == "线上法律咨询服务日"
            assert "区人民法院" in await page.inner_text("#on-duty")
            assert not await page.is_visible("[data-testid=ring]")

            clock.advance(minutes=2)  # 09:16: the room is open
            await page.wait_for_selector("#standby[data-ringing=true]")
            assert await page.is_visible("[data-testid=ring]")
            assert await page.inner_text("[data-testid=ring-title]") == "线上法律咨询服务日"
            await page.wait_for_function(
                "() => Number(document.getElementById('standby').dataset.chimes) >= 1")
            await page.wait_for_url(base + "/rooms/legal?standby=1")
            await page.wait_for_selector("#room[data-role=site]")
            await page.wait_for_selector("#room[data-participant-id^='site:']")
            assert await page.get_attribute("#leave", "href") == "/standby"

            clock.now = THURSDAY + timedelta(hours=1, minutes=16)  # after the closing grace
            await page.wait_for_url(base + "/standby")
            await page.wait_for_selector("#standby[data-connection=ok]")
            # Set up once: the screen is armed again without a click, and counts no more.
            assert await page.get_attribute("#standby", "data-armed") == "true"
            assert not await page.is_visible("[data-testid=setup]")
            await page.wait_for_selector("#today [data-stage=over]")
            assert await countdowns(page) == ["已结束"]
            assert not await page.is_visible("[data-testid=ring]")
    finally:
        await live.stop()


async def test_the_screen_rides_out_a_server_restart(
        app_factory: AppFactory, clock: MutableClock) -> None:
    clock.now = THURSDAY - timedelta(hours=2)
    live = LiveApp(app_factory, host="127.0.0.1")
    app = await live.start()
    try:
        token = await device_token(app, "site01", clock)
        async with chromium(WEBRTC_ARGS) as browser:
            page = await standby_screen(browser, live.url, token)
            await page.wait_for_selector("#today [data-stage=ahead]")
            assert not await page.is_visible("[data-testid=connection]")

            await live.stop()
            await page.wait_for_selector("#standby[data-connection=lost]")
            assert await page.is_visible("[data-testid=connection]")
            assert (await page.inner_text("[data-testid=connection]")).startswith(
                "与服务器的连接中断，正在重试")
            # What was shown stays on screen while the server is away.
            assert await page.inner_text("#today .sb-session-title") == "线上法律咨询服务日"

            # Back up, and meanwhile the room opened: the page sees it by itself.
            clock.now = THURSDAY - timedelta(minutes=10)
            await live.start()
            await page.wait_for_selector("#standby[data-connection=ok]")
            assert not await page.is_visible("[data-testid=connection]")
            await page.wait_for_url(live.url + "/rooms/legal?standby=1")
            await page.wait_for_selector("#room[data-role=site]")
    finally:
        await live.stop()


async def test_a_blocked_sound_is_explained_and_the_next_touch_allows_it(
        app_factory: AppFactory, clock: MutableClock) -> None:
    live = LiveApp(app_factory, host="127.0.0.1")
    app = await live.start()
    try:
        token = await device_token(app, "site01", clock)
        # No autoplay flag: the browser wants a gesture before a page makes a sound.
        async with chromium() as browser:
            page = await standby_screen(browser, live.url, token)
            assert await page.get_attribute("#standby", "data-sound") == "on"  # the click
            await page.reload()
            await page.wait_for_selector("#standby[data-connection=ok]")
            assert await page.get_attribute("#standby", "data-armed") == "true"
            await page.wait_for_selector("#standby[data-sound=blocked]")
            assert await page.inner_text("[data-testid=sound-note]") == \
                "浏览器拦截了声音：请触摸屏幕或按任意键一次，以恢复提示音。"
            await page.mouse.click(400, 300)
            await page.wait_for_selector("#standby[data-sound=on]")
            assert not await page.is_visible("[data-testid=sound-note]")
    finally:
        await live.stop()


async def test_the_standby_screen_runs_under_the_content_security_policy(
        app_factory: AppFactory, clock: MutableClock) -> None:
    live = LiveApp(app_factory, host="127.0.0.1")
    await live.start()
    try:
        async with chromium(WEBRTC_ARGS) as browser:
            site = await signed_in(browser, live.url, "site01")
            await site.visit(live.url, "/standby")
            await site.page.wait_for_selector("#standby[data-connection=ok]")
            await site.page.click("[data-testid=arm]")
            await site.page.wait_for_selector("#standby[data-sound=on]")
            assert await site.page.inner_text("#week .sb-session-title") == "线上法律咨询服务日"
            await site.assert_clean("/standby")
            # A room this site is not called into: the room page sends it back to standby.
            await site.visit(live.url, "/rooms/street?standby=1")
            await site.page.wait_for_url(live.url + "/standby")
            await site.page.wait_for_selector("#standby[data-connection=ok]")
            await site.assert_clean("/rooms/street?standby=1, back to /standby")
    finally:
        await live.stop()
