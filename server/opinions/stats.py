"""Statistics of opinion items ("16 items collected this year, all resolved").

Over the items received in one year (street time) that the reader may see, by month, site,
department, category and deputy:

* collected: items recorded;
* replied: items the street side answered (progress, result, or a reason for rejecting or
  terminating);
* accepted: items the street office accepted (given a department and a due date);
* resolved: items resolved now (resolved, confirmed, or closed without objection);
* escalated: items the supervision job escalated to the street office at least once;
* overdue: items that missed a due date at least once (or are past it now);
* feedback rate: of the items ever resolved, the share on which the site brought back the
  resident's word (confirmed or reopened);
* median working days to resolve: receipt to the resolution now on record, in working days
  of the street's calendar;
* resolution rate (办结率): resolved / accepted;
* on-time rate (按期办结率): resolved by the due time / accepted items that are resolved or
  past their due time now;
* satisfaction rate (满意率): receipts rated "satisfied" / receipts rated at all.

Every rate is None (shown "—") when its denominator is 0. docs/opinions.md has the
formulas. Every site (and, for the street office, every department) is listed, also with
no items, and every table has a total row: each item falls in exactly one group of a
breakdown, so the total row is the column sums.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import local_datetime
from server.accounts import directory
from server.accounts.users import Principal
from server.core.errors import N_
from server.models import (
    Department,
    Opinion,
    OpinionEvent,
    ResidentReceipt,
    Role,
    Satisfaction,
    Site,
    Street,
)
from server.opinions.items import visible_to
from server.opinions.lifecycle import DONE, ESCALATE, Action
from server.opinions.views import Names, is_overdue, load_names
from server.schedule.workdays import load_calendar

DIMENSIONS: dict[str, str] = {
    "month": N_("By month"),
    "site": N_("By site"),
    "department": N_("By department"),
    "category": N_("By category"),
    "deputy": N_("By deputy"),
}
NOT_ASSIGNED = N_("Not assigned")
NO_DEPUTY = N_("No deputy")
TOTAL = N_("Total")


@dataclass(frozen=True)
class _Fact:
    keys: dict[str, tuple[str, str, bool]]
    """dimension -> (sort key, label, label is a msgid)"""
    accepted: bool
    replied: bool
    resolved: bool
    due: bool
    on_time: bool
    rated: int
    satisfied: int
    escalated: bool
    overdue: bool
    ever_resolved: bool
    feedback: bool
    workdays_to_resolve: int | None


@dataclass(frozen=True, kw_only=True)
class Row:
    label: str
    label_is_msgid: bool
    collected: int
    accepted: int
    replied: int
    resolved: int
    escalated: int
    overdue: int
    due: int
    """Accepted items that are resolved or past their due time: those that should be done."""
    on_time: int
    rated: int
    satisfied: int
    feedback_rate: float | None
    """0..1, None when nothing was resolved yet."""
    median_workdays: float | None

    @property
    def resolution_rate(self) -> float | None:
        """办结率: resolved (resolved, confirmed or closed) over accepted."""
        return _share(self.resolved, self.accepted)

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率: resolved by the due time over those due by now."""
        return _share(self.on_time, self.due)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: receipts rated satisfied over receipts rated."""
        return _share(self.satisfied, self.rated)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, kw_only=True)
class Statistics:
    year: int
    street: str
    start: date
    end: date
    """The period, both days included."""
    total: Row
    by: dict[str, list[Row]]


def year_bounds(year: int, tz: tzinfo) -> tuple[datetime, datetime]:
    return (local_datetime(date(year, 1, 1), time(0), tz),
            local_datetime(date(year + 1, 1, 1), time(0), tz))


def _row(label: str, is_msgid: bool, facts: Iterable[_Fact]) -> Row:
    facts = list(facts)
    ever = [f for f in facts if f.ever_resolved]
    days = [f.workdays_to_resolve for f in facts if f.workdays_to_resolve is not None]
    return Row(
        label=label, label_is_msgid=is_msgid, collected=len(facts),
        accepted=sum(f.accepted for f in facts),
        replied=sum(f.replied for f in facts), resolved=sum(f.resolved for f in facts),
        escalated=sum(f.escalated for f in facts), overdue=sum(f.overdue for f in facts),
        due=sum(f.due for f in facts), on_time=sum(f.on_time for f in facts),
        rated=sum(f.rated for f in facts), satisfied=sum(f.satisfied for f in facts),
        feedback_rate=(sum(f.feedback for f in ever) / len(ever)) if ever else None,
        median_workdays=float(statistics.median(days)) if days else None,
    )


def _fact(item: Opinion, actions: set[str], ratings: list[Satisfaction], names: Names,
          site_keys: dict[int, str], calendar: WorkdayCalendar, now: datetime,
          tz: tzinfo) -> _Fact:
    received = item.received_at.astimezone(tz)
    month = f"{received.year:04d}-{received.month:02d}"
    dept = names.departments.get(item.department_id) if item.department_id else None
    deputy = names.deputies.get(item.deputy_id) if item.deputy_id else None
    accepted = item.accepted_at is not None
    resolved = accepted and item.status in DONE
    on_time = resolved and (item.due_at is None or (
        item.resolved_at is not None and item.resolved_at <= item.due_at))
    due = resolved or (accepted and item.due_at is not None and item.due_at < now)
    workdays = None
    if resolved and item.resolved_at is not None:
        workdays = max(0, calendar.workdays_between(
            received.date(), item.resolved_at.astimezone(tz).date()))
    return _Fact(
        keys={
            "month": (month, month, False),
            "site": (site_keys.get(item.site_id, f"~{item.site_id:09d}"),
                     names.sites.get(item.site_id, ""), False),
            "department": ((f"{item.department_id:09d}", dept or "", False) if dept
                           else ("~", NOT_ASSIGNED, True)),
            "category": (f"{item.category_id:09d}", names.categories.get(item.category_id, ""),
                         False),
            "deputy": ((f"{item.deputy_id:09d}", deputy or "", False) if deputy
                       else ("~", NO_DEPUTY, True)),
        },
        accepted=accepted,
        replied=item.first_reply_at is not None,
        resolved=resolved, due=due, on_time=on_time,
        rated=len(ratings), satisfied=sum(r is Satisfaction.SATISFIED for r in ratings),
        escalated=ESCALATE in actions,
        overdue=item.overdue_at is not None or is_overdue(item, now),
        ever_resolved=Action.RESOLVE.value in actions,
        feedback=bool({Action.CONFIRM.value, Action.REOPEN.value} & actions),
        workdays_to_resolve=workdays,
    )


async def compute(
    db: AsyncSession, viewer: Principal, *, year: int, now: datetime, tz: tzinfo
) -> Statistics:
    start, end = year_bounds(year, tz)
    scope = [visible_to(viewer), Opinion.received_at >= start, Opinion.received_at < end]
    items = list(await db.scalars(select(Opinion).where(*scope).order_by(Opinion.id)))
    events = await db.execute(
        select(OpinionEvent.opinion_id, OpinionEvent.action).distinct().where(
            OpinionEvent.opinion_id.in_(select(Opinion.id).where(*scope)),
            OpinionEvent.action.in_([ESCALATE, Action.RESOLVE.value, Action.CONFIRM.value,
                                     Action.REOPEN.value])))
    actions: dict[int, set[str]] = defaultdict(set)
    for opinion_id, action in events:
        actions[opinion_id].add(action)
    ratings: dict[int, list[Satisfaction]] = defaultdict(list)
    for rated_id, rating in await db.execute(
            select(ResidentReceipt.opinion_id, ResidentReceipt.satisfaction).where(
                ResidentReceipt.opinion_id.in_(select(Opinion.id).where(*scope)),
                ResidentReceipt.satisfaction.is_not(None))):
        if rated_id is not None and rating is not None:  # both by the query's filter
            ratings[rated_id].append(rating)
    names = await load_names(db)
    calendar = await load_calendar(db)
    sites = [s for s in await directory.list_sites(db) if s.active or any(
        i.site_id == s.id for i in items)]
    site_keys = {s.id: f"{s.position:09d}{s.id:09d}" for s in sites}
    facts = [_fact(i, actions[i.id], ratings[i.id], names, site_keys, calendar, now, tz)
             for i in items]
    empty = _empty_groups(year, viewer, sites, await directory.list_departments(db))
    by: dict[str, list[Row]] = {}
    for dim in DIMENSIONS:
        groups: dict[tuple[str, str, bool], list[_Fact]] = defaultdict(list)
        for key in empty.get(dim, []):
            groups[key] = []
        for f in facts:
            groups[f.keys[dim]].append(f)
        by[dim] = [_row(label, is_msgid, group)
                   for (_key, label, is_msgid), group in sorted(groups.items())]
    street = await db.scalar(select(Street.name).order_by(Street.id).limit(1))
    return Statistics(year=year, street=street or "", start=date(year, 1, 1),
                      end=date(year, 12, 31), total=_row(TOTAL, True, facts), by=by)


def _empty_groups(year: int, viewer: Principal, sites: list[Site],
                  departments: list[Department]) -> dict[str, list[tuple[str, str, bool]]]:
    """The groups listed even with no items: every month, every site the viewer may see
    items of, and for the street office every active department."""
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    shown = [s for s in sites if s.active and (
        viewer.role is not Role.SITE or s.id == viewer.site_id)]
    out: dict[str, list[tuple[str, str, bool]]] = {
        "month": [(m, m, False) for m in months],
        "site": [(f"{s.position:09d}{s.id:09d}", s.name, False) for s in shown],
    }
    if viewer.role in (Role.ADMIN, Role.HOST):
        out["department"] = [(f"{d.id:09d}", d.name, False) for d in departments if d.active]
    return out


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def days_text(days: float | None) -> str:
    return "—" if days is None else f"{days:g}"


COLUMNS: tuple[tuple[str, Callable[[Row], object]], ...] = (
    (N_("Collected"), lambda r: r.collected),
    (N_("Accepted"), lambda r: r.accepted),
    (N_("Replied"), lambda r: r.replied),
    (N_("Resolved"), lambda r: r.resolved),
    (N_("Escalated"), lambda r: r.escalated),
    (N_("Overdue"), lambda r: r.overdue),
    (N_("Resolution rate"), lambda r: rate_text(r.resolution_rate)),
    (N_("On-time resolution rate"), lambda r: rate_text(r.on_time_rate)),
    (N_("Satisfaction rate"), lambda r: rate_text(r.satisfaction_rate)),
    (N_("Feedback rate"), lambda r: rate_text(r.feedback_rate)),
    (N_("Median working days to resolve"), lambda r: days_text(r.median_workdays)),
)
