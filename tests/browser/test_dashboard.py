"""What a person sees: sign in as the host, the dashboard in Chinese, then in English."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_host_signs_in_and_switches_language(live_server: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(live_server + "/")
        assert page.url.endswith("/login")
        assert await page.title() == "登录 · 驿站"
        await page.fill("input[name=username]", "host")
        await page.fill("input[name=password]", "demo-password")
        await page.click("button[type=submit]")
        await page.wait_for_url(live_server + "/")
        title = page.get_by_test_id("dashboard-title")
        assert await title.inner_text() == "工作台 · 青山街道办事处"
        assert await page.get_by_test_id("demo-marker").is_visible()
        assert await page.locator("[data-testid=site-tiles] li").count() == 14
        assert await page.get_attribute("html", "lang") == "zh-CN"

        await page.click("a[data-lang=en]")
        await page.wait_for_load_state()
        assert await title.inner_text() == "Dashboard · 青山街道办事处"
        assert await page.get_attribute("html", "lang") == "en"
        assert "Demo data" in await page.get_by_test_id("demo-marker").inner_text()
