"""What a resident sees of their item, found by the receipt code alone.

Plain words, no staff names, never the resident's name or phone number: the timeline
(received, accepted with its due date, answered, resolved, rejected or terminated with the
reason), the public answer, the result photos and, for a legal question, the session that
answered it. A wrong code and a missing code give the same answer (None), so codes cannot
be probed; look-ups are rate-limited at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import N_
from server.legal.consultation import SessionInfo, infos
from server.models import (
    Opinion,
    OpinionEvent,
    OpinionPhoto,
    OpinionStatus,
    Outcome,
    Question,
    QuestionStatus,
    ResidentReceipt,
    Satisfaction,
)
from server.opinions.lifecycle import CREATE, Action
from server.residents.receipts import display, normalise

S = OpinionStatus


@dataclass(frozen=True)
class Step:
    label: str  # an English msgid with %(name)s placeholders
    at: datetime
    params: dict[str, object] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class StatusView:
    code: str
    kind: str  # "opinion" or "question"
    text: str
    state: str  # msgid
    steps: tuple[Step, ...]
    answer: str
    due_day: date | None
    session: SessionInfo | None
    pointer: str  # msgid: merged / carried over, or ""
    photo_ids: tuple[int, ...]
    can_rate: bool
    satisfaction: Satisfaction | None
    satisfaction_note: str


OPINION_STATES = {
    S.RECEIVED: N_("Received: waiting to be accepted"),
    S.ACCEPTED: N_("Accepted: being handled"),
    S.IN_PROGRESS: N_("Being handled"),
    S.RESOLVED: N_("Resolved"),
    S.CONFIRMED: N_("Resolved and confirmed"),
    S.CLOSED: N_("Resolved and closed"),
    S.REJECTED: N_("Not taken up"),
    S.TERMINATED: N_("Stopped"),
}
OPINION_STEPS = {
    CREATE: N_("We received it"),
    Action.ACCEPT: N_("Accepted; we will reply by %(due)s"),
    Action.REASSIGN: N_("Passed to another department; reply by %(due)s"),
    Action.UPDATE: N_("Work in progress"),
    Action.RESOLVE: N_("Resolved"),
    Action.CONFIRM: N_("The result was confirmed"),
    Action.AUTO_CLOSE: N_("Closed"),
    Action.REOPEN: N_("Reopened: we are working on it again; reply by %(due)s"),
    Action.REJECT: N_("Not taken up. The reason:"),
    Action.MERGE: N_("Merged with an item about the same matter"),
    Action.TERMINATE: N_("Stopped. The reason:"),
}
PUBLIC_NOTES = frozenset({Action.REJECT, Action.TERMINATE, Action.REOPEN})
RATEABLE_OPINION = frozenset({S.RESOLVED, S.CONFIRMED, S.CLOSED, S.REJECTED, S.TERMINATED})


async def find(db: AsyncSession, raw_code: str) -> ResidentReceipt | None:
    code = normalise(raw_code)
    if code is None:
        return None
    return await db.scalar(select(ResidentReceipt).where(ResidentReceipt.code == code))


async def status_of(db: AsyncSession, raw_code: str) -> StatusView | None:
    """The item behind a receipt code, or None for any code that leads nowhere."""
    receipt = await find(db, raw_code)
    if receipt is None:
        return None
    if receipt.opinion_id is not None:
        opinion = await db.get(Opinion, receipt.opinion_id)
        return None if opinion is None else await _opinion(db, receipt, opinion)
    question = await db.get(Question, receipt.question_id) if receipt.question_id else None
    return None if question is None else await _question(db, receipt, question)


def _rating(receipt: ResidentReceipt) -> tuple[Satisfaction | None, str]:
    return receipt.satisfaction, receipt.satisfaction_note


async def surviving_opinion(db: AsyncSession, item: Opinion) -> Opinion:
    """Follow merges (a few hops at most) to the opinion item that stands."""
    current = item
    for _ in range(8):
        if current.status is not S.REJECTED or current.merged_into_id is None:
            break
        nxt = await db.get(Opinion, current.merged_into_id)
        if nxt is None:
            break
        current = nxt
    return current


async def _opinion_steps(db: AsyncSession, item: Opinion, *, skip_create: bool = False
                         ) -> tuple[list[Step], list[int]]:
    events = list(await db.scalars(select(OpinionEvent).where(OpinionEvent.opinion_id == item.id)
                                   .order_by(OpinionEvent.at, OpinionEvent.id)))
    steps: list[Step] = []
    resolve_events: list[int] = []
    for event in events:
        label = OPINION_STEPS.get(event.action)
        if label is None or (skip_create and event.action == CREATE):
            continue  # escalations and the like are the staff's business
        if event.action == Action.RESOLVE:
            resolve_events.append(event.id)
        due = event.due_day.isoformat() if event.due_day else ""
        note = event.note if event.action in PUBLIC_NOTES else ""
        steps.append(Step(label, event.at, {"due": due}, note))
    return steps, resolve_events


async def _opinion(db: AsyncSession, receipt: ResidentReceipt, own: Opinion) -> StatusView:
    steps, resolve_events = await _opinion_steps(db, own)
    item, pointer = own, ""
    standing = await surviving_opinion(db, own)
    if standing.id != own.id:
        # The surviving item's progress is the resident's: its steps, answer and photos.
        item = standing
        pointer = N_("Your opinion was merged with one about the same matter; that item's "
                     "progress and result are yours.")
        later, resolve_events = await _opinion_steps(db, standing, skip_create=True)
        steps += [step for step in later if step.at >= (own.finished_at or step.at)]
    photo_ids: tuple[int, ...] = ()
    if resolve_events:
        photo_ids = tuple(await db.scalars(
            select(OpinionPhoto.id).where(OpinionPhoto.event_id.in_(resolve_events[-1:]))
            .order_by(OpinionPhoto.id)))
    answer = item.public_note if item.status in RATEABLE_OPINION else ""
    satisfaction, note = _rating(receipt)
    return StatusView(code=display(receipt.code), kind="opinion", text=own.text,
                      state=OPINION_STATES[item.status],
                      steps=tuple(steps), answer=answer, due_day=item.due_day, session=None,
                      pointer=pointer, photo_ids=photo_ids,
                      can_rate=item.status in RATEABLE_OPINION,
                      satisfaction=satisfaction, satisfaction_note=note)


async def surviving(db: AsyncSession, question: Question) -> Question:
    """Follow merges and carry-overs (a few hops at most) to the question that stands."""
    current = question
    for _ in range(8):
        if current.status is QuestionStatus.MERGED and current.merged_into_id is not None:
            nxt = await db.get(Question, current.merged_into_id)
        elif current.outcome is Outcome.CARRIED_OVER:
            nxt = await db.scalar(select(Question).where(Question.carried_from_id == current.id))
        else:
            break
        if nxt is None:
            break
        current = nxt
    return current


async def _question(db: AsyncSession, receipt: ResidentReceipt, own: Question) -> StatusView:
    standing = await surviving(db, own)
    sessions = await infos(db, {own.session_id, standing.session_id})
    first, last = sessions.get(own.session_id), sessions.get(standing.session_id)
    steps = [Step(N_("We received it for the legal consultation day on %(day)s"),
                  own.submitted_at, {"day": first.label if first else ""})]
    pointer = ""
    if own.status is QuestionStatus.MERGED:
        pointer = N_("Your question was merged with a similar one; that question's answer "
                     "is yours.")
        steps.append(Step(N_("Merged with a similar question"), own.changed_at))
    elif standing.id != own.id:
        pointer = N_("Your question was carried over to a later session.")
    if standing.status is QuestionStatus.ANSWERED and standing.outcome is not None:
        label = {Outcome.LIVE: N_("Answered at the session on %(day)s"),
                 Outcome.WRITTEN: N_("Answered in writing after the session on %(day)s"),
                 Outcome.FOLLOW_UP: N_("Answered at the session on %(day)s; an on-site "
                                       "consultation or mediation follows"),
                 Outcome.CARRIED_OVER: N_("Carried over to a later session")}[standing.outcome]
        steps.append(Step(label, standing.answered_at or standing.changed_at,
                          {"day": last.label if last else ""}))
    if standing.status is QuestionStatus.REJECTED:
        steps.append(Step(N_("Not taken up. The reason:"), standing.changed_at,
                          note=standing.reject_reason))
    state = {QuestionStatus.QUEUED: N_("Waiting for the consultation day"),
             QuestionStatus.ANSWERED: N_("Answered"),
             QuestionStatus.MERGED: N_("Waiting for the consultation day"),
             QuestionStatus.REJECTED: N_("Not taken up")}[standing.status]
    answered = standing.status is QuestionStatus.ANSWERED
    satisfaction, note = _rating(receipt)
    return StatusView(code=display(receipt.code), kind="question", text=own.text,
                      state=state, steps=tuple(steps),
                      answer=standing.answer_summary if answered else "", due_day=None,
                      session=last, pointer=pointer, photo_ids=(),
                      can_rate=answered or standing.status is QuestionStatus.REJECTED,
                      satisfaction=satisfaction, satisfaction_note=note)


async def photo_of(db: AsyncSession, raw_code: str, photo_id: int) -> OpinionPhoto | None:
    """A result photo of the receipt's item, or None (same answer for every wrong guess)."""
    view = await status_of(db, raw_code)
    if view is None or photo_id not in view.photo_ids:
        return None
    return await db.get(OpinionPhoto, photo_id)
