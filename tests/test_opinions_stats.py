"""Statistics on a known data set, by every breakdown; the page's charts; CSV and XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable

import openpyxl
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.core.db import session_factory
from server.core.keys import ENGINE
from server.opinions.stats import Row, Statistics, compute
from server.opinions.supervision import supervise
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, category_id, local, principal, record, site_id


async def known_data_set(db: AsyncSession, clock: MutableClock) -> None:
    """Five items in 2026 and one in 2025 (left out).

    1  Nov 2, site01, 设施维修, deputy1, court: resolved Nov 4 (2 working days), confirmed
    2  Nov 3, site01, 环境卫生, police: resolved Nov 10 (5 working days), no word back yet
    3  Nov 16, site02, 设施维修, court: progress, then overdue and escalated Nov 24
    4  Oct 9, site02, anonymous, rejected
    5  Dec 1, site01, 交通出行: received only
    """
    clock.now = local(2025, 12, 30)
    await record(db, clock)
    clock.now = local(2026, 11, 2)
    one = await record(db, clock, deputy_id="1")
    await accept(db, clock, one.id)
    clock.now = local(2026, 11, 3)
    two = await record(db, clock, category_id=str(await category_id(db, "环境卫生")))
    await accept(db, clock, two.id, dept="police")
    clock.now = local(2026, 11, 4, 16, 0)
    await act(db, clock, "court", one.id, "resolve", note="已修复")
    clock.now = local(2026, 11, 5)
    await act(db, clock, "site01", one.id, "confirm")
    clock.now = local(2026, 11, 10, 11, 0)
    await act(db, clock, "police", two.id, "resolve", note="已清运")
    clock.now = local(2026, 11, 16)
    three = await record(db, clock, site_id=str(await site_id(db, "site02")), who="host")
    await accept(db, clock, three.id)
    await act(db, clock, "court", three.id, "update", note="正在协调")
    clock.now = local(2026, 11, 24, 9, 0)  # due Nov 23: overdue, escalated
    assert (await supervise(db, clock=clock, tz=SHANGHAI)).escalated == [three.id]
    clock.now = local(2026, 10, 9)
    four = await record(db, clock, site_id=str(await site_id(db, "site02")), who="host",
                        anonymous="1", resident_name="")
    await act(db, clock, "host", four.id, "reject", note="重复")
    clock.now = local(2026, 12, 1)
    await record(db, clock, category_id=str(await category_id(db, "交通出行")))
    clock.now = local(2026, 12, 2, 10, 0)


def numbers(row: Row) -> tuple[object, ...]:
    return (row.collected, row.replied, row.resolved, row.escalated, row.overdue,
            row.feedback_rate, row.median_workdays)


def table(stats: Statistics, dim: str) -> dict[str, tuple[object, ...]]:
    """The groups with items (every site and department is listed, also with none)."""
    return {row.label: numbers(row) for row in stats.by[dim] if row.collected}


async def test_statistics_on_a_known_data_set(db_session: AsyncSession,
                                              clock: MutableClock) -> None:
    db = db_session
    await known_data_set(db, clock)
    host = await principal(db, "host")
    stats = await compute(db, host, year=2026, now=clock(), tz=SHANGHAI)
    assert numbers(stats.total) == (5, 4, 2, 1, 1, 0.5, 3.5)
    months = {row.label: numbers(row) for row in stats.by["month"]}
    assert len(months) == 12
    assert months["2026-10"] == (1, 1, 0, 0, 0, None, None)
    assert months["2026-11"] == (3, 3, 2, 1, 1, 0.5, 3.5)
    assert months["2026-12"] == (1, 0, 0, 0, 0, None, None)
    assert months["2026-01"] == (0, 0, 0, 0, 0, None, None)
    assert table(stats, "site") == {"东坡村": (3, 2, 2, 0, 0, 0.5, 3.5),
                                    "西岭村": (2, 2, 0, 1, 1, None, None)}
    assert len(stats.by["site"]) == 14  # every site, in the administrator's order
    # every department (4 legal, 5 the street dispatches to) and "not assigned"
    assert len(stats.by["department"]) == 10
    assert table(stats, "department") == {"区人民法院": (2, 2, 1, 1, 1, 1.0, 2.0),
                                          "区公安分局": (1, 1, 1, 0, 0, 0.0, 5.0),
                                          "Not assigned": (2, 1, 0, 0, 0, None, None)}
    assert table(stats, "category") == {"设施维修": (3, 3, 1, 1, 1, 1.0, 2.0),
                                        "环境卫生": (1, 1, 1, 0, 0, 0.0, 5.0),
                                        "交通出行": (1, 0, 0, 0, 0, None, None)}
    assert table(stats, "deputy") == {"王建国": (1, 1, 1, 0, 0, 1.0, 2.0),
                                      "No deputy": (4, 3, 1, 1, 1, 0.0, 5.0)}
    # Each reader counts only what they may see.
    court = await compute(db, await principal(db, "court"), year=2026, now=clock(),
                          tz=SHANGHAI)
    assert numbers(court.total) == (2, 2, 1, 1, 1, 1.0, 2.0)
    site02 = await compute(db, await principal(db, "site02"), year=2026, now=clock(),
                           tz=SHANGHAI)
    assert numbers(site02.total) == (2, 2, 0, 1, 1, None, None)
    earlier = await compute(db, host, year=2025, now=clock(), tz=SHANGHAI)
    assert earlier.total.collected == 1


async def _seeded(signed_in: Callable[[str], Awaitable[TestClient]], clock: MutableClock,
                  who: str = "host") -> TestClient:
    clock.now = local(2026, 12, 2)  # sign in when the data set ends: sessions expire
    client = await signed_in(who)
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        await known_data_set(db, clock)
    return client


async def test_page_with_inline_charts(signed_in: Callable[[str], Awaitable[TestClient]],
                                       clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    resp = await host.get("/opinions/stats?year=2026")
    page = await resp.text()
    assert resp.status == 200
    assert "2026年共收集 5 件，已办结 2 件。" in page
    assert page.count("<svg") == 2
    assert page.count('class="chart-unit"') == 2  # each chart says what it counts
    assert "2026年各月收集、办结、督办件数" in page and "单位：件" in page
    # the charts are drawn on the server: no inline script, nothing from a CDN
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "cdn" not in page.lower()
    assert "50.0%" in page and "3.5" in page
    assert (await host.get("/opinions/stats?year=abc")).status == 422
    court = await signed_in("court")  # the clock is where the data set left it
    assert "2026年共收集 2 件，已办结 1 件。" in await (
        await court.get("/opinions/stats?year=2026")).text()


async def test_csv_export_parses(signed_in: Callable[[str], Awaitable[TestClient]],
                                 clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    resp = await host.get("/opinions/stats.csv?year=2026")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "opinions-2026.csv" in resp.headers["Content-Disposition"]
    body = (await resp.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["分类方式", "分组", "收集", "已受理", "已答复", "已办结", "已督办",
                       "超期", "办结率（%）", "按期办结率（%）", "满意率（%）", "反馈率（%）",
                       "办结用时中位数（工作日）"]
    total = ["5", "3", "4", "2", "1", "1", "66.7", "66.7", "", "50.0", "3.5"]
    assert rows[1] == ["合计", "合计", *total]
    assert ["按责任部门", "未交办", "2", "0", "1", "0", "0", "0", "", "", "", "", ""] in rows
    assert ["按站点", "合计", *total] in rows  # each breakdown ends with its total row
    # total, months, 14 sites, 9 departments and "not assigned", 3 categories, 2 deputies,
    # each breakdown with its total row
    assert len(rows) == 1 + 1 + (12 + 1) + (14 + 1) + (10 + 1) + (3 + 1) + (2 + 1)


async def test_xlsx_export_parses(signed_in: Callable[[str], Awaitable[TestClient]],
                                  clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    resp = await host.get("/opinions/stats.xlsx?year=2026")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames == ["合计", "按月份", "按站点", "按责任部门", "按类别", "按代表委员"]
    total = [list(r) for r in book["合计"].iter_rows(min_row=4, values_only=True)]
    assert total == [["分组", "收集", "已受理", "已答复", "已办结", "已督办", "超期",
                      "办结率（%）", "按期办结率（%）", "满意率（%）", "反馈率（%）",
                      "办结用时中位数（工作日）"],
                     ["合计", 5, 3, 4, 2, 1, 1, 66.7, 66.7, None, 50, 3.5]]
    sites = {r[0]: r[1] for r in book["按站点"].iter_rows(min_row=5, values_only=True)}
    assert {k: v for k, v in sites.items() if v} == {"东坡村": 3, "西岭村": 2, "合计": 5}
    assert len(sites) == 14 + 1
