"""The site's standby screen: the meeting-room PC's page between sessions, and its JSON.

The page (`/standby`) holds no data of its own: its script asks `GET /api/standby` every
few seconds (`YIZHAN_STANDBY_POLL`) for the schedule, the questions and the calls, counts
down against the server's clock, rings and enters a room the site is called into. Every
answer is computed from the database, so a server restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from server.accounts.access import allow
from server.core.errors import N_, NotFound
from server.core.keys import CLOCK, DATABASE, LOCALE, SETTINGS, current_principal
from server.meetings.calls import Call, active_calls
from server.models import Role, UnitKind
from server.today.standby import DutyUnit, StandbyQuestion, StandbySession, standby_view
from web.render import format_day, render, translate

STANDBY = "/standby"
API = "/api/standby"
RING_MS = 4000  # the chime and the alert before the page enters the room by itself

UNIT_LABELS = {UnitKind.DEPARTMENT: N_("On-duty department"),
               UnitKind.DEPUTY: N_("Deputy on duty")}
CALL_LABELS = {"meeting": N_("The street office is calling your site"),
               "session": N_("The room is open")}

# Every text js/standby.js shows, translated into the page: the script holds none.
STANDBY_TEXTS: dict[str, str] = {
    "starts_in": N_("Starts in %(time)s"),
    "days_hours": N_("%(days)s d %(hours)s h"),
    "hours_minutes": N_("%(hours)s h %(minutes)s min"),
    "on_now": N_("On now"),
    "over": N_("Over"),
    "cancelled": N_("Cancelled"),
    "no_today": N_("No session today."),
    "no_week": N_("No session in the next seven days."),
    "no_legal": N_("No legal consultation day is planned yet."),
    "no_questions": N_("No question from this site for it yet."),
    "raised_live": N_("Raised live"),
    "entering": N_("Entering the room in %(seconds)s s…"),
    "lost": N_("The connection to the server was lost. Retrying (attempt %(count)s)…"),
    "signed_out": N_("This PC is no longer signed in: sign it in again with its device token."),
    "forbidden": N_("The standby screen is for a site's meeting-room PC."),
    "sound_blocked": N_("The browser blocked the sound: touch the screen or press a key "
                        "once to allow the chime again."),
    "no_wake_lock": N_("This browser cannot keep the screen on: turn off the PC's screen "
                       "sleep in its power settings."),
}


@allow(Role.SITE)
async def standby_page(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    config = {
        "api": API,
        "pollMs": round(settings.standby_poll_s * 1000),
        "ringMs": RING_MS,
        "timezone": settings.timezone,
        "texts": {key: translate(request, text) for key, text in STANDBY_TEXTS.items()},
    }
    return await render(request, "standby.html", {"config": config})


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def room_href(room: str) -> str:
    """The room page, marked so that it comes back to standby when the session is over."""
    return f"/rooms/{quote(room, safe='')}?standby=1"


@allow(Role.SITE)
async def standby_json(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    if principal.site_id is None:
        raise NotFound("This account's site does not exist or is no longer active.")
    settings = request.app[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    now = request.app[CLOCK]()
    async with request.app[DATABASE]() as db:
        view = await standby_view(db, principal.site_id, now=now, tz=tz)
        calls = await active_calls(db, principal.site_id, now, window=settings.room_window)
    locale = request.get(LOCALE, "zh_CN")
    today = now.astimezone(tz).date()

    def session(s: StandbySession) -> dict[str, Any]:
        local = s.starts_at.astimezone(tz)
        return {
            "id": s.id, "title": s.title, "room": s.room, "starts_at": _iso(s.starts_at),
            "ends_at": _iso(s.ends_at), "cancelled": s.cancelled,
            "day": format_day(local.date(), locale=locale, today=today),
            "time": f"{local:%H:%M}–{s.ends_at.astimezone(tz):%H:%M}",
            "unit": {"kind": s.unit_kind.value, "label": translate(request,
                                                                   UNIT_LABELS[s.unit_kind]),
                     "name": s.unit_name},
        }

    def duty(d: DutyUnit) -> dict[str, Any]:
        return {"programme": d.programme, "kind": d.unit_kind.value,
                "label": translate(request, UNIT_LABELS[d.unit_kind]), "name": d.unit_name,
                "starts_at": _iso(d.starts_at)}

    def question(q: StandbyQuestion) -> dict[str, Any]:
        return {"id": q.id, "text": q.text, "category": q.category, "status": q.status.value,
                "status_label": translate(request, q.status_label)}

    def call(c: Call) -> dict[str, Any]:
        return {"room": c.room, "title": c.title, "kind": c.kind,
                "label": translate(request, CALL_LABELS.get(c.kind, CALL_LABELS["session"])),
                "started_at": _iso(c.started_at),
                "ends_at": _iso(c.ends_at) if c.ends_at is not None else None,
                "key": f"{c.room}|{_iso(c.started_at)}", "href": room_href(c.room)}

    return web.json_response({
        "now": _iso(view.now),
        "today_label": format_day(today, locale=locale, today=today),
        "site": {"id": view.site_id, "name": view.site_name},
        "today": [session(s) for s in view.today],
        "week": [session(s) for s in view.week],
        "on_duty": [duty(d) for d in view.on_duty],
        "legal_session": session(view.legal_session) if view.legal_session else None,
        "questions": [question(q) for q in view.questions],
        "calls": [call(c) for c in calls],
        "enter": room_href(calls[0].room) if calls else None,
        "poll_ms": round(settings.standby_poll_s * 1000),
    }, headers={"Cache-Control": "no-store"})
