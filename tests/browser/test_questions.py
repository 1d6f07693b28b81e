"""The legal consultation day in a browser: a site submits a question, the cutoff passes,
the court's officer opens the packet, the host runs the queue, the officer answers, and
the site sees the answer."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from server.core import db
from server.core.jobs import run_session_job
from server.models import Department, Programme, ProgrammeSession, UnitKind
from tests.conftest import MutableClock
from tests.support.browser import chromium, signed_in_page

pytestmark = pytest.mark.browser

QUESTION = "楼上住户的花盆掉下来砸坏了我的车，找不到是谁家的，谁来赔？"
ANSWER = "依照民法典第一千二百五十四条：查不清的，由可能加害的建筑物使用人给予补偿。"
TIMEOUT_MS = 10_000


async def signed_in(browser: Browser, base: str, username: str) -> Page:
    return await signed_in_page(browser, base, username, wait_ms=TIMEOUT_MS)


async def first_legal_session(db_url: str) -> tuple[int, str]:
    """The next legal session at the fixed test time, and the department on duty."""
    engine = db.create_engine(db_url)
    try:
        async with db.session_factory(engine)() as s:
            row = (await s.execute(
                select(ProgrammeSession.id, Department.code)
                .join(Programme, Programme.id == ProgrammeSession.programme_id)
                .join(Department, Department.id == ProgrammeSession.department_id)
                .where(Programme.unit_kind == UnitKind.DEPARTMENT)
                .order_by(ProgrammeSession.starts_at).limit(1))).first()
    finally:
        await engine.dispose()
    assert row is not None
    return row[0], row[1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_question_from_site_to_answer(live_server: str, db_url: str,
                                            clock: MutableClock) -> None:
    session_id, on_duty = await first_legal_session(db_url)
    assert on_duty == "court"  # the demo rotation starts with the court
    async with chromium() as browser:
        site = await signed_in(browser, live_server, "site01")
        await site.click("nav >> text=法律咨询")
        await site.click("[data-testid=submit-question]")
        await site.select_option("select[name=session_id]", str(session_id))
        await site.select_option("select[name=category_id]", label="侵权")
        await site.fill("textarea[name=text]", QUESTION)
        await site.fill("input[name=resident_name]", "王阿姨")
        await site.fill("input[name=contact]", "13800001111")
        await site.click("[data-testid=question-submit]")
        await site.wait_for_url("**/legal/questions/*")
        assert await site.get_by_test_id("question-text").inner_text() == QUESTION
        question_id = site.url.rsplit("/", 1)[1]

        # Thursday 09:25: the cutoff (Wednesday 09:30) has passed; the scheduler is off in
        # tests, so its cutoff job runs here.
        clock.advance(days=2, hours=23, minutes=55)
        await run_session_job(session_id, "cutoff")

        court = await signed_in(browser, live_server, on_duty)
        # In the inbox: the packet, and the cutoff notice of the schedule.
        unread = int(await court.get_by_test_id("unread-count").inner_text())
        assert unread == 2
        await court.goto(live_server + "/legal")
        await court.click(f"tr[data-session='{session_id}'] [data-testid=packet-link]")
        await court.wait_for_url(f"**/legal/sessions/{session_id}/packet")
        assert await court.get_by_test_id("packet-version").inner_text() \
            == "第 1 版 · 发送于 11月26日（周四）09:25"
        packet_item = court.locator(f"li[data-question='{question_id}']")
        assert QUESTION in await packet_item.inner_text()
        assert "13800001111" in await packet_item.inner_text()
        await court.goto(live_server + "/")
        # Opening the packet marked its message read.
        assert await court.get_by_test_id("unread-count").inner_text() == str(unread - 1)

        host = await signed_in(browser, live_server, "host")
        await host.goto(f"{live_server}/legal/sessions/{session_id}/queue")
        panel = host.locator("#side-panel")
        await panel.locator(f".qp-item[data-question='{question_id}']").wait_for()
        assert await panel.get_attribute("data-current") == ""
        await host.click(f"tr[data-question='{question_id}'] [data-testid=now-answering]")
        await host.get_by_test_id("current-question").wait_for()
        await panel.locator(f".qp-item.current[data-question='{question_id}']").wait_for()
        assert "正在解答" in await panel.locator(".qp-item.current").inner_text()

        await court.goto(f"{live_server}/legal/sessions/{session_id}/queue")
        current = court.get_by_test_id("current-question")
        await current.locator("textarea[name=summary]").fill(ANSWER)
        await current.locator("input[name=outcome][value=live]").check()
        await current.get_by_test_id("answer-submit").click()
        await court.locator("[data-testid=answered-list] li").first.wait_for()
        assert ANSWER[:20] in await court.get_by_test_id("answered-list").inner_text()

        # The host's panel catches up by itself: the question moves to "answered".
        await panel.locator(f".qp-item.answered[data-question='{question_id}']").wait_for()
        assert await panel.get_attribute("data-current") == ""

        site = await signed_in(browser, live_server, "site01")
        await site.goto(f"{live_server}/legal/questions/{question_id}")
        assert await site.get_by_test_id("answer-summary").inner_text() == ANSWER
        await site.goto(live_server + "/legal/board")
        assert ANSWER in await site.get_by_test_id("board-items").inner_text()
        assert "王阿姨" not in await site.get_by_test_id("board-items").inner_text()
