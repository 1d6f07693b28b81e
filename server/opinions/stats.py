"""Statistics of opinion items ("16 items collected this year, all resolved").

Over the items received in one year (street time) that the reader may see, by month, site,
department, category and deputy:

* collected: items recorded;
* replied: items the street side answered (progress, result, or a reason for rejecting or
  terminating);
* resolved: items resolved now (resolved, confirmed, or closed without objection);
* escalated: items the supervision job escalated to the street office at least once;
* overdue: items that missed a due date at least once (or are past it now);
* feedback rate: of the items ever resolved, the share on which the site brought back the
  resident's word (confirmed or reopened);
* median working days to resolve: receipt to the resolution now on record, in working days
  of the street's calendar.
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
from server.accounts.users import Principal
from server.core.errors import N_
from server.models import Opinion, OpinionEvent
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
    replied: bool
    resolved: bool
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
    replied: int
    resolved: int
    escalated: int
    overdue: int
    feedback_rate: float | None
    """0..1, None when nothing was resolved yet."""
    median_workdays: float | None


@dataclass(frozen=True, kw_only=True)
class Statistics:
    year: int
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
        replied=sum(f.replied for f in facts), resolved=sum(f.resolved for f in facts),
        escalated=sum(f.escalated for f in facts), overdue=sum(f.overdue for f in facts),
        feedback_rate=(sum(f.feedback for f in ever) / len(ever)) if ever else None,
        median_workdays=float(statistics.median(days)) if days else None,
    )


def _fact(item: Opinion, actions: set[str], names: Names, calendar: WorkdayCalendar,
          now: datetime, tz: tzinfo) -> _Fact:
    received = item.received_at.astimezone(tz)
    month = f"{received.year:04d}-{received.month:02d}"
    dept = names.departments.get(item.department_id) if item.department_id else None
    deputy = names.deputies.get(item.deputy_id) if item.deputy_id else None
    resolved = item.status in DONE
    workdays = None
    if resolved and item.resolved_at is not None:
        workdays = max(0, calendar.workdays_between(
            received.date(), item.resolved_at.astimezone(tz).date()))
    return _Fact(
        keys={
            "month": (month, month, False),
            "site": (f"{item.site_id:09d}", names.sites.get(item.site_id, ""), False),
            "department": ((f"{item.department_id:09d}", dept or "", False) if dept
                           else ("~", NOT_ASSIGNED, True)),
            "category": (f"{item.category_id:09d}", names.categories.get(item.category_id, ""),
                         False),
            "deputy": ((f"{item.deputy_id:09d}", deputy or "", False) if deputy
                       else ("~", NO_DEPUTY, True)),
        },
        replied=item.first_reply_at is not None,
        resolved=resolved,
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
    names = await load_names(db)
    calendar = await load_calendar(db)
    facts = [_fact(i, actions[i.id], names, calendar, now, tz) for i in items]
    by: dict[str, list[Row]] = {}
    for dim in DIMENSIONS:
        groups: dict[tuple[str, str, bool], list[_Fact]] = defaultdict(list)
        if dim == "month":
            for month in range(1, 13):
                key = f"{year:04d}-{month:02d}"
                groups[(key, key, False)] = []
        for f in facts:
            groups[f.keys[dim]].append(f)
        by[dim] = [_row(label, is_msgid, group)
                   for (_key, label, is_msgid), group in sorted(groups.items())]
    return Statistics(year=year, total=_row(TOTAL, True, facts), by=by)


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def days_text(days: float | None) -> str:
    return "—" if days is None else f"{days:g}"


COLUMNS: tuple[tuple[str, Callable[[Row], object]], ...] = (
    (N_("Collected"), lambda r: r.collected),
    (N_("Replied"), lambda r: r.replied),
    (N_("Resolved"), lambda r: r.resolved),
    (N_("Escalated"), lambda r: r.escalated),
    (N_("Overdue"), lambda r: r.overdue),
    (N_("Feedback rate"), lambda r: rate_text(r.feedback_rate)),
    (N_("Median working days to resolve"), lambda r: days_text(r.median_workdays)),
)
