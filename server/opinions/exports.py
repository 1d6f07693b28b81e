"""The statistics as files: CSV (UTF-8 with a BOM, so Excel on Windows reads the Chinese)
and XLSX (one sheet per breakdown, numbers as numbers, rates as percentages).

Each XLSX sheet is a report that can be printed as it is: a title row (the street and the
report), the period, when it was exported, then the table with a frozen header row and a
total row, and columns wide enough for their content (a CJK character counts double)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from server.core.errors import N_
from server.opinions.stats import DIMENSIONS, TOTAL, Row, Statistics

Translate = Callable[[str], str]

REPORT_TITLE = N_("Opinion statistics report")
HEADERS = (N_("Breakdown"), N_("Group"), N_("Collected"), N_("Accepted"), N_("Replied"),
           N_("Resolved"), N_("Escalated"), N_("Overdue"), N_("Resolution rate (%)"),
           N_("On-time resolution rate (%)"), N_("Satisfaction rate (%)"),
           N_("Feedback rate (%)"), N_("Median working days to resolve"))
HEADER_ROW = 4
"""Rows 1-3: title, period, exported at; the table's header below them."""


def _label(row: Row, _: Translate) -> str:
    return _(row.label) if row.label_is_msgid else row.label


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _values(row: Row) -> list[object]:
    return [row.collected, row.accepted, row.replied, row.resolved, row.escalated,
            row.overdue, _percent(row.resolution_rate), _percent(row.on_time_rate),
            _percent(row.satisfaction_rate), _percent(row.feedback_rate),
            row.median_workdays]


def _rows(stats: Statistics, _: Translate) -> list[list[object]]:
    out: list[list[object]] = [[_(TOTAL), _label(stats.total, _), *_values(stats.total)]]
    for dim, title in DIMENSIONS.items():
        out += [[_(title), _label(row, _), *_values(row)] for row in stats.by[dim]]
        out.append([_(title), _(TOTAL), *_values(stats.total)])
    return out


def to_csv(stats: Statistics, _: Translate) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_(h) for h in HEADERS])
    for row in _rows(stats, _):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def display_width(value: object) -> int:
    """Columns a value takes in a spreadsheet: wide (CJK) characters count double."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _fit_columns(sheet: Worksheet, columns: int) -> None:
    for col in range(1, columns + 1):
        cells = sheet.iter_rows(min_row=HEADER_ROW, min_col=col, max_col=col, values_only=True)
        widest = max((display_width(v) for (v,) in cells), default=0)
        sheet.column_dimensions[get_column_letter(col)].width = max(8, widest + 2)


def to_xlsx(stats: Statistics, _: Translate, *, exported_at: datetime) -> bytes:
    """`exported_at` in the street's time zone."""
    book = Workbook()
    headers = [_(h) for h in HEADERS[1:]]
    title = f"{stats.street} {_(REPORT_TITLE)}".strip()
    period = _(N_("Period: %(start)s to %(end)s")) % {
        "start": stats.start.isoformat(), "end": stats.end.isoformat()}
    exported = _(N_("Exported at: %(when)s")) % {"when": f"{exported_at:%Y-%m-%d %H:%M}"}
    sheets = [(_(TOTAL), [stats.total], False)] + [
        (_(name), stats.by[dim], True) for dim, name in DIMENSIONS.items()]
    for index, (name, rows, with_total) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        if sheet is None:  # a new Workbook always has its active sheet
            raise RuntimeError("no worksheet")
        sheet.title = name[:31]
        sheet.append([f"{title} · {name}"])
        sheet.append([period])
        sheet.append([exported])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        sheet["A1"].font = Font(bold=True, size=14)
        sheet["A1"].alignment = Alignment(horizontal="center")
        sheet.append(headers)
        for cell in sheet[HEADER_ROW]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_label(row, _), *_values(row)])
        if with_total:
            sheet.append([_(TOTAL), *_values(stats.total)])
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        sheet.freeze_panes = f"A{HEADER_ROW + 1}"
        sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        _fit_columns(sheet, len(headers))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
