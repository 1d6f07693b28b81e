"""One date style per context, following Chinese conventions.

Pages say 12月3日（周四）09:30 (2027年1月5日（周二） only in another year), a date alone
12月3日（周四）, a time 09:30; English says Thu 3 Dec 09:30. ISO stays for machines:
exports, form input values, data-* attributes and <time datetime>. Chinese text in the
catalog uses full-width punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest
from aiohttp.test_utils import TestClient
from babel.messages.pofile import read_po

from server.accounts.access import access_of
from tests.conftest import FIXED_NOW, AppFactory
from tests.test_access import route_table
from tests.test_headers import clients_by_role
from web.render import _format_datetime, _format_day, _format_time, format_day, format_when

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "web" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
TODAY = date(2026, 12, 2)


# -- the filters ---------------------------------------------------------------------------

def test_a_day_in_the_current_year_has_no_year_and_names_its_weekday() -> None:
    assert format_day(date(2026, 12, 3), locale="zh_CN", today=TODAY) == "12月3日（周四）"
    assert format_day(date(2026, 1, 5), locale="zh_CN", today=TODAY) == "1月5日（周一）"
    assert format_day(date(2026, 12, 6), locale="zh_CN", today=TODAY) == "12月6日（周日）"


def test_a_day_in_another_year_shows_the_year() -> None:
    assert format_day(date(2027, 1, 5), locale="zh_CN", today=TODAY) == "2027年1月5日（周二）"
    assert format_day(date(2025, 12, 31), locale="zh_CN", today=TODAY) == "2025年12月31日（周三）"
    # Without a today the year is always there: never ambiguous.
    assert format_day(date(2026, 12, 3), locale="zh_CN", today=None) == "2026年12月3日（周四）"


def test_every_weekday_has_its_name() -> None:
    week = [date(2026, 11, 30) + timedelta(days=i) for i in range(7)]  # Monday to Sunday
    assert [format_day(d, locale="zh_CN", today=TODAY)[-4:] for d in week] == [
        "（周一）", "（周二）", "（周三）", "（周四）", "（周五）", "（周六）", "（周日）"]
    assert [format_day(d, locale="en", today=TODAY).split()[0] for d in week] == [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_a_moment_is_shown_on_the_street_s_wall_clock() -> None:
    # 01:30 UTC is 09:30 in Shanghai, the same day; 16:30 UTC is already the next day.
    at = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    assert format_when(at, locale="zh_CN", today=TODAY, tz=SHANGHAI) == "12月3日（周四）09:30"
    late = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)
    assert format_when(late, locale="zh_CN", today=TODAY, tz=SHANGHAI) == "2027年1月1日（周五）00:05"


def test_english_reads_weekday_day_month() -> None:
    at = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    assert format_when(at, locale="en", today=TODAY, tz=SHANGHAI) == "Thu 3 Dec 09:30"
    assert format_day(date(2027, 1, 5), locale="en", today=TODAY) == "Tue 5 Jan 2027"


def test_the_template_filters_use_the_page_s_locale_zone_and_today() -> None:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(datetime=_format_datetime, day=_format_day, time=_format_time)
    page = env.from_string("{{ at | datetime }}|{{ d | day }}|{{ at | day }}|{{ at | time }}|"
                           "{{ t | time }}|{{ none | datetime }}{{ none | day }}{{ none | time }}")
    values = {"at": datetime(2026, 12, 3, 1, 30, tzinfo=UTC), "d": date(2027, 1, 5),
              "t": time(9, 5), "none": None, "_timezone": "Asia/Shanghai", "_today": TODAY}
    assert page.render(locale="zh_CN", **values) == (
        "12月3日（周四）09:30|2027年1月5日（周二）|12月3日（周四）|09:30|09:05|")
    assert page.render(locale="en", **values) == (
        "Thu 3 Dec 09:30|Tue 5 Jan 2027|Thu 3 Dec|09:30|09:05|")


# -- every page --------------------------------------------------------------------------

class VisibleText(HTMLParser):
    """The text a person reads: no tags, attributes, input values, scripts or styles."""

    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.HIDDEN and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ANY_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日(（周[一二三四五六日]）)?")
LOOSE_YEAR = re.compile(r"\d{4}年(?!\d{1,2}月)")
CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{1,2})(?![\d:])")


def date_style_faults(text: str, *, this_year: int) -> list[str]:
    """What in a page's visible Chinese text breaks the one date style."""
    faults = [f"ISO date {m.group()}" for m in ISO_DAY.finditer(text)]
    for m in ANY_DAY.finditer(text):
        year, weekday = m.group(1), m.group(4)
        if weekday is None:
            faults.append(f"a day without its weekday: {m.group()}")
        elif year is not None and int(year) == this_year:
            faults.append(f"the current year spelt out: {m.group()}")
    faults += [f"time not HH:MM: {m.group()}" for m in CLOCK.finditer(text)
               if len(m.group(1)) != 2 or len(m.group(2)) != 2]
    return faults


def test_the_page_check_catches_each_mixed_form() -> None:
    assert date_style_faults("12月3日（周四）09:30 · 2027年1月5日（周二） · 10:05",
                             this_year=2026) == []
    assert date_style_faults("到期 2026-11-24", this_year=2026) == ["ISO date 2026-11-24"]
    assert date_style_faults("2026年11月16日（周一）", this_year=2026) == [
        "the current year spelt out: 2026年11月16日（周一）"]
    assert date_style_faults("2027年1月5日 9:30", this_year=2026) == [
        "a day without its weekday: 2027年1月5日", "time not HH:MM: 9:30"]


@SQLITE
async def test_every_page_a_demo_account_sees_uses_the_one_date_style(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()
    clients = await clients_by_role(app, aiohttp_client)
    this_year = FIXED_NOW.astimezone(SHANGHAI).year
    faults: dict[str, list[str]] = {}
    pages = dated = 0
    for method, path, route in route_table(app):
        access = access_of(route.handler)
        if method != "GET" or path == "/logout" or access is None:
            continue
        for role, c in clients.items():
            if not (access.public or access.admits(role)):
                continue
            resp = await c.get(path, headers={"Accept-Language": "zh-CN"}, allow_redirects=False)
            if resp.status != 200 or resp.content_type != "text/html":
                await resp.read()
                continue
            text = visible_text(await resp.text())
            pages += 1
            dated += bool(ANY_DAY.search(text))
            found = date_style_faults(text, this_year=this_year)
            if found:
                faults[f"{path} as {role}"] = found
    assert faults == {}
    assert pages >= 100 and dated >= 20, (pages, dated)


# -- the catalog ----------------------------------------------------------------------------

CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
HALF_NEXT_TO_CJK = re.compile(rf"(?<={CJK})[(),;:!?]|[(),;:!?](?={CJK})")


def half_width_faults(msgstr: str) -> list[str]:
    """Half-width ( ) : , ; ! ? touching Chinese text (a placeholder in Chinese text counts as
    Chinese); URLs and times like 09:30 do not count."""
    if not re.search(CJK, msgstr):
        return []
    plain = re.sub(r"https?://\S+", "U", msgstr)
    plain = re.sub(r"\d{1,2}:\d{2}", "0", plain)
    plain = re.sub(r"%\([a-z_]+\)[sd]", "字", plain)
    return [plain[max(m.start() - 1, 0):m.end() + 1] for m in HALF_NEXT_TO_CJK.finditer(plain)]


def test_the_catalog_check_tells_half_from_full_width() -> None:
    assert half_width_faults("问题截止：%(when)s（还剩%(left)s）") == []
    assert half_width_faults("请访问 https://a.example/x:1 或 09:30 前") == []
    assert half_width_faults("Version %(n)s (draft)") == []
    assert half_width_faults("截止时间:%(when)s") == ["间:字"]
    assert half_width_faults("第%(n)s版 (%(status)s)") == [" (字", "字)"]
    assert half_width_faults("星期(周四)") == ["期(周", "四)"]
    assert half_width_faults("已保存,谢谢!好吗?是;否") == ["存,谢", "谢!好", "吗?是", "是;否"]


def test_chinese_msgstrs_use_full_width_punctuation() -> None:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    faults = {}
    chinese = 0
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        chinese += any(re.search(CJK, s) for s in strings if s)
        found = [fault for s in strings if s for fault in half_width_faults(s)]
        if found:
            faults[str(message.id)] = found
    assert faults == {}
    assert chinese >= 300, chinese
