"""A recording made in a real room plays in Chromium, and "watch this answer" seeks to
the answer.

The host enters the legal consultation room with a fake camera, starts recording from
the room's own button, the legal queue's marker for an answered question is put on the
timeline (as the answer form does, through RoomControl) and the host stops the
recording. The stop lists the recording (the rooms' hook); the question's page then has
a "watch this answer" link, and following it plays the recording from the marker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page
from sqlalchemy import select

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.meetings.registry import WALL
from server.meetings.room_control import ROOM_CONTROL
from server.models import Outcome, Question, QuestionStatus, Recording, RecordingMark
from tests.conftest import AppFactory, MutableClock
from tests.question_helpers import ask
from tests.support.browser import chromium, sign_in
from tests.support.loopback import TEST_WALL, loopback_ice

__all__ = ["loopback_ice"]  # autouse: the server's aiortc gathers on 127.0.0.1 only

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
WEBRTC_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
async def served(app_factory: AppFactory) -> AsyncIterator[tuple[web.Application, str]]:
    app = app_factory()
    app[WALL] = TEST_WALL
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield app, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def answered_question(app: web.Application, clock: MutableClock) -> int:
    async with session_factory(app[ENGINE])() as db, db.begin():
        submitted = await ask(db, clock, "site01")
        question = await db.get(Question, submitted.question_id)
        assert question is not None
        question.status, question.outcome = QuestionStatus.ANSWERED, Outcome.LIVE
        question.answer_summary, question.answered_at = "由侵权人赔偿。", clock.now
        return question.id


async def listed(app: web.Application) -> tuple[int, float, float]:
    """The recording's id, length and the question's offset in it, once the hook listed
    it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with session_factory(app[ENGINE])() as db:
            mark = await db.scalar(select(RecordingMark))
            recording = await db.scalar(select(Recording))
        if mark is not None and recording is not None:
            return recording.id, recording.duration_s, mark.offset_s
        await asyncio.sleep(0.2)
    raise AssertionError("the stopped recording was not listed")


async def player(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.eval_on_selector(
        "#recording-player", "v => ({t: v.currentTime, d: v.duration, ready: v.readyState,"
        " paused: v.paused, error: v.error && v.error.code})")
    return state


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_recording_plays_and_watch_this_answer_seeks_to_it(
    served: tuple[web.Application, str], clock: MutableClock,
) -> None:
    app, base = served
    question_id = await answered_question(app, clock)
    async with chromium(WEBRTC_ARGS) as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        room = await context.new_page()
        room.set_default_timeout(WAIT_MS)
        await sign_in(room, base, "host")
        await room.goto(base + "/rooms/legal")
        await room.wait_for_function(
            "() => { const v = document.getElementById('wall');"
            " return v.videoWidth > 0 && v.currentTime > 0; }")
        await room.click("#recording[data-action=start_recording]")
        await room.wait_for_selector("#recording[data-action=stop_recording]")
        started = time.monotonic()
        await asyncio.sleep(3.0)
        app[ROOM_CONTROL].add_marker("legal", "now-answering", {
            "session": 1, "question": question_id, "site": 1})
        await asyncio.sleep(max(0.0, 8.0 - (time.monotonic() - started)))
        await room.click("#recording[data-action=stop_recording]")
        await room.wait_for_selector("#recording[data-action=start_recording]")
        recording_id, duration, offset = await listed(app)
        # Where the marker is depends on how fast this machine ran the room; somewhere
        # in the middle, with video on both sides.
        assert 1.0 < offset < duration - 2.0, (offset, duration)
        await room.close()

        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        fetched: list[tuple[int, str | None]] = []
        page.on("response", lambda r: fetched.append((r.status, r.headers.get("content-range")))
                if r.url.endswith("/video") else None)
        await page.goto(f"{base}/legal/questions/{question_id}")
        link = page.locator("[data-testid=watch-answer]")
        assert await link.get_attribute("href") == f"/recordings/{recording_id}?t={offset:.1f}"
        await link.click()
        await page.wait_for_url(f"{base}/recordings/{recording_id}?t={offset:.1f}")
        # It starts at the answer, and plays on from there.
        await page.wait_for_function(
            "() => { const v = document.getElementById('recording-player');"
            " return v.readyState >= 2 && v.currentTime > 0; }")
        at = await player(page)
        assert at["error"] is None
        assert abs(at["t"] - offset) < 2.0, (at, offset)
        assert abs(at["d"] - duration) < 1.0, at  # the file knows its length
        await page.wait_for_function(
            f"() => document.getElementById('recording-player').currentTime > {at['t'] + 0.5}")
        # The event list seeks too: back to the question from further on.
        end = round(duration - 1.0, 1)
        await page.eval_on_selector("#recording-player", f"v => {{ v.currentTime = {end}; }}")
        await page.wait_for_function(
            f"() => document.getElementById('recording-player').currentTime >= {end}")
        entry = page.locator(f"#recording-index li[data-question='{question_id}'] button")
        await entry.click()
        await page.wait_for_function(
            f"() => Math.abs(document.getElementById('recording-player').currentTime"
            f" - {offset}) < 1.0")
        assert await page.locator("#recording-index li.current").count() == 1
        # The player asked for ranges of the file, and got them.
        assert fetched and all(status == 206 and content_range for status, content_range
                               in fetched), fetched
