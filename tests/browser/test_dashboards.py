"""Every role's dashboard in a real browser, on a laptop and on a phone.

The demo street with a few weeks of life (opinion items, questions) on the suite's Monday
2026-11-23 09:30. Each dashboard is photographed at 1440x900 and 390x844 into
var/screenshots/ (git-ignored) for a reviewer to look at; and every page a site or a
deputy uses must fit a 390 px wide phone without scrolling sideways.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from server.accounts.users import Principal
from server.core import db
from server.demo.activity import seed_activity
from server.legal.packet import compile_packet
from server.models import OpinionCategory, Site, User
from server.opinions import items as opinions
from server.opinions.commands import CreateOpinion
from tests.conftest import FIXED_NOW, MutableClock
from tests.support.browser import chromium, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
THURSDAY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # the court's session, 09:30 local
CUTOFF = THURSDAY - timedelta(days=1)
# What a site and a deputy open; {opinion} is an item of the site's.
PHONE_PAGES = ["/", "/opinions", "/opinions/new", "/opinions/{opinion}", "/legal",
               "/legal/questions", "/legal/questions/new", "/schedule", "/inbox"]


@pytest.fixture
async def street(db_url: str, tmp_path: Path) -> str:
    """The demo street with its activity, seeded before the browser comes."""
    engine = db.create_engine(db_url)
    try:
        async with db.session_factory(engine)() as session, session.begin():
            await seed_activity(session, clock=lambda: FIXED_NOW, uploads_dir=tmp_path / "up",
                                timezone="Asia/Shanghai")
            deputy = Principal.of(await session.scalar(
                select(User).where(User.username == "deputy1")))  # type: ignore[arg-type]
            site = await session.scalar(select(Site.id).where(Site.code == "site03"))
            category = await session.scalar(select(OpinionCategory.id).limit(1))
            await opinions.create(session, CreateOpinion(
                text="驿站门口的台阶太高，轮椅上不去，希望加装一条无障碍坡道。",
                site_id=site, category_id=category, resident_name=None),
                viewer=deputy, clock=lambda: FIXED_NOW, uploads_dir=tmp_path / "up")
    finally:
        await engine.dispose()
    return db_url


async def sign_in(browser: Browser, base: str, username: str, *,
                  viewport: dict[str, int] = DESKTOP) -> Page:
    return await signed_in_page(browser, base, username, width=viewport["width"],
                                height=viewport["height"])


async def photograph(browser: Browser, base: str, username: str) -> None:
    """The dashboard on a laptop and on a phone, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await sign_in(browser, base, username, viewport=viewport)
        await page.screenshot(path=str(SCREENSHOTS / f"dashboard-{username}-{name}.png"),
                              full_page=True)
        await page.close()


async def fits(page: Page) -> bool:
    return bool(await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"))


async def test_site_sees_countdown_cutoff_and_a_submit_button(street: str,
                                                              live_server: str) -> None:
    async with chromium() as browser:
        page = await sign_in(browser, live_server, "site02")
        card = page.get_by_test_id("site-next-session")
        assert "11月26日（周四）09:30" in await card.inner_text()
        assert await page.get_by_test_id("site-countdown").inner_text() == "3天0小时后开始"
        assert await page.get_by_test_id("site-cutoff").inner_text() == (
            "问题提交截止：11月25日（周三）09:30（还剩2天0小时）。")
        assert await page.locator("[data-testid=site-questions] li").count() == 1
        await page.get_by_test_id("submit-question").click()
        await page.wait_for_url(re.compile(r"/legal/questions/new\?session_id=\d+$"))
        assert await page.locator("textarea[name=text]").count() == 1
        await photograph(browser, live_server, "site02")
        await photograph(browser, live_server, "site05")


async def test_deputy_is_told_the_next_duty(street: str, live_server: str) -> None:
    async with chromium() as browser:
        page = await sign_in(browser, live_server, "deputy1")
        duty = await page.get_by_test_id("deputy-next-duty").inner_text()
        assert "12月2日（周三）14:30" in duty and "代表委员线上工作驿站" in duty
        assert await page.get_by_test_id("deputy-countdown").inner_text() == "9天5小时后开始"
        recorded = await page.get_by_test_id("deputy-recorded").inner_text()
        assert "无障碍坡道" in recorded and "下一步：街道办受理" in recorded
        await photograph(browser, live_server, "deputy1")


async def test_officer_sees_the_packet_marked_ready_once_sent(
        street: str, live_server: str, clock: MutableClock) -> None:
    clock.now = CUTOFF + timedelta(minutes=5)
    async with chromium() as browser:
        page = await sign_in(browser, live_server, "court")
        state = page.get_by_test_id("packet-state")
        assert await state.get_attribute("data-state") == "compiling"
        assert "尚未发送" not in await state.inner_text()
        assert await page.get_by_test_id("packet-mark").count() == 0
        await page.goto(live_server + "/legal/sessions/1/packet")
        assert await page.get_by_test_id("packet-version").inner_text() == (
            "已过截止时间：问题汇总正在生成")
        await page.goto(live_server + "/")

        engine = db.create_engine(street)
        try:
            async with db.session_factory(engine)() as session, session.begin():
                await compile_packet(session, 1, clock=clock)
        finally:
            await engine.dispose()
        await page.reload()
        assert await page.get_by_test_id("packet-mark").inner_text() == "已就绪"
        assert (await state.inner_text()).startswith("已就绪 已发送 · 11月25日（周三）09:35")
        await page.get_by_role("link", name="打开问题汇总").click()
        await page.wait_for_url(live_server + "/legal/sessions/1/packet")
        await page.goto(live_server + "/")
        assert await page.get_by_test_id("packet-mark").count() == 0  # opened: read
        await photograph(browser, live_server, "court")


async def test_host_gets_an_open_the_room_button_on_the_day(
        street: str, live_server: str, clock: MutableClock) -> None:
    clock.now = THURSDAY - timedelta(hours=1)
    async with chromium() as browser:
        page = await sign_in(browser, live_server, "host")
        button = page.get_by_test_id("open-room")
        assert await button.count() == 1
        assert await button.inner_text() == "打开会议室"
        assert await button.get_attribute("href") == "/rooms/legal"
        assert "区人民法院" in await page.get_by_test_id("host-sessions").inner_text()
        assert await page.locator("[data-testid=host-to-accept] li").count() == 2
        assert await page.locator("[data-testid=host-overdue] li").count() == 2
        await photograph(browser, live_server, "host")
        admin = await sign_in(browser, live_server, "admin")
        assert await admin.get_by_test_id("admin-holidays-missing").is_visible()
        # The administrator's menu: grouped, on one line at 1440 px.
        heights = await admin.evaluate(
            "Array.from(document.querySelectorAll('.nav > a, .nav > details'))"
            ".map(e => e.getBoundingClientRect().top)")
        assert len(heights) == 6 and max(heights) - min(heights) < 10
        await photograph(browser, live_server, "admin")


@pytest.mark.parametrize("username", ["site03", "deputy1"])
async def test_phone_pages_fit_390_px(street: str, live_server: str, username: str) -> None:
    async with chromium() as browser:
        page = await sign_in(browser, live_server, username, viewport=PHONE)
        # The small header: the menu opens on a tap.
        menu = page.locator("#topbar-menu")
        assert not await menu.is_visible()
        header = await page.locator("#topbar").bounding_box()
        assert header is not None and header["height"] < 60
        await page.get_by_test_id("menu-button").click()
        assert await menu.is_visible()
        assert await menu.locator("a[href='/inbox']").is_visible()
        assert await menu.get_by_text("日程", exact=True).first.is_visible()

        await page.goto(live_server + "/opinions")
        first = page.locator("[data-testid=opinion-table] tbody tr a").first
        href = await first.get_attribute("href")
        assert href is not None and re.fullmatch(r"/opinions/\d+", href)
        too_wide = []
        for path in PHONE_PAGES:
            response = await page.goto(live_server + path.format(opinion=href.rsplit("/", 1)[1]))
            assert response is not None and response.status in (200, 403), path
            if not await fits(page):
                too_wide.append(path)
        assert too_wide == []
        # The check sees a page that is too wide.
        await page.evaluate("const wide = document.createElement('div');"
                            " wide.style.width = '500px'; wide.textContent = 'x';"
                            " document.body.appendChild(wide);")
        assert not await fits(page)
        # Tables are cards: each cell carries its column's caption.
        await page.goto(live_server + "/opinions")
        cell = page.locator("[data-testid=opinion-table] tbody tr td").nth(2)
        assert await cell.get_attribute("data-label") == "站点"
