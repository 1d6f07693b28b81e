"""The host runs the legal queue from the room's side panel, without leaving the room.

Two sites submit questions, the cutoff passes; in the legal room the host's panel shows the
queue with "now answering" and an answer form, a site's raised hand puts "举手" on that
site's questions, and an answer saved from the panel is stored; the site's page has no
answer controls.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page

from server.core import db
from server.core.jobs import run_session_job
from server.models import Question, QuestionStatus
from tests.browser.test_questions import first_legal_session, signed_in
from tests.browser.test_room_controls import WEBRTC_ARGS, app_factory
from tests.conftest import MutableClock
from tests.support.browser import chromium
from tests.support.loopback import loopback_ice

__all__ = ["app_factory", "loopback_ice"]

pytestmark = pytest.mark.browser

ANSWER = "依照民法典第一千二百五十四条，由可能加害的建筑物使用人给予补偿。"
WAIT_MS = 30_000


async def submit(browser: Browser, base: str, username: str, session_id: int,
                 text: str) -> int:
    page = await signed_in(browser, base, username)
    await page.goto(base + "/legal/questions/new")
    await page.select_option("select[name=session_id]", str(session_id))
    await page.select_option("select[name=category_id]", label="侵权")
    await page.fill("textarea[name=text]", text)
    await page.fill("input[name=resident_name]", "王阿姨")
    await page.fill("input[name=contact]", "13800001111")
    await page.click("[data-testid=question-submit]")
    await page.wait_for_url(re.compile(r".*/legal/questions/\d+$"))
    question_id = int(page.url.rsplit("/", 1)[1])
    await page.context.close()
    return question_id


async def in_room(browser: Browser, base: str, username: str) -> Page:
    page = await signed_in(browser, base, username)
    page.set_default_timeout(WAIT_MS)
    await page.goto(base + "/rooms/legal")
    await page.wait_for_selector("#room[data-participant-id]")
    return page


async def stored(db_url: str, question_id: int) -> Question:
    engine = db.create_engine(db_url)
    try:
        async with db.session_factory(engine)() as s:
            row = await s.get(Question, question_id)
            assert row is not None
            return row
    finally:
        await engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_host_answers_from_the_room_panel(live_server: str, db_url: str,
                                                clock: MutableClock) -> None:
    session_id, _on_duty = await first_legal_session(db_url)
    async with chromium(WEBRTC_ARGS) as browser:
        mine = await submit(browser, live_server, "site01", session_id, "邻居装修噪音怎么办？")
        other = await submit(browser, live_server, "site02", session_id, "租房押金不退怎么办？")
        # The cutoff passes (the scheduler is off in tests): the questions are queued.
        clock.advance(days=2, hours=23, minutes=55)
        await run_session_job(session_id, "cutoff")

        host = await in_room(browser, live_server, "host")
        panel = host.locator("#side-panel")
        item = panel.locator(f".qp-item[data-question='{mine}']")
        await item.locator("[data-testid=qp-now-answering]").wait_for()
        await panel.locator(f".qp-item[data-question='{other}'] [data-testid=qp-answer]").wait_for()
        assert await host.locator("[data-testid=qp-hand]").count() == 0

        # The site raises its hand: the host's panel marks its question, not the other's.
        site = await in_room(browser, live_server, "site01")
        await site.click("[data-testid=hand]")
        await item.locator("[data-testid=qp-hand]").wait_for()
        assert await item.locator("[data-testid=qp-hand]").inner_text() == "举手"
        assert await panel.locator(
            f".qp-item[data-question='{other}'] [data-testid=qp-hand]").count() == 0
        assert await item.locator("[data-testid=qp-answer-next]").inner_text() \
            == "下一个解答该站点的问题"

        # The site sees the queue read-only: no answer controls, no answer form.
        await site.locator(f"#side-panel .qp-item[data-question='{mine}']").wait_for()
        assert await site.locator("#queue-answer").count() == 0
        assert await site.locator("#side-panel button").count() == 0

        # "Answer this site's question next": it becomes the current one, the site is spotlit.
        site_key = await site.get_attribute("#room", "data-participant-id")
        await item.locator("[data-testid=qp-answer-next]").click()
        await panel.locator(f".qp-item.current[data-question='{mine}']").wait_for()
        await host.wait_for_selector(f"#overlay[data-spotlight='{site_key}']")
        form = host.locator(f"[data-testid=qa-form][data-question='{mine}']")
        await form.wait_for()

        # Saving without a summary: the error is shown inline, nothing changes.
        await form.locator("[data-testid=qa-submit]").click()
        await host.locator("[data-testid=qa-message].error").wait_for()
        assert await host.locator("[data-testid=qa-message]").inner_text() != ""
        assert (await stored(db_url, mine)).status is QuestionStatus.QUEUED
        assert host.url.endswith("/rooms/legal")

        await form.locator("textarea[name=summary]").fill(ANSWER)
        await form.locator("input[name=outcome][value=live]").check()
        await form.locator("[data-testid=qa-submit]").click()
        await panel.locator(f".qp-item.answered[data-question='{mine}']").wait_for()
        assert ANSWER in await panel.locator(f".qp-item[data-question='{mine}']").inner_text()
        assert host.url.endswith("/rooms/legal")
        row = await stored(db_url, mine)
        assert (row.status, row.answer_summary) == (QuestionStatus.ANSWERED, ANSWER)
        assert (await stored(db_url, other)).status is QuestionStatus.QUEUED

        # "Now answering" on the other site's question from the panel.
        await panel.locator(
            f".qp-item[data-question='{other}'] [data-testid=qp-now-answering]").click()
        await panel.locator(f".qp-item.current[data-question='{other}']").wait_for()
        assert (await stored(db_url, other)).answering_at is not None
