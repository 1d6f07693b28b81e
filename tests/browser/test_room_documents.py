"""A document and a screen on the wall, seen in Chromium: every receiver's decoded wall shows
the page (pixels read from the <video> drawn into a canvas), page by page, and a screen
shared with getDisplayMedia (Chromium's fake screen under --use-fake-ui-for-media-stream)."""

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


# The presentation area of the decoded wall, as the mean colour of a 16x16 patch at its middle.
AREA_MEAN = """() => {
  const bar = document.getElementById('presentation-bar');
  const v = document.getElementById('wall');
  if (!bar.dataset.area || !v.videoWidth) return null;
  const area = JSON.parse(bar.dataset.area);
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0);
  const x = Math.floor((area.x + area.w / 2) * c.width) - 8;
  const y = Math.floor((area.y + area.h / 2) * c.height) - 8;
  const d = ctx.getImageData(x, y, 16, 16).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  return sum.map((s) => Math.round(s / (d.length / 4)));
}"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_host_shares_a_screen_and_the_receivers_decode_it_in_the_wall(
    live_server: str,
) -> None:
    async with chromium(WEBRTC_ARGS) as browser:
        pages = {name: await enter(browser, live_server, name) for name in ("host", "site01")}
        for page in pages.values():
            await page.wait_for_selector("#overlay[data-tiles='2']")
        host, site = pages["host"], pages["site01"]
        await host.click("[data-testid=screen-share]")  # Chromium's fake screen, no picker
        for page in pages.values():
            await page.wait_for_selector("#presentation-bar[data-kind=screen]")
            await page.wait_for_selector("#overlay[data-mode=presentation]")
            assert "共享屏幕" in await page.inner_text("[data-testid=presentation-info]")
        # Chromium's fake screen is a moving green picture; the area is dark until it comes.
        await site.wait_for_function(f"() => {{ const m = ({AREA_MEAN})();"
                                     " return m && m[1] > 120 && m[1] > m[0] + 60"
                                     " && m[1] > m[2] + 60; }")
        seen = set()
        for _ in range(20):
            seen.add(tuple(await site.evaluate(AREA_MEAN)))
            if len(seen) >= 3:
                break
            await site.wait_for_timeout(200)
        assert len(seen) >= 3, seen  # a live screen, not a still
        await host.click("[data-testid=screen-share]")  # stop sharing
        for page in pages.values():
            await page.wait_for_selector("#overlay[data-mode=grid]")
            assert await page.get_attribute("#presentation-bar", "data-kind") == ""
