"""A resident with a phone: scan the site's poster, ask the legal consultation day with a
photo, keep the receipt code, and read the answer the street office gives; then tell the
street a problem from the same poster, which the street office resolves with a public
answer that the resident reads and the public board (/board) counts and publishes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Page

from tests.resident_helpers import NAME, PHONE, jpeg
from tests.support.browser import chromium, sign_in

pytestmark = pytest.mark.browser

PHONE_VIEWPORT = {"width": 390, "height": 844}


async def _counts(page: Page, base: str) -> dict[str, int]:
    await page.goto(base + "/board")
    figures = page.get_by_test_id("board-counts")
    return {name: int(await figures.locator(f"[data-count={name}] .value").inner_text())
            for name in ("received", "replied", "closed")}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_resident_scans_asks_and_reads_the_answer(live_server: str,
                                                          tmp_path: Path) -> None:
    photo = tmp_path / "car.jpg"
    photo.write_bytes(jpeg(2400, 1800))
    async with chromium() as browser:
        # Staff: the site's poster, and the URL its QR code holds.
        staff = await (await browser.new_context()).new_page()
        await sign_in(staff, live_server, "site01")
        await staff.get_by_test_id("poster-link").click()
        await staff.wait_for_url(re.compile(r".*/residents/sites/\d+/poster"))
        src = await staff.get_by_test_id("poster-qr").get_attribute("src")
        assert src is not None
        png = await staff.request.get(live_server + src)
        assert png.headers["content-type"] == "image/png"
        [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(await png.body())))
        url = barcode.text
        assert re.fullmatch(re.escape(live_server) + r"/r/[A-Za-z0-9_-]{16,32}", url)
        assert url == await staff.get_by_test_id("resident-link").inner_text()

        # The resident: a phone, no account, touch taps.
        phone = await (await browser.new_context(
            viewport=PHONE_VIEWPORT, has_touch=True, is_mobile=True,
            device_scale_factor=3)).new_page()
        await phone.goto(url)
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
        await phone.locator("input[name=kind][value=question]").tap()
        assert "值班部门" in await phone.get_by_test_id("next-session").inner_text()
        assert await phone.locator("select[name=opinion_category_id]").is_hidden()
        await phone.fill("textarea[name=text]", "楼上掉下花盆砸坏了我的车，找不到是谁家的，谁来赔？")
        await phone.locator("select[name=question_category_id]").select_option(index=0)
        await phone.set_input_files("input[name=photos]", str(photo))
        await phone.fill("input[name=resident_name]", NAME)
        await phone.fill("input[name=contact]", PHONE)
        await phone.locator("input[name=consent]").tap()
        await phone.get_by_test_id("resident-submit").tap()
        await phone.wait_for_url(re.compile(r".*/r/status\?code=.*"))
        code = await phone.get_by_test_id("receipt-code").inner_text()
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)
        status_url = phone.url
        page = await phone.content()
        assert NAME not in page and PHONE not in page

        # The street office answers it through its own pages.
        host = await (await browser.new_context()).new_page()
        await sign_in(host, live_server, "host")
        await host.goto(live_server + "/inbox")
        notice = host.locator("[data-message]", has_text="居民在").first
        await notice.locator("input[name=open] + button").click()
        await host.wait_for_url(re.compile(r".*/legal/questions/\d+"))
        attachment = host.locator("a[href^='/legal/files/'], img[src^='/legal/files/']").first
        assert await attachment.count() == 1
        file_href = (await attachment.get_attribute("href")
                     or await attachment.get_attribute("src"))
        photo_bytes = await (await host.request.get(live_server + str(file_href))).body()
        with Image.open(io.BytesIO(photo_bytes)) as shrunk:
            assert max(shrunk.size) <= 1600
        form = host.get_by_test_id("answer-form")
        await form.locator("textarea[name=summary]").fill(
            "依照民法典第一千二百五十四条，查不清侵权人的，由可能加害的建筑物使用人给予补偿；物业应采取安全保障措施。")
        await form.locator("button[type=submit]").click()
        await host.wait_for_load_state()

        # The resident's status page shows the answer and the session.
        await phone.goto(status_url.replace("&new=1", ""))
        assert "民法典第一千二百五十四条" in await phone.get_by_test_id("answer").inner_text()
        assert await phone.get_by_test_id("status-state").inner_text() == "已解答"
        assert "值班部门" in await phone.get_by_test_id("session").inner_text()
        page = await phone.content()
        assert NAME not in page and PHONE not in page

        # The same phone tells the street a problem: an opinion, found by the street office.
        before = await _counts(phone, live_server)
        await phone.goto(url)
        await phone.locator("input[name=kind][value=opinion]").tap()
        await phone.fill("textarea[name=text]", "5号楼门口的路灯坏了一个星期，晚上老人出门看不清台阶。")
        await phone.locator("select[name=opinion_category_id]").select_option(index=0)
        await phone.fill("input[name=resident_name]", NAME)
        await phone.fill("input[name=contact]", PHONE)
        await phone.locator("input[name=consent]").tap()
        await phone.get_by_test_id("resident-submit").tap()
        await phone.wait_for_url(re.compile(r".*/r/status\?code=.*"))
        opinion_status_url = phone.url.replace("&new=1", "")

        await host.goto(live_server + "/opinions?status=received")
        await host.locator("[data-testid=opinion-table] tr[data-opinion]",
                           has_text="5号楼门口的路灯").locator("a").first.click()
        await host.wait_for_url(re.compile(r".*/opinions/\d+$"))
        item_url = host.url
        form = host.locator("form[data-action=accept]")
        await form.locator("select[name=department_id]").select_option(index=1)
        await form.locator("button[type=submit]").click()
        await host.wait_for_url(item_url)
        form = host.locator("form[data-action=resolve]")
        await form.get_by_test_id("public-note").fill("路灯已更换，台阶处加装了感应灯。")
        await form.get_by_test_id("internal-note").fill("物业维修班处理")
        await form.locator("button[type=submit]").click()
        await host.wait_for_url(item_url)

        # The resident reads the public answer, never the internal note.
        await phone.goto(opinion_status_url)
        assert "台阶处加装了感应灯" in await phone.get_by_test_id("answer").inner_text()
        page = await phone.content()
        assert "物业维修班" not in page and NAME not in page and PHONE not in page

        # The public board counts it and publishes the answer, without personal data.
        after = await _counts(phone, live_server)
        assert after == {"received": before["received"] + 1,
                         "replied": before["replied"] + 1, "closed": before["closed"] + 1}
        published = await phone.get_by_test_id("board-resolved").inner_text()
        assert "路灯已更换，台阶处加装了感应灯。" in published
        board = await phone.content()
        assert "物业维修班" not in board and NAME not in board and PHONE not in board
