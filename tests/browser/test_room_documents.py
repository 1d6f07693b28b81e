"""A document and a screen on the wall, seen in Chromium: every receiver's decoded wall shows
the page (pixels read from the <video> drawn into a canvas), page by page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.browser.test_room import WEBRTC_ARGS, app_factory, enter
from tests.support.browser import chromium
from tests.support.loopback import loopback_ice
from tests.support.pdf import solid_pdf

__all__ = ["app_factory", "loopback_ice"]

pytestmark = pytest.mark.browser

RED, BLUE = (210, 30, 30), (30, 40, 210)
# The colour at the middle of the presentation area in the decoded wall, or null.
CENTRE = """([r, g, b]) => {
  const bar = document.getElementById('presentation-bar');
  const v = document.getElementById('wall');
  if (!bar.dataset.area || !v.videoWidth) return false;
  const area = JSON.parse(bar.dataset.area);
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0);
  const x = Math.floor((area.x + area.w / 2) * c.width);
  const y = Math.floor((area.y + area.h / 2) * c.height);
  const got = ctx.getImageData(x, y, 1, 1).data;
  return Math.abs(got[0] - r) < 40 && Math.abs(got[1] - g) < 40 && Math.abs(got[2] - b) < 40;
}"""


async def shows(page: Page, rgb: tuple[int, int, int]) -> None:
    await page.wait_for_function(CENTRE, arg=list(rgb))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_host_shares_a_pdf_and_every_receiver_decodes_its_pages_then_again(
    live_server: str, tmp_path: Path
) -> None:
    pdf = tmp_path / "民法典第1254条.pdf"
    pdf.write_bytes(solid_pdf([RED, BLUE]))
    async with chromium(WEBRTC_ARGS) as browser:
        pages = {name: await enter(browser, live_server, name)
                 for name in ("host", "site01", "site02")}
        for page in pages.values():
            await page.wait_for_selector("#overlay[data-tiles='3']")
        host = pages["host"]
        assert await host.is_visible("[data-testid=document-upload]")
        assert not await pages["site01"].is_visible("[data-testid=document-upload]")
        await host.set_input_files("[data-testid=document-file]", str(pdf))
        await host.click("[data-testid=document-upload]")
        for page in pages.values():
            await page.wait_for_selector("#presentation-bar[data-kind=document][data-page='1']")
            info = await page.inner_text("[data-testid=presentation-info]")
            assert "民法典第1254条" in info and "2" in info
            await page.wait_for_selector("#overlay[data-mode=presentation]")
            await shows(page, RED)
        await host.click("[data-testid=document-next]")
        for page in pages.values():
            await page.wait_for_selector("#presentation-bar[data-page='2']")
            await shows(page, BLUE)
        await host.click("[data-testid=presentation-stop]")
        for page in pages.values():
            await page.wait_for_selector("#overlay[data-mode=grid]")
            assert await page.get_attribute("#presentation-bar", "data-kind") == ""
        # Shown again from the room's list, without choosing the file again.
        await host.wait_for_selector("[data-testid=document-again]:visible")
        options = await host.eval_on_selector_all(
            "[data-testid=document-recent] option", "os => os.map(o => o.textContent)")
        assert options == ["民法典第1254条（2 页）"]
        await host.click("[data-testid=document-again]")
        for page in pages.values():
            await page.wait_for_selector("#presentation-bar[data-kind=document][data-page='1']")
            await shows(page, RED)
