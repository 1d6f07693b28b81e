"""Follow-ups promised live (an on-site consultation or a mediation), tracked to closure.

The responsible department's officers and the street office move a follow-up along
(planned, in progress, closed or cancelled, with a note); the question's site sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import false, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Conflict, Forbidden, NotFound
from server.core.fields import FieldReader
from server.legal.consultation import STREET_OFFICE
from server.legal.views import (
    OPEN_FOLLOW_UPS,
    FollowUpView,
    QuestionView,
    follow_up_view,
    load_names,
    views,
)
from server.models import Department, FollowUp, FollowUpKind, FollowUpStatus, Question, Role
from server.notify import inbox

MAX_NOTE = 1000
MAX_DAYS_AHEAD = 366
FINAL = (FollowUpStatus.CLOSED, FollowUpStatus.CANCELLED)
CONFLICT = N_("Someone else changed this follow-up first. Here is its current state.")


def parse_day(form: FieldReader, name: str, *, today: date) -> date | None:
    raw = form.text(name, max_len=10)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        form.fail(name, N_("Enter a date as YYYY-MM-DD."))
        return None
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        form.fail(name, N_("Choose a date from today to a year ahead."))
    return day


async def active_department(db: AsyncSession, ident: int | None) -> bool:
    if ident is None:
        return False
    row = await db.get(Department, ident)
    return row is not None and row.active


@dataclass(frozen=True)
class FollowUpPlan:
    kind: FollowUpKind
    department_id: int
    due_on: date


async def read_plan(db: AsyncSession, form: FieldReader, *, default_department: int | None,
                    today: date) -> FollowUpPlan | None:
    """The follow-up fields of an answer form (errors land in `form`)."""
    kind = form.choice("follow_up_kind", FollowUpKind)
    department_id = form.optional_id("follow_up_department_id") or default_department
    if not await active_department(db, department_id):
        form.fail("follow_up_department_id", N_("Choose one of the options."))
    due_on = parse_day(form, "follow_up_due_on", today=today)
    if kind is None or department_id is None or due_on is None:
        return None
    return FollowUpPlan(kind, department_id, due_on)


async def start(db: AsyncSession, question: Question, plan: FollowUpPlan, *,
                actor_id: int, clock: Clock) -> FollowUp:
    now = clock()
    row = FollowUp(question_id=question.id, kind=plan.kind, department_id=plan.department_id,
                   due_on=plan.due_on, status=FollowUpStatus.PLANNED, note="", created_at=now,
                   updated_at=now, version=1)
    db.add(row)
    await db.flush()
    audit.record(db, at=now, actor_id=actor_id, action="follow_up.create",
                 target_type="question_follow_up", target_id=row.id,
                 changes={"question_id": [None, question.id], "kind": [None, plan.kind.value],
                          "department_id": [None, plan.department_id],
                          "due_on": [None, plan.due_on.isoformat()]})
    await inbox.deliver(db, await inbox.recipients(db, department_id=plan.department_id),
                        inbox.Message(kind="question.follow_up",
                                      title=N_("Follow-up for question #%(id)s by %(due)s"),
                                      params={"id": question.id, "due": plan.due_on.isoformat()},
                                      link="/legal/follow-ups",
                                      dedupe_key=f"follow_up:{row.id}:create"), clock=clock)
    return row


def _visible(viewer: Principal) -> ColumnElement[bool]:
    if viewer.role in STREET_OFFICE:
        return true()
    if viewer.role is Role.OFFICER and viewer.department_id is not None:
        return FollowUp.department_id == viewer.department_id
    if viewer.role is Role.SITE and viewer.site_id is not None:
        return FollowUp.question_id.in_(select(Question.id).where(
            Question.site_id == viewer.site_id))
    return false()


async def update_follow_up(db: AsyncSession, follow_up_id: int, data: Mapping[str, str], *,
                           viewer: Principal, clock: Clock, today: date) -> FollowUp:
    row = await db.scalar(select(FollowUp).where(FollowUp.id == follow_up_id,
                                                 _visible(viewer)))
    if row is None:
        raise NotFound("Not found.")
    if viewer.role not in STREET_OFFICE and viewer.role is not Role.OFFICER:
        raise Forbidden("Only the responsible department and the street office update "
                        "follow-ups.")
    if str(data.get("version", "")).strip() != str(row.version):
        raise Conflict(CONFLICT)
    form = FieldReader(data)
    status = form.choice("status", FollowUpStatus)
    note = form.text("note", max_len=MAX_NOTE, required=status in FINAL)
    due_on = row.due_on
    if str(data.get("due_on", "")).strip() and str(data.get("due_on")) != row.due_on.isoformat():
        due_on = parse_day(form, "due_on", today=today) or row.due_on
    department_id = row.department_id
    if viewer.role in STREET_OFFICE and str(data.get("department_id", "")).strip():
        department_id = form.optional_id("department_id") or row.department_id
        if not await active_department(db, department_id):
            form.fail("department_id", N_("Choose one of the options."))
    form.check()
    assert status is not None
    now = clock()
    before = {"status": row.status.value, "due_on": row.due_on.isoformat(),
              "department_id": row.department_id, "note": row.note}
    values: dict[str, Any] = {"status": status, "note": note, "due_on": due_on,
                              "department_id": department_id, "updated_at": now,
                              "closed_at": now if status in FINAL else None}
    result = cast("CursorResult[Any]", await db.execute(
        update(FollowUp).where(FollowUp.id == row.id, FollowUp.version == row.version)
        .values(**values, version=row.version + 1)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        raise Conflict(CONFLICT)
    for key, value in {**values, "version": row.version + 1}.items():
        set_committed_value(row, key, value)
    after = {"status": status.value, "due_on": due_on.isoformat(),
             "department_id": department_id, "note": note}
    audit.record(db, at=now, actor_id=viewer.user_id, action="follow_up.update",
                 target_type="question_follow_up", target_id=row.id,
                 changes=audit.diff(before, after))
    if status in FINAL and before["status"] != status.value:
        question = await db.get(Question, row.question_id)
        assert question is not None
        await inbox.deliver(db, await inbox.recipients(db, site_ids=[question.site_id]),
                            inbox.Message(
                                kind="question.follow_up_closed",
                                title=N_("The follow-up of your question #%(id)s is finished"),
                                body=note, params={"id": question.id},
                                link=f"/legal/questions/{question.id}",
                                dedupe_key=f"follow_up:{row.id}:final"), clock=clock)
    return row


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUpView
    question: QuestionView
    overdue: bool


async def list_follow_ups(db: AsyncSession, viewer: Principal, *, open_only: bool,
                          today: date) -> list[FollowUpRow]:
    stmt = select(FollowUp).where(_visible(viewer))
    if open_only:
        stmt = stmt.where(FollowUp.status.in_(OPEN_FOLLOW_UPS))
    rows = list(await db.scalars(stmt.order_by(FollowUp.due_on, FollowUp.id)))
    names = await load_names(db)
    questions = {q.id: q for q in await db.scalars(select(Question).where(
        Question.id.in_([r.question_id for r in rows])))} if rows else {}
    qviews = {v.id: v for v in await views(db, list(questions.values()), viewer=viewer,
                                           names=names)}
    return [FollowUpRow(follow_up_view(r, names), qviews[r.question_id],
                        r.status in OPEN_FOLLOW_UPS and r.due_on < today)
            for r in rows if r.question_id in qviews]

