"""What a person sees: a site records an opinion with a photo, the street office assigns it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.opinion_helpers import png_bytes
from tests.support.browser import chromium, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_site_records_and_host_assigns(live_server: str, tmp_path: Path) -> None:
    photo = tmp_path / "nest.png"
    photo.write_bytes(png_bytes(40, 30))
    async with chromium() as browser:
        site = await (await browser.new_context()).new_page()
        await sign_in(site, live_server, "site01")
        await site.click("nav >> text=民意事项")
        await site.click("text=登记民意")
        await site.fill("textarea[name=text]", "单元门口雨棚下有马蜂窝，老人孩子进出害怕。")
        await site.select_option("select[name=category_id]", label="安全隐患")
        await site.check("input[name=anonymous]")
        await site.fill("input[name=contact]", "13800001234")
        await site.set_input_files("input[name=photos]", str(photo))
        await site.click("button[type=submit].primary")
        await site.wait_for_url(f"{live_server}/opinions/*")
        assert "马蜂窝" in await site.get_by_test_id("opinion-text").inner_text()
        assert await site.get_by_test_id("opinion-contact").inner_text() == "13800001234"
        width = await site.eval_on_selector("section.card img", "img => img.naturalWidth")
        assert width == 40
        item_url = site.url

        host = await (await browser.new_context()).new_page()
        await sign_in(host, live_server, "host")
        await host.goto(item_url)
        form = host.locator("form[data-action=accept]")
        await form.locator("select[name=department_id]").select_option(label="区公安分局")
        await form.locator("button[type=submit]").click()
        await host.wait_for_url(item_url)
        assert await host.locator("h1 [data-status]").inner_text() == "已受理"
        assert await host.get_by_test_id("opinion-due").inner_text() == "11月30日（周一）"
        timeline = await host.get_by_test_id("opinion-timeline").inner_text()
        assert "已受理并交办" in timeline and "区公安分局" in timeline

        await host.goto(live_server + "/opinions")
        row = host.locator("[data-testid=opinion-table] tr[data-opinion]")
        assert await row.count() == 1
        assert "区公安分局" in await row.inner_text()
