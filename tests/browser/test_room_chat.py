"""Chat in the room as people see it: a site on a phone-sized screen types, the host's page
shows the message in the chat panel and over the wall, the database has it; the host
deletes it and it leaves the site's page (and stays in the database, marked deleted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page
from sqlalchemy import select

from server.core.keys import DATABASE
from server.meetings.registry import WALL
from server.models import RoomChatMessage
from tests.conftest import AppFactory
from tests.support.browser import chromium, signed_in_page
from tests.support.loopback import TEST_WALL, loopback_ice

from .test_room import WAIT_MS, WEBRTC_ARGS

__all__ = ["loopback_ice"]  # autouse: the server's aiortc gathers on 127.0.0.1 only

pytestmark = pytest.mark.browser

TEXT = "我们村的喇叭坏了，请主持人稍等"


@pytest.fixture
async def live_app(app_factory: AppFactory) -> AsyncIterator[tuple[str, web.Application]]:
    """The app on a real loopback port, and the app itself (to read the database)."""
    app = app_factory()
    app[WALL] = TEST_WALL
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), app
    finally:
        await server.close()


async def enter(browser: Browser, base: str, username: str, *, width: int, height: int) -> Page:
    page = await signed_in_page(browser, base, username, width=width, height=height,
                                wait_ms=WAIT_MS)
    await page.goto(base + "/rooms/street")
    await page.wait_for_selector("#room[data-state='live']")
    await page.wait_for_selector("[data-testid=chat-panel]:not([hidden])")
    return page


async def stored(app: web.Application) -> list[RoomChatMessage]:
    async with app[DATABASE]() as db:
        return list(await db.scalars(select(RoomChatMessage).order_by(RoomChatMessage.id)))


async def stored_when(app: web.Application, ready: Any) -> list[RoomChatMessage]:
    async with asyncio.timeout(WAIT_MS / 1000):
        while True:
            found = await stored(app)
            if ready(found):
                return found
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_site_chats_and_the_host_deletes_it(
        live_app: tuple[str, web.Application]) -> None:
    base, app = live_app
    async with chromium(WEBRTC_ARGS) as browser:
        host = await enter(browser, base, "host", width=1280, height=800)
        site = await enter(browser, base, "site01", width=390, height=844)  # a phone

        # On the phone the chat panel fits the screen, under the wall.
        box = await site.eval_on_selector(
            "[data-testid=chat-panel]",
            "e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }")
        assert box[0] >= 0 and box[1] <= 390, box
        assert await site.is_visible("[data-testid=chat-text]")
        assert await site.is_visible("[data-testid=chat-send]")

        await site.fill("[data-testid=chat-text]", TEXT)
        await site.press("[data-testid=chat-text]", "Enter")
        message = "[data-testid=chat-message]"
        await host.wait_for_selector(f"{message}[data-role=site] >> text={TEXT}")
        # Over the wall too: HTML over the video, not in it.
        await host.wait_for_selector("[data-testid=chat-overlay]:not([hidden])")
        assert TEXT in await host.inner_text("[data-testid=chat-overlay]")
        assert await host.eval_on_selector(
            "[data-testid=chat-overlay]", "e => e.parentElement.id") == "stage"
        await site.wait_for_selector(f"{message}.mine >> text={TEXT}")
        assert await site.input_value("[data-testid=chat-text]") == ""

        rows = await stored_when(app, lambda found: len(found) == 1)
        key = rows[0].message_key
        assert (rows[0].room, rows[0].role, rows[0].audience, rows[0].text,
                rows[0].deleted_at) == ("street", "site", "all", TEXT, None)
        assert await host.get_attribute(message, "data-id") == key

        # A site may not delete; the host may.
        assert await site.query_selector(f"{message} [data-action=delete_chat]") is None
        host.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await host.click(f"{message}[data-id='{key}'] [data-action=delete_chat]")
        await site.wait_for_selector(f"{message}[data-id='{key}']", state="detached")
        await host.wait_for_selector(f"{message}[data-id='{key}']", state="detached")
        assert await host.is_hidden("[data-testid=chat-overlay]")
        rows = await stored_when(app, lambda found: found[0].deleted_at is not None)
        assert rows[0].text == TEXT and rows[0].deleted_by_key is not None
        assert rows[0].deleted_by_key.startswith("user:")
