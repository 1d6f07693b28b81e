"""The street's public board of results (/board, /board.json, /board/photos/{id}): no login,
phone first, and only what staff published (`server.board`)."""

from __future__ import annotations

from aiohttp import web

from scheduling.clock import zone
from server import board
from server.accounts.access import public
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.opinions.photos import path_of, sniff
from server.opinions.stats import days_text, rate_text
from web.charts import Series, grouped_bars, horizontal_bars
from web.pages.opinions.items import ident_of
from web.render import render, translate

PHONE_WIDTH = 360


async def _board(request: web.Request) -> board.Board:
    tz = zone(request.app[SETTINGS].timezone)
    now = request.app[CLOCK]()
    raw = request.query.get("year", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"year": N_("Enter a whole number.")})
    year = int(raw) if raw else now.astimezone(tz).year
    if not 2000 <= year <= 2099:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"year": N_("Out of range.")})
    async with request.app[DATABASE]() as db:
        return await board.compute(db, year=year, now=now, tz=tz)


@public
async def board_page(request: web.Request) -> web.StreamResponse:
    result = await _board(request)

    def _(message: str) -> str:
        return translate(request, message)

    months = result.by_month
    month_chart = grouped_bars(
        _(N_("Received and closed by month")), [g.label[5:] for g in months],
        [Series(_(N_("Received")), [g.received for g in months]),
         Series(_(N_("Closed")), [g.closed for g in months])], width=PHONE_WIDTH, height=220)
    categories = result.by_category
    category_chart = horizontal_bars(
        _(N_("Received by category")), [g.label for g in categories],
        [g.received for g in categories], width=PHONE_WIDTH)
    counts = result.counts
    return await render(request, "board.html", {
        "board": result, "counts": counts,
        "feedback_rate": rate_text(counts.feedback_rate),
        "satisfaction_rate": rate_text(counts.satisfaction_rate),
        "median_reply": days_text(counts.median_reply_workdays),
        "month_chart": month_chart, "category_chart": category_chart,
    })


@public
async def board_json(request: web.Request) -> web.StreamResponse:
    result = await _board(request)
    c = result.counts
    return web.json_response({
        "year": result.year,
        "counts": {"received": c.received, "replied": c.replied, "closed": c.closed,
                   "escalated": c.escalated, "terminated": c.terminated},
        "feedback_rate": c.feedback_rate, "satisfaction_rate": c.satisfaction_rate,
        "rated": c.rated, "median_reply_workdays": c.median_reply_workdays,
        "by_month": [{"month": g.key, "received": g.received, "closed": g.closed}
                     for g in result.by_month],
        "by_category": [{"category": g.label, "received": g.received, "closed": g.closed}
                        for g in result.by_category],
        "resolved": [{"id": i.id, "category": i.category, "site": i.site,
                      "status": i.status.value,
                      "resolved_on": i.resolved_on.isoformat() if i.resolved_on else None,
                      "public_note": i.public_note,
                      "photos": [f"/board/photos/{p}" for p in i.photo_ids]}
                     for i in result.resolved],
        "consultations": [{"starts_at": d.starts_at.isoformat(timespec="minutes"),
                           "department": d.department} for d in result.consultations],
    })


@public
async def board_photo(request: web.Request) -> web.StreamResponse:
    """A result photo of a published item; anything else does not exist for the public."""
    async with request.app[DATABASE]() as db:
        row = await board.public_photo(db, ident_of(request))
    path = path_of(request.app[SETTINGS].uploads_dir, row.sha256)
    if not path.is_file():
        raise NotFound("Not found.")
    with path.open("rb") as f:
        head = f.read(64)
    if sniff(head) != row.content_type:
        # The same check as on upload: the first bytes must say what the row says.
        raise NotFound("Not found.")
    return web.FileResponse(path, headers={
        "Content-Type": row.content_type, "Content-Disposition": "inline",
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
