"""The schedule: a month calendar of who is on duty when, and one session's page with the
host's cancel and move and the units' swap and override requests."""

from __future__ import annotations

import calendar as month_calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import utc, zone
from scheduling.planner import SessionStatus
from server.accounts.access import allow, signed_in
from server.core.errors import ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.models import Programme, ProgrammeSession, Role
from server.schedule import programme_sessions, rotation_changes
from server.schedule.programme_sessions import SessionView
from server.schedule.programmes import YEARS_AHEAD, planning_horizon
from server.schedule.units import duty_candidates, rotation_of, units_of_kind
from server.schedule.workdays import load_calendar
from web.pages.schedule.programmes import ROOM_TITLES
from web.pages.schedule.support import (
    actor,
    error_text,
    finish,
    form_data,
    local_today,
    missing_years,
    path_id,
)
from web.render import render

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
OFFICE = (Role.ADMIN, Role.HOST)


@dataclass(frozen=True)
class DayCell:
    day: date
    in_month: bool
    today: bool
    workday: bool
    holiday: bool
    makeup: bool  # a weekend made a working day (调休)
    name: str | None
    sessions: list[SessionView] = field(default_factory=list)


@dataclass(frozen=True)
class UnitWarning:
    programme: str
    unit: str


def _month(request: web.Request) -> tuple[int, int]:
    today = local_today(request)
    raw = request.query.get("month", "").strip()
    if not raw:
        return today.year, today.month
    match = MONTH_RE.match(raw)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed("Enter a month as YYYY-MM.")
    year, month = int(match.group(1)), int(match.group(2))
    if year > today.year + YEARS_AHEAD:
        raise ValidationFailed("Too far in the future.")
    if year < 2000:
        raise ValidationFailed("Out of range.")
    return year, month


def _grid(year: int, month: int, today: date, calendar: WorkdayCalendar,
          views: list[SessionView]) -> list[list[DayCell]]:
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    by_day: dict[date, list[SessionView]] = {}
    for view in views:
        by_day.setdefault(view.local_date, []).append(view)
    weeks: list[list[DayCell]] = []
    day = start
    while day <= end:
        info = calendar.day_info(day)
        cell = DayCell(day=day, in_month=day.month == month, today=day == today,
                       workday=info.is_workday, holiday=info.is_holiday,
                       makeup=info.is_workday and day.weekday() >= 5,
                       name=info.name_zh or info.name, sessions=by_day.get(day, []))
        if day.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cell)
        day += timedelta(days=1)
    return weeks


async def _warnings(db: AsyncSession, calendar: WorkdayCalendar, today: date,
                    span: tuple[date, date]) -> tuple[list[int], list[UnitWarning]]:
    programmes = list(await db.scalars(select(Programme).where(Programme.active)))
    years = missing_years(calendar, (today, await planning_horizon(db, today)), span)
    units = []
    for programme in programmes:
        units += [UnitWarning(programme.name, u.name)
                  for u in await rotation_of(db, programme) if not u.active]
    return years, units


@signed_in
async def month_page(request: web.Request) -> web.StreamResponse:
    year, month = _month(request)
    today = local_today(request)
    tz = zone(request.app[SETTINGS].timezone)
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    async with request.app[DATABASE]() as db:
        calendar = await load_calendar(db)
        rows = await programme_sessions.sessions_between(
            db, first - timedelta(days=7), last + timedelta(days=7), tz)
        views = await programme_sessions.session_views(
            db, rows, clock=request.app[CLOCK], calendar=calendar)
        years, unit_warnings = await _warnings(db, calendar, today, (first, last))
    principal = current_principal(request)
    own = principal.department_id or principal.deputy_id
    previous = first - timedelta(days=1)
    following = last + timedelta(days=1)
    return await render(request, "schedule/month.html", {
        "year": year, "month": month, "weeks": _grid(year, month, today, calendar, views),
        "listed": [v for v in views if first <= v.local_date <= last],
        "missing_years": years, "unit_warnings": unit_warnings, "own_unit": own,
        "own_kind": "department" if principal.role is Role.OFFICER else
        "deputy" if principal.role is Role.DEPUTY else None,
        "previous_month": f"{previous.year}-{previous.month:02d}",
        "next_month": f"{following.year}-{following.month:02d}"
        if following.year <= today.year + YEARS_AHEAD else None,
    })


@signed_in
async def session_page(request: web.Request) -> web.StreamResponse:
    return await render_session_page(request, path_id(request, "session_id"))


async def render_session_page(request: web.Request, session_id: int, *, form: str = "",
                              errors: dict[str, str] | None = None, message: str | None = None,
                              values: dict[str, str] | None = None, status: int = 200
                              ) -> web.Response:
    """The session's page; `errors` belong to the form named `form` (move, cancel, ...)."""
    principal = current_principal(request)
    clock = request.app[CLOCK]
    async with request.app[DATABASE]() as db:
        calendar = await load_calendar(db)
        view = await programme_sessions.session_view(db, session_id, clock=clock,
                                                     calendar=calendar)
        programme = await db.get(Programme, view.programme_id)
        assert programme is not None  # the session's foreign key
        units = await units_of_kind(db, programme.unit_kind)
        candidates = await duty_candidates(db, programme.unit_kind)
        own = rotation_changes.own_unit(principal, programme.unit_kind)
        office = principal.role in OFFICE
        now = utc(clock())
        others = list(await db.scalars(select(ProgrammeSession).where(
            ProgrammeSession.programme_id == programme.id,
            ProgrammeSession.id != view.id,
            ProgrammeSession.status == SessionStatus.PLANNED,
            ProgrammeSession.starts_at > now).order_by(ProgrammeSession.starts_at)))
        tz = zone(programme.timezone)
        open_for_change = view.status == "planned" and not view.started
        swap_with = [
            {"id": s.id, "date": s.starts_at.astimezone(tz).date(),
             "unit": units[s.unit_id].name if s.unit_id in units else "—"}
            for s in others if s.unit_id is not None and s.unit_id != view.unit_id
            and (office or own == view.unit_id or own == s.unit_id)
        ] if open_for_change and (office or own is not None) else []
        may_override = open_for_change and (office or (own is not None and own == view.unit_id))
        years = missing_years(calendar, (view.local_date, view.local_date))
    local = view.start.astimezone(tz)
    return await render(request, "schedule/session.html", {
        "s": view, "office": office, "swap_with": swap_with, "room_titles": ROOM_TITLES,
        "override_units": [u for u in candidates.values()
                           if u.active and u.id != view.unit_id]
        if may_override else [],
        "missing_years": years, "form_errors": {form: errors or {}}, "message": message,
        "values": values or {"date": local.date().isoformat(), "time": f"{local:%H:%M}"},
    }, status=status)


async def _session_action(request: web.Request, action: str) -> web.StreamResponse:
    session_id = path_id(request, "session_id")
    data = await form_data(request)
    try:
        async with request.app[DATABASE]() as db, db.begin():
            if action == "cancel":
                result, notices = await programme_sessions.cancel_session(
                    db, session_id, programme_sessions.CancelSession.from_fields(data),
                    actor=actor(request), clock=request.app[CLOCK])
            else:
                result, notices = await programme_sessions.move_session(
                    db, session_id, programme_sessions.MoveSession.from_fields(data),
                    actor=actor(request), clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await render_session_page(request, session_id, form=action,
                                         errors=exc.field_errors,
                                         message=error_text(request, exc), values=data,
                                         status=422)
    finish(request, result, notices)
    raise web.HTTPSeeOther(f"/schedule/sessions/{session_id}")


@allow(Role.ADMIN, Role.HOST)
async def cancel(request: web.Request) -> web.StreamResponse:
    return await _session_action(request, "cancel")


@allow(Role.ADMIN, Role.HOST)
async def move(request: web.Request) -> web.StreamResponse:
    return await _session_action(request, "move")
