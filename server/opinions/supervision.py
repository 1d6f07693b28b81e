"""Supervision (督办): the daily run that chases up opinion items.

On working days only (the street's calendar: library table plus the administrator's
entries), at 09:00 street time, and once more on restart if the server was down then:

* remind the assigned department of items due by the end of the next working day;
* mark items past their due date overdue and escalate them to the street office (host and
  admin), with a line on the timeline: once per deadline, however often the job runs;
* close resolved items automatically after 10 working days without objection.

Every notification carries a dedupe key, so a second run on the same day adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import zone
from scheduling.deadlines import Deadline, DeadlineStatus, deadline_status, should_auto_close
from server.core import audit
from server.core.clock import Clock, day_label
from server.core.errors import N_, Conflict
from server.core.jobs import JobRuntime
from server.models import Opinion, OpinionEvent, OpinionStatus, Role
from server.notify import inbox
from server.opinions.items import apply, compare_and_set
from server.opinions.lifecycle import ESCALATE, OPEN, TRANSITIONS, Action, Party, plan
from server.schedule.workdays import load_calendar

log = logging.getLogger("yizhan.supervision")


@dataclass
class Report:
    workday: bool
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


async def run(runtime: JobRuntime) -> None:
    tz = zone(runtime.settings.timezone)
    async with runtime.database() as db, db.begin():
        report = await supervise(db, clock=runtime.clock, tz=tz)
    log.info("supervision: workday=%s reminded=%s escalated=%s closed=%s", report.workday,
             report.reminded, report.escalated, report.closed)


async def supervise(db: AsyncSession, *, clock: Clock, tz: tzinfo) -> Report:
    now = clock()
    calendar = await load_calendar(db)
    if not calendar.is_workday(now.astimezone(tz).date()):
        return Report(workday=False)
    report = Report(workday=True)
    open_items = await db.scalars(
        select(Opinion).where(Opinion.status.in_(OPEN), Opinion.due_at.is_not(None))
        .order_by(Opinion.id))
    for item in list(open_items):
        assert item.due_day is not None
        assert item.due_at is not None
        status = deadline_status(Deadline(day=item.due_day, at=item.due_at), now,
                                 calendar=calendar, tz=tz)
        if status is DeadlineStatus.DUE_SOON:
            await _remind(db, item, clock)
            report.reminded.append(item.id)
        elif status is DeadlineStatus.OVERDUE and item.escalated_at is None:
            try:
                await _escalate(db, item, clock)
            except Conflict:
                continue  # changed by someone right now; the next run looks again
            report.escalated.append(item.id)
    report.closed = await _auto_close(db, calendar=calendar, clock=clock, tz=tz)
    return report


async def _remind(db: AsyncSession, item: Opinion, clock: Clock) -> None:
    assert item.due_day is not None
    await inbox.deliver(
        db, await inbox.recipients(db, department_id=item.department_id),
        inbox.Message(kind="opinion.due_soon",
                      title=N_("Opinion item #%(id)s is due by %(due)s"),
                      params={"id": item.id, "due": day_label(item.due_day)},
                      link=f"/opinions/{item.id}",
                      dedupe_key=f"opinion:{item.id}:due-soon:{item.due_day.isoformat()}"),
        clock=clock)


async def _escalate(db: AsyncSession, item: Opinion, clock: Clock) -> None:
    assert item.due_day is not None
    now = clock()
    await compare_and_set(db, item, {
        "escalated_at": now, "overdue_at": item.overdue_at or now, "updated_at": now})
    db.add(OpinionEvent(opinion_id=item.id, at=now, actor_id=None, action=ESCALATE,
                             from_status=item.status, to_status=item.status, note="",
                             department_id=item.department_id, due_day=item.due_day))
    audit.record(db, at=now, actor_id=None, action="opinion.escalate",
                 target_type="opinion", target_id=item.id,
                 changes={"escalated_at": [None, now.isoformat()]})
    key = f"opinion:{item.id}:escalate:{item.due_day.isoformat()}"
    params: dict[str, object] = {"id": item.id, "due": day_label(item.due_day)}
    await inbox.deliver(
        db, await inbox.recipients(db, roles=(Role.HOST, Role.ADMIN)),
        inbox.Message(kind="opinion.escalated",
                      title=N_("Opinion item #%(id)s is overdue (due %(due)s) and was "
                               "escalated to the street office"),
                      params=params, link=f"/opinions/{item.id}", dedupe_key=key),
        clock=clock)
    await inbox.deliver(
        db, await inbox.recipients(db, department_id=item.department_id),
        inbox.Message(kind="opinion.overdue",
                      title=N_("Opinion item #%(id)s is overdue (due %(due)s): please reply "
                               "at once"),
                      params=params, link=f"/opinions/{item.id}", dedupe_key=key),
        clock=clock)


async def _auto_close(db: AsyncSession, *, calendar: WorkdayCalendar, clock: Clock,
                      tz: tzinfo) -> list[int]:
    now = clock()
    closed: list[int] = []
    resolved = await db.scalars(
        select(Opinion).where(Opinion.status == OpinionStatus.RESOLVED,
                              Opinion.resolved_at.is_not(None)).order_by(Opinion.id))
    for item in list(resolved):
        assert item.resolved_at is not None
        if not should_auto_close(item.resolved_at, now, calendar=calendar, tz=tz):
            continue
        step = plan(item.status, Action.AUTO_CLOSE, {Party.SUPERVISION})
        assert step is TRANSITIONS[Action.AUTO_CLOSE]
        try:
            await apply(db, item, step, actor_id=None, now=now, note="", clock=clock)
        except Conflict:
            continue
        closed.append(item.id)
    return closed
