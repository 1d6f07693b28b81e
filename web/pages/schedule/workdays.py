"""The working-day calendar (administrators): a year at a glance, entries, completeness.

Every change re-plans every programme in the same transaction, so a session that falls on
a newly entered holiday moves or is skipped at once (or, if that would put two sessions in
one room, the entry is refused with the reason).
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, timedelta

from aiohttp import web

from scheduling.calendar import DaySource, WorkdayCalendar, YearStatus
from server.accounts.access import allow
from server.core.errors import NotFound, ValidationFailed
from server.core.fields import parse_day
from server.core.keys import CLOCK, DATABASE
from server.models import Role
from server.schedule import workdays
from server.schedule.planning import replan_all
from server.schedule.programmes import YEARS_AHEAD
from web.pages.schedule.support import actor, error_text, finish, form_data, local_today
from web.render import render


@dataclass(frozen=True)
class YearDay:
    day: date
    in_month: bool
    workday: bool
    holiday: bool
    makeup: bool
    name: str | None
    by_admin: bool


@dataclass(frozen=True)
class MonthGrid:
    month: int
    weeks: list[list[YearDay]]


def _year(request: web.Request, raw: str | None) -> int:
    today = local_today(request)
    if not raw:
        return today.year
    try:
        year = int(raw)
    except ValueError as exc:
        raise NotFound("Not found.") from exc
    if year > today.year + YEARS_AHEAD:
        raise ValidationFailed("Too far in the future.")
    if year < 2000:
        raise ValidationFailed("Out of range.")
    return year


def _months(year: int, cal: WorkdayCalendar) -> list[MonthGrid]:
    grids = []
    for month in range(1, 13):
        first = date(year, month, 1)
        last = date(year, month, month_calendar.monthrange(year, month)[1])
        day = first - timedelta(days=first.weekday())
        weeks: list[list[YearDay]] = []
        while day <= last + timedelta(days=6 - last.weekday()):
            info = cal.day_info(day)
            if day.weekday() == 0:
                weeks.append([])
            weeks[-1].append(YearDay(
                day=day, in_month=day.month == month, workday=info.is_workday,
                holiday=info.is_holiday, makeup=info.is_workday and day.weekday() >= 5,
                name=info.name_zh or info.name, by_admin=info.source is DaySource.ADMIN))
            day += timedelta(days=1)
        grids.append(MonthGrid(month, weeks))
    return grids


async def _page(request: web.Request, year: int, *, errors: dict[str, str] | None = None,
                message: str | None = None, values: dict[str, str] | None = None,
                status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        cal = await workdays.load_calendar(db)
        entries = await workdays.list_entries(db, year)
    status_of_year = cal.year_status(year)
    return await render(request, "schedule/workdays.html", {
        "year": year, "months": _months(year, cal), "entries": entries,
        "year_status": status_of_year.value,
        "missing": status_of_year is YearStatus.MISSING,
        "previous_year": year - 1 if year > 2000 else None,
        "next_year": year + 1 if year < local_today(request).year + YEARS_AHEAD else None,
        "errors": errors or {}, "message": message,
        "values": values or {"day": "", "kind": "holiday", "name": "", "source_notice": ""},
    }, status=status)


@allow(Role.ADMIN)
async def year_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, _year(request, request.query.get("year")))


@allow(Role.ADMIN)
async def save_entry(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    try:
        command = workdays.WorkdayEntry.from_fields(data)
        async with request.app[DATABASE]() as db, db.begin():
            row = await workdays.save_entry(db, command, actor=actor(request),
                                            clock=request.app[CLOCK])
            year = row.day.year
            result = await replan_all(db, clock=request.app[CLOCK],
                                      actor_id=actor(request).user_id)
    except ValidationFailed as exc:
        entered = parse_day(data.get("day", ""))
        year = entered.year if entered else local_today(request).year
        year = min(max(year, 2000), local_today(request).year + YEARS_AHEAD)
        return await _page(request, year, errors=exc.field_errors, message=error_text(request, exc),
                           values=data, status=422)
    finish(request, result)
    raise web.HTTPSeeOther(f"/schedule/workdays?year={year}")


@allow(Role.ADMIN)
async def delete_entry(request: web.Request) -> web.StreamResponse:
    day = parse_day(request.match_info["day"])
    if day is None:  # no entry exists outside the days anybody may enter
        raise NotFound("Not found.")
    async with request.app[DATABASE]() as db, db.begin():
        await workdays.delete_entry(db, day, actor=actor(request), clock=request.app[CLOCK])
        result = await replan_all(db, clock=request.app[CLOCK], actor_id=actor(request).user_id)
    finish(request, result)
    raise web.HTTPSeeOther(f"/schedule/workdays?year={day.year}")


@allow(Role.ADMIN)
async def set_year(request: web.Request) -> web.StreamResponse:
    year = _year(request, request.match_info["year"])
    command = workdays.YearCompletion.from_fields(await form_data(request))
    async with request.app[DATABASE]() as db, db.begin():
        await workdays.set_year_complete(db, year, command, actor=actor(request),
                                         clock=request.app[CLOCK])
    raise web.HTTPSeeOther(f"/schedule/workdays?year={year}")
