"""The public results board on a phone (390 x 844): no sign-in, the figures in view, and
no horizontal scrolling even with long published answers."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from tests.board_helpers import resolve_with_photo
from tests.conftest import AppFactory, MutableClock
from tests.opinion_helpers import accept, local, record
from tests.support.browser import chromium

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_board_fits_a_phone(app_factory: AppFactory, clock: MutableClock) -> None:
    server = TestServer(app_factory(), host="127.0.0.1")
    await server.start_server()
    try:
        app = server.app
        async with session_factory(app[ENGINE])() as db, db.begin():
            clock.now = local(2026, 11, 23)
            for n in range(3):
                item = await record(db, clock)
                await accept(db, clock, item.id)
                await resolve_with_photo(
                    db, clock, "court", item.id, uploads_dir=app[SETTINGS].uploads_dir,
                    public_note="路灯已全部修复，夜间照明恢复正常" * 6 + f"（第{n + 1}件）"
                    + "https://example.invalid/" + "a" * 80)
            await record(db, clock)
        base = str(server.make_url("")).rstrip("/")
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 390, "height": 844},
                                                is_mobile=True, has_touch=True)
            page = await context.new_page()
            await page.goto(base + "/board")
            assert page.url == base + "/board"
            assert await page.title() == "办理结果公示栏 · 驿站"
            received = page.locator("[data-count=received] .value")
            assert await received.inner_text() == "4"
            assert await page.locator("[data-count=closed] .value").inner_text() == "3"
            assert await received.is_visible()
            box = await received.bounding_box()
            assert box is not None and box["y"] < 844 and box["x"] + box["width"] <= 390
            assert await page.locator("[data-testid=board-resolved] li").count() == 3
            widths = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1] == 390, widths
            await page.mouse.wheel(400, 0)
            assert await page.evaluate("window.scrollX") == 0
    finally:
        await server.close()
