"""Follow-ups promised live (an on-site consultation or a mediation), tracked to closure.

The responsible department's officers and the street office move a follow-up along
(planned, in progress, closed or cancelled, with a note); the question's site sees it.
"""

from __future__ import annotations

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
from server.core.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from server.legal.commands import FollowUpRequest, UpdateFollowUp
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

MAX_DAYS_AHEAD = 366
FINAL = (FollowUpStatus.CLOSED, FollowUpStatus.CANCELLED)
CONFLICT = N_("Someone else changed this follow-up first. Here is its current state.")


def _due_error(day: date, *, today: date) -> str | None:
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        return N_("Choose a date from today to a year ahead.")
    return None


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


async def read_plan(db: AsyncSession, request: FollowUpRequest | None, errors: dict[str, str],
                    *, default_department: int | None, today: date) -> FollowUpPlan | None:
    """The follow-up promised with an answer, checked (errors land in `errors`, keyed by the
    answer form's follow-up fields)."""
    if request is None:
        errors["follow_up_kind"] = N_("This field is required.")
        return None
    department_id = request.department_id or default_department
    if department_id is None or not await active_department(db, department_id):
        errors["follow_up_department_id"] = N_("Choose one of the options.")
    due_error = _due_error(request.due_on, today=today)
    if due_error is not None:
        errors["follow_up_due_on"] = due_error
    if department_id is None or errors:
        return None
    return FollowUpPlan(request.kind, department_id, request.due_on)


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


async def update_follow_up(db: AsyncSession, follow_up_id: int, command: UpdateFollowUp, *,
                           viewer: Principal, clock: Clock, today: date) -> FollowUp:
    row = await db.scalar(select(FollowUp).where(FollowUp.id == follow_up_id,
                                                 _visible(viewer)))
    if row is None:
        raise NotFound("Not found.")
    if viewer.role not in STREET_OFFICE and viewer.role is not Role.OFFICER:
        raise Forbidden("Only the responsible department and the street office update "
                        "follow-ups.")
    if command.version != row.version:
        raise Conflict(CONFLICT)
    status, note = command.status, command.note
    errors: dict[str, str] = {}
    if status in FINAL and not note:
        errors["note"] = N_("This field is required.")
    due_on = row.due_on
    if command.due_on is not None and command.due_on != row.due_on:
        due_on = command.due_on
        due_error = _due_error(due_on, today=today)
        if due_error is not None:
            errors["due_on"] = due_error
    department_id = row.department_id
    if viewer.role in STREET_OFFICE and command.department_id is not None:
        department_id = command.department_id
        if not await active_department(db, department_id):
            errors["department_id"] = N_("Choose one of the options.")
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
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

