"""The statistics as files: CSV (UTF-8 with a BOM, so Excel on Windows reads the Chinese)
and XLSX (one sheet per breakdown, numbers as numbers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from openpyxl import Workbook
from openpyxl.styles import Font

from server.core.errors import N_
from server.opinions.stats import DIMENSIONS, Row, Statistics

Translate = Callable[[str], str]

HEADERS = (N_("Breakdown"), N_("Group"), N_("Collected"), N_("Replied"), N_("Resolved"),
           N_("Escalated"), N_("Overdue"), N_("Feedback rate (%)"),
           N_("Median working days to resolve"))


def _label(row: Row, _: Translate) -> str:
    return _(row.label) if row.label_is_msgid else row.label


def _values(row: Row) -> list[object]:
    return [row.collected, row.replied, row.resolved, row.escalated, row.overdue,
            None if row.feedback_rate is None else round(row.feedback_rate * 100, 1),
            row.median_workdays]


def _rows(stats: Statistics, _: Translate) -> list[list[object]]:
    out: list[list[object]] = [[_(N_("Total")), _label(stats.total, _), *_values(stats.total)]]
    for dim, title in DIMENSIONS.items():
        out += [[_(title), _label(row, _), *_values(row)] for row in stats.by[dim]]
    return out


def to_csv(stats: Statistics, _: Translate) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_(h) for h in HEADERS])
    for row in _rows(stats, _):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(stats: Statistics, _: Translate) -> bytes:
    book = Workbook()
    sheets = [(_(N_("Total")), [stats.total])] + [
        (_(title), stats.by[dim]) for dim, title in DIMENSIONS.items()]
    first = True
    for title, rows in sheets:
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = title[:31]
        sheet.append([_(h) for h in HEADERS[1:]])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_label(row, _), *_values(row)])
        sheet.column_dimensions["A"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
