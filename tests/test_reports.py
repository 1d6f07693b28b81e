"""Report-grade outputs: 办结率, 按期办结率 and 满意率 on known data (zero denominators and a
late resolution included), every site listed, total rows equal to the column sums, the XLSX
as a printable report, both CSVs in Chinese with local minute times and translated states,
and the printed packet numbered 1..N across sites under its header."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import openpyxl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.core.db import session_factory
from server.core.jobs import run_session_job
from server.core.keys import ENGINE
from server.models import Opinion, Question, ResidentReceipt, Satisfaction
from server.opinions.exports import display_width
from server.opinions.stats import Row, Statistics, compute, rate_text
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, local, principal, record, site_id
from tests.question_helpers import PARKING, SignedIn, known, new_question
from tests.test_opinions_stats import _seeded

COUNTS = ("collected", "accepted", "replied", "resolved", "escalated", "overdue", "due",
          "on_time", "rated", "satisfied")


def _receipt(db: AsyncSession, item: Opinion, n: int, rating: Satisfaction | None) -> None:
    db.add(ResidentReceipt(
        code=f"R{n:07d}", idempotency_key=f"reports-{n}", site_id=item.site_id,
        opinion_id=item.id, created_at=item.received_at, consent_at=item.received_at,
        satisfaction=rating, rated_at=item.received_at if rating else None))


async def rated_data_set(db: AsyncSession, clock: MutableClock) -> dict[str, Opinion]:
    """Six items of Nov 2026, seen on Dec 2:

    on_time  accepted Nov 2, resolved Nov 4 (before its due time); rated satisfied
    late     accepted Nov 2, resolved a day after its due time; rated unsatisfied
    open     accepted Nov 16, still in progress, past its due time; rated satisfied
    fresh    accepted Dec 1, due later; a receipt not rated yet
    waiting  received only (not accepted)
    rejected rejected
    """
    clock.now = local(2026, 11, 2)
    on_time = await record(db, clock)
    await accept(db, clock, on_time.id)
    late = await record(db, clock, site_id=str(await site_id(db, "site02")), who="host")
    late = await accept(db, clock, late.id)
    assert late.due_at is not None
    clock.now = local(2026, 11, 4)
    await act(db, clock, "court", on_time.id, "resolve", note="已修复")
    clock.now = late.due_at.astimezone(SHANGHAI) + timedelta(days=1)
    await act(db, clock, "court", late.id, "resolve", note="已修复")
    clock.now = local(2026, 11, 16)
    open_ = await record(db, clock)
    await accept(db, clock, open_.id)
    await act(db, clock, "court", open_.id, "update", note="正在协调")
    waiting = await record(db, clock)
    rejected = await record(db, clock)
    await act(db, clock, "host", rejected.id, "reject", note="重复")
    clock.now = local(2026, 12, 1)
    fresh = await record(db, clock)
    await accept(db, clock, fresh.id)
    for n, (item, rating) in enumerate([(on_time, Satisfaction.SATISFIED),
                                        (late, Satisfaction.UNSATISFIED),
                                        (open_, Satisfaction.SATISFIED), (fresh, None)]):
        _receipt(db, item, n, rating)
    await db.flush()
    clock.now = local(2026, 12, 2, 10, 0)
    return {"on_time": on_time, "late": late, "open": open_, "fresh": fresh,
            "waiting": waiting, "rejected": rejected}


def counts(row: Row) -> tuple[int, ...]:
    return tuple(getattr(row, name) for name in COUNTS)


def assert_totals_are_column_sums(stats: Statistics) -> None:
    for dim, rows in stats.by.items():
        sums = tuple(sum(counts(r)[i] for r in rows) for i in range(len(COUNTS)))
        assert sums == counts(stats.total), dim


async def test_rates_on_known_data(db_session: AsyncSession, clock: MutableClock) -> None:
    db = db_session
    await rated_data_set(db, clock)
    stats = await compute(db, await principal(db, "host"), year=2026, now=clock(), tz=SHANGHAI)
    t = stats.total
    # collected, accepted, replied, resolved, escalated, overdue, due, on time, rated, satisfied
    assert counts(t)[:2] == (6, 4)
    assert (t.resolved, t.due, t.on_time, t.rated, t.satisfied) == (2, 3, 1, 3, 2)
    assert t.resolution_rate == 2 / 4  # resolved over accepted
    assert t.on_time_rate == 1 / 3  # the late one and the open one past due miss it
    assert t.satisfaction_rate == 2 / 3  # the unrated receipt does not count
    assert [rate_text(r) for r in (t.resolution_rate, t.on_time_rate,
                                   t.satisfaction_rate)] == ["50.0%", "33.3%", "66.7%"]
    by_site = {r.label: r for r in stats.by["site"]}
    late_site = by_site["西岭村"]  # only the late resolution
    assert (late_site.resolution_rate, late_site.on_time_rate,
            late_site.satisfaction_rate) == (1.0, 0.0, 0.0)
    assert_totals_are_column_sums(stats)


async def test_zero_denominators_show_a_dash(db_session: AsyncSession,
                                             clock: MutableClock) -> None:
    db = db_session
    await rated_data_set(db, clock)
    empty = await compute(db, await principal(db, "host"), year=2025, now=clock(),
                          tz=SHANGHAI)
    t = empty.total
    assert (t.collected, t.resolution_rate, t.on_time_rate, t.satisfaction_rate,
            t.feedback_rate) == (0, None, None, None, None)
    assert rate_text(None) == "—"
    # Every site is listed with zeros, and the total row still adds up.
    assert len(empty.by["site"]) == 14
    assert {counts(r) for r in empty.by["site"]} == {(0,) * len(COUNTS)}
    assert_totals_are_column_sums(empty)
    # A site sees its own row only; nothing rated there yet: no division by zero.
    site02 = await compute(db, await principal(db, "site02"), year=2026, now=clock(),
                           tz=SHANGHAI)
    assert [r.label for r in site02.by["site"]] == ["西岭村"]
    waiting_only = await compute(db, await principal(db, "police"), year=2026, now=clock(),
                                 tz=SHANGHAI)
    assert waiting_only.total.accepted == 0 and waiting_only.total.resolution_rate is None


def _cells(html: str) -> list[str]:
    return re.findall(r'<td class="num">([^<]*)</td>', html)


async def test_page_tables_end_with_a_total_row(signed_in: SignedIn,
                                                clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    page = await (await host.get("/opinions/stats?year=2026")).text()
    for dim in ("month", "site", "department", "category", "deputy"):
        table = re.search(rf'data-testid="stats-{dim}">(.*?)</table>', page, re.S)
        assert table, dim
        body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S)
        foot = re.search(r"<tfoot>(.*?)</tfoot>", table.group(1), re.S)
        assert body and foot
        assert "合计" in foot.group(1)
        rows = [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]
        total = _cells(foot.group(1))
        for column in range(6):  # the counts: collected .. overdue
            assert sum(int(r[column]) for r in rows) == int(total[column]), (dim, column)
    site_table = re.search(r'data-testid="stats-site">(.*?)</table>', page, re.S)
    assert site_table and site_table.group(1).count('<th scope="row">') == 14 + 1
    assert "办结率" in page and "按期办结率" in page and "满意率" in page


async def test_xlsx_is_a_report(signed_in: SignedIn, clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    book = openpyxl.load_workbook(io.BytesIO(await (
        await host.get("/opinions/stats.xlsx?year=2026")).read()))
    for sheet in book.worksheets:
        assert sheet["A1"].value == f"青山街道办事处 民意事项统计表 · {sheet.title}"
        assert sheet["A2"].value == "统计期间：2026-01-01 至 2026-12-31"
        assert sheet["A3"].value == "导出时间：2026-12-02 10:00"
        assert sheet["A4"].value == "分组" and sheet["C4"].value == "已受理"
        assert sheet.freeze_panes == "A5"
        for column in sheet.iter_cols(min_row=4):
            letter = column[0].column_letter
            widest = max(display_width(c.value) for c in column)
            assert sheet.column_dimensions[letter].width >= widest, (sheet.title, letter)
        assert sheet.cell(sheet.max_row, 1).value == "合计"
    sites = book["按站点"]
    # "办结用时中位数（工作日）": 12 wide characters, counted double.
    assert sites.column_dimensions["L"].width == 12 * 2 + 2
    assert display_width("东坡村 A1") == 9


async def test_opinion_csv_headers_in_chinese(signed_in: SignedIn,
                                              clock: MutableClock) -> None:
    host = await _seeded(signed_in, clock)
    raw = await (await host.get("/opinions/stats.csv?year=2026")).read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["分类方式", "分组", "收集", "已受理"]
    assert all(re.search(r"[\u4e00-\u9fff]", header) for header in rows[0])


async def test_packet_csv_and_printout(signed_in: SignedIn, clock: MutableClock) -> None:
    site01, site02 = await signed_in("site01"), await signed_in("site02")
    ids = await known(site01)
    first = await new_question(site01)
    second = await new_question(site02, anonymous="1", resident_name="")
    third = await new_question(site01, text=PARKING)
    clock.advance(days=2)  # the cutoff of the court's session
    await run_session_job(ids["s1"], "cutoff")
    court = await signed_in("court")

    resp = await court.get(f"/legal/sessions/{ids['s1']}/packet.csv")
    text = (await resp.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["序号", "类别", "站点", "问题编号", "排队序号", "问题", "居民",
                       "联系方式", "附件", "状态", "合并自", "转自", "提交时间", "上次阅读后"]
    async with session_factory(court.app[ENGINE])() as db:
        submitted = {q.id: q.submitted_at for q in await db.scalars(select(Question))}
    assert [(r[0], int(r[3]), r[9], r[12]) for r in rows[1:]] == [
        (str(n), q, "排队中", f"{submitted[q].astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
        for n, q in enumerate((first, third, second), start=1)]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", r[12]) for r in rows[1:])

    page = await (await court.get(f"/legal/sessions/{ids['s1']}/packet")).text()
    # One category, two sites: numbered on across the sites, not "1." again.
    numbers = re.findall(r'data-question="(\d+)"[^>]*data-number="(\d+)"', page)
    assert numbers == [(str(first), "1"), (str(third), "2"), (str(second), "3")]
    assert re.findall(r'<ol class="packet-items" start="(\d+)">', page) == ["1", "3"]
    header = re.search(r'data-testid="packet-print-header">(.*?)</header>', page, re.S)
    assert header
    title = re.search(r'data-testid="packet-title">[^<]*· ([^<]+)</h1>', page)
    assert title  # the programme's name
    assert f"{title.group(1)} · " in header.group(1)
    assert "区人民法院" in header.group(1)  # the department on duty
    assert "第 1 版" in header.group(1)
    printed = clock().astimezone(SHANGHAI)
    weekday = "一二三四五六日"[printed.weekday()]
    assert (f'data-testid="packet-printed-at">{printed.month}月{printed.day}日'
            f'（周{weekday}）{printed:%H:%M}<') in header.group(1)


async def test_legal_statistics_list_everything_with_totals(signed_in: SignedIn,
                                                            clock: MutableClock) -> None:
    site01 = await signed_in("site01")
    await known(site01)
    await new_question(site01)
    await new_question(site01, text=PARKING)
    host = await signed_in("host")
    page = await (await host.get("/legal/stats")).text()
    for table in ("sessions", "sites", "departments", "categories"):
        found = re.search(rf'data-testid="stats-{table}">(.*?)</table>', page, re.S)
        assert found, table
        body = re.search(r"<tbody>(.*?)</tbody>", found.group(1), re.S)
        foot = re.search(r"<tfoot>(.*?)</tfoot>", found.group(1), re.S)
        assert body and foot and "合计" in foot.group(1), table
        rows = [[int(n) for n in _cells(r)]
                for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]
        total = [int(n) for n in _cells(foot.group(1))]
        assert [sum(column) for column in zip(*rows, strict=True)] == total, table
        if table == "sites":
            assert len(rows) == 14 and total[0] == 2
        if table == "departments":
            assert len(rows) >= 2 and "区公安分局" in found.group(1)  # none on duty: zeros
