"""Programmes in words: the recurrence as people say it, room names, and the form's groups."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import time

import pytest
from aiohttp.test_utils import TestClient

from scheduling.recurrence import MonthlyByDay, MonthlyByWeekday, Pattern, Weekday, Weekly
from server.schedule.recurrence_words import pattern_words, rrule_words
from tests.conftest import CSRF_RE
from tests.support.schedule import GOOD_PROGRAMME

SignedIn = Callable[[str], Awaitable[TestClient]]


@pytest.mark.parametrize(("pattern", "start", "zh", "en"), [
    (Weekly(weekday=Weekday.THURSDAY), time(9, 30), "每周四 09:30", "Every Thursday at 09:30"),
    (MonthlyByWeekday(weekday=Weekday.WEDNESDAY, n=1), time(14, 0), "每月第一个周三 14:00",
     "The first Wednesday of every month at 14:00"),
    (MonthlyByWeekday(weekday=Weekday.FRIDAY, n=-1), time(8, 5), "每月最后一个周五 08:05",
     "The last Friday of every month at 08:05"),
    (MonthlyByDay(day=15), time(10, 0), "每月15日 10:00", "Day 15 of every month at 10:00"),
])
def test_patterns_in_words(pattern: Pattern, start: time, zh: str, en: str) -> None:
    assert pattern_words(pattern, start, "zh_CN") == zh
    assert pattern_words(pattern, start, "en") == en


def test_stored_rrules_in_words() -> None:
    assert rrule_words("FREQ=WEEKLY;BYDAY=TH", time(9, 30), "zh_CN") == "每周四 09:30"
    assert rrule_words("FREQ=MONTHLY;BYDAY=1WE", time(14, 30), "en") == \
        "The first Wednesday of every month at 14:30"
    assert rrule_words("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1", time(9, 0),
                       "zh_CN") == "每月31日 09:00"
    # A rule this app never writes is shown as stored rather than hidden.
    assert rrule_words("FREQ=DAILY", time(9, 0), "zh_CN") == "FREQ=DAILY 09:00"


async def test_the_programme_list_speaks_in_words_and_room_names(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/schedule/programmes")).text()
    assert "FREQ=" not in page
    assert "每周四 09:30" in page
    assert "每月第一个周三 14:30" in page
    cells = re.findall(r"<td>([^<]*)</td>", page)
    # name, when, room, ... for each programme: the room by its name, never its code
    assert (cells[1], cells[2]) == ("每周四 09:30 · 60 分钟", "线上法律咨询服务日")
    assert (cells[7], cells[8]) == ("每月第一个周三 14:30 · 120 分钟", "代表委员线上工作驿站")
    assert "legal" not in cells and "duty-station" not in cells
    admin.session.cookie_jar.update_cookies({"yizhan_lang": "en"})
    page = await (await admin.get("/schedule/programmes")).text()
    assert "Every Thursday at 09:30" in page and "FREQ=" not in page
    assert "Online legal consultation day" in page


def _groups(page: str) -> dict[str, bool]:
    """Each recurrence group (by its kinds) and whether the server rendered it hidden."""
    return {kinds: bool(hidden) for kinds, hidden in re.findall(
        r'data-pattern-group="([^"]+)"( hidden)?>', page)}


async def test_the_programme_form_shows_the_fields_of_its_kind(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/schedule/programmes/new")).text()
    assert _groups(page) == {"monthly_weekday": True, "weekly monthly_weekday": False,
                             "monthly_day": True}
    assert 'src="/static/js/programme_form.js' in page
    assert "programme_form_noscript.css" in page  # without JS every group shows
    # The duty station repeats monthly on the first Wednesday: weekday and which one.
    listing = await (await admin.get("/schedule/programmes")).text()
    monthly = re.search(r'data-programme="(\d+)">\s*<td>[^<]*</td>\s*<td>每月', listing)
    assert monthly
    page = await (await admin.get(f"/schedule/programmes/{monthly.group(1)}")).text()
    assert _groups(page) == {"monthly_weekday": False, "weekly monthly_weekday": False,
                             "monthly_day": True}
    # The room is chosen by its name.
    assert re.search(r'<option value="legal"[^>]*>[^<]*法律咨询', page)


async def test_a_session_page_names_its_room(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    page = await (await host.get("/schedule/sessions/1")).text()
    room = re.search(r'<dt>会议室</dt><dd><a href="([^"]*)"[^>]*>([^<]*)</a>', page)
    assert room is not None  # named, and a link straight into it
    assert (room.group(1), room.group(2).strip()) == ("/rooms/legal", "线上法律咨询服务日")


async def test_without_javascript_the_unused_fields_are_ignored(signed_in: SignedIn) -> None:
    """Every group shows without JS; what the chosen kind does not use is not checked."""
    admin = await signed_in("admin")
    token = CSRF_RE.search(await (await admin.get("/")).text())
    assert token
    resp = await admin.post("/schedule/programmes/new", data={
        **GOOD_PROGRAMME, "name": "每月十五日接待", "room": "street", "pattern": "monthly_day",
        "month_day": "15", "weekday": "nonsense", "nth": "9", "start_time": "16:00",
        "_csrf": token.group(1)}, allow_redirects=False)
    assert resp.status == 303
    listing = await (await admin.get("/schedule/programmes")).text()
    assert "每月15日 16:00" in listing
