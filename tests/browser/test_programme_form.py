"""The programme form in Chromium: changing the kind of schedule shows only its fields."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_switching_the_kind_shows_the_right_fields(live_server: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, live_server, "admin")
        await page.goto(live_server + "/schedule/programmes/new")

        async def visible() -> dict[str, bool]:
            return {name: await page.locator(f"#f-{name}").is_visible()
                    for name in ("weekday", "nth", "month_day", "start_time")}

        assert await visible() == {"weekday": True, "nth": False, "month_day": False,
                                   "start_time": True}
        await page.select_option("#f-pattern", "monthly_weekday")
        assert await visible() == {"weekday": True, "nth": True, "month_day": False,
                                   "start_time": True}
        await page.select_option("#f-pattern", "monthly_day")
        assert await visible() == {"weekday": False, "nth": False, "month_day": True,
                                   "start_time": True}
        await page.select_option("#f-pattern", "weekly")
        assert await visible() == {"weekday": True, "nth": False, "month_day": False,
                                   "start_time": True}
