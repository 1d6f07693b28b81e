"""Statistics of opinion items, with inline SVG charts and CSV / XLSX downloads.

Everyone signed in gets the statistics of the items they may see: the street office all,
a site its own, a department its assigned items, a deputy theirs.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from scheduling.clock import zone
from server.accounts.access import signed_in
from server.core.errors import N_, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.opinions.exports import to_csv, to_xlsx
from server.opinions.stats import COLUMNS, DIMENSIONS, TOTAL, Statistics, compute
from web.charts import Series, grouped_bars, horizontal_bars
from web.render import render, translate

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _statistics(request: web.Request) -> Statistics:
    tz = zone(request.app[SETTINGS].timezone)
    now = request.app[CLOCK]()
    raw = request.query.get("year", "")
    try:
        year = int(raw) if raw else now.astimezone(tz).year
    except ValueError:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"year": N_("Enter a whole number.")}) from None
    if not 2000 <= year <= 2200:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"year": N_("Out of range.")})
    async with request.app[DATABASE]() as db:
        return await compute(db, current_principal(request), year=year, now=now, tz=tz)


@signed_in
async def stats_page(request: web.Request) -> web.StreamResponse:
    stats = await _statistics(request)

    def _(message: str) -> str:
        return translate(request, message)

    months = stats.by["month"]
    unit = _(N_("Unit: items"))
    month_chart = grouped_bars(
        _(N_("Collected, resolved and escalated by month, %(year)s")) % {"year": stats.year},
        [r.label[5:] for r in months],
        [Series(_(N_("Collected")), [r.collected for r in months]),
         Series(_(N_("Resolved")), [r.resolved for r in months]),
         Series(_(N_("Escalated")), [r.escalated for r in months])], unit=unit)
    categories = sorted(stats.by["category"], key=lambda r: -r.collected)
    category_chart = horizontal_bars(
        _(N_("Collected by category, %(year)s")) % {"year": stats.year},
        [r.label for r in categories], [r.collected for r in categories], unit=unit)
    return await render(request, "opinions/stats.html", {
        "stats": stats, "dimensions": DIMENSIONS, "columns": COLUMNS, "total_label": TOTAL,
        "month_chart": month_chart, "category_chart": category_chart,
    })


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body, headers={
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store"})


@signed_in
async def stats_csv(request: web.Request) -> web.StreamResponse:
    stats = await _statistics(request)
    body = to_csv(stats, lambda m: translate(request, m))
    return _download(body, "text/csv; charset=utf-8", f"opinions-{stats.year}.csv")


@signed_in
async def stats_xlsx(request: web.Request) -> web.StreamResponse:
    stats = await _statistics(request)
    exported_at = request.app[CLOCK]().astimezone(zone(request.app[SETTINGS].timezone))
    body = to_xlsx(stats, lambda m: translate(request, m), exported_at=exported_at)
    return _download(body, XLSX, f"opinions-{stats.year}.xlsx")
