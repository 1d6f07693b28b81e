"""The host's review of collected questions: category, duplicates, queue order, rejection.

Each action takes the version the host saw. A review after the packet was compiled
raises the packet's version, so the officers see what changed (`server.legal.packet.touch`).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.directory import is_active
from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Forbidden, NotFound, ValidationFailed
from server.legal.commands import MergeInto, Move, RejectQuestion, ReviewCommand, SetCategory
from server.legal.consultation import STREET_OFFICE, session_info
from server.legal.packet import touch
from server.legal.questions import compare_and_set, seen_version
from server.models import Question, QuestionCategory, QuestionStatus
from server.notify import inbox


async def review(db: AsyncSession, question_id: int, command: ReviewCommand, *,
                 viewer: Principal, clock: Clock) -> Question:
    if viewer.role not in STREET_OFFICE:
        raise Forbidden("Only the street office reviews questions.")
    question = await db.get(Question, question_id)
    if question is None:
        raise NotFound("Not found.")
    await session_info(db, question.session_id)
    seen_version(command.version, question)
    if isinstance(command, SetCategory):
        await _category(db, question, command.category_id, viewer=viewer, clock=clock)
        return question
    if question.status is not QuestionStatus.QUEUED:
        raise ValidationFailed("Only questions in the queue can be changed this way.")
    if isinstance(command, MergeInto):
        await _merge(db, question, command.into, viewer=viewer, clock=clock)
    elif isinstance(command, RejectQuestion):
        await _reject(db, question, command.reason, viewer=viewer, clock=clock)
    else:
        await _move(db, question, command.move, viewer=viewer, clock=clock)
    return question


async def _category(db: AsyncSession, question: Question, category_id: int | None, *,
                    viewer: Principal, clock: Clock) -> None:
    if question.status not in (QuestionStatus.QUEUED, QuestionStatus.ANSWERED):
        raise ValidationFailed("Only questions in the queue can be changed this way.")
    if not await is_active(db, QuestionCategory, category_id):
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "category_id": N_("Choose one of the categories on the list.")})
    before, now = question.category_id, clock()
    if category_id == before:
        return
    await compare_and_set(db, question, {"category_id": category_id, "changed_at": now,
                                         "updated_at": now})
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.category",
                 target_type="question", target_id=question.id,
                 changes={"category_id": [before, category_id]})
    await touch(db, question.session_id, clock=clock)


async def _merge(db: AsyncSession, question: Question, into_id: int | None, *,
                 viewer: Principal, clock: Clock) -> None:
    """`question` is a duplicate of `into`: it leaves the queue, linked and still shown."""
    target = await db.get(Question, into_id) if into_id is not None else None
    if target is None or target.id == question.id or target.session_id != question.session_id \
            or target.status is not QuestionStatus.QUEUED:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "into": N_("Choose another question of this session's queue.")})
    now = clock()
    await compare_and_set(db, question, {
        "status": QuestionStatus.MERGED, "merged_into_id": target.id, "answering_at": None,
        "changed_at": now, "updated_at": now})
    # What was merged into the duplicate now points at the question that stands for both.
    for earlier in list(await db.scalars(select(Question).where(
            Question.merged_into_id == question.id))):
        await compare_and_set(db, earlier, {"merged_into_id": target.id, "updated_at": now})
    await compare_and_set(db, target, {"changed_at": now, "updated_at": now})
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.merge",
                 target_type="question", target_id=question.id,
                 changes={"status": [QuestionStatus.QUEUED.value, QuestionStatus.MERGED.value],
                          "merged_into_id": [None, target.id]})
    await inbox.deliver(db, await inbox.recipients(db, site_ids=[question.site_id]),
                        inbox.Message(
                            kind="question.merged",
                            title=N_("Your question #%(id)s was merged with the same "
                                     "question #%(into)s"),
                            params={"id": question.id, "into": target.id},
                            link=f"/legal/questions/{question.id}",
                            dedupe_key=f"question:{question.id}:merged"), clock=clock)
    await touch(db, question.session_id, clock=clock)


async def _reject(db: AsyncSession, question: Question, reason: str, *,
                  viewer: Principal, clock: Clock) -> None:
    now = clock()
    await compare_and_set(db, question, {
        "status": QuestionStatus.REJECTED, "reject_reason": reason, "answering_at": None,
        "changed_at": now, "updated_at": now})
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.reject",
                 target_type="question", target_id=question.id,
                 changes={"status": [QuestionStatus.QUEUED.value,
                                     QuestionStatus.REJECTED.value],
                          "reject_reason": [None, reason]})
    await inbox.deliver(db, await inbox.recipients(db, site_ids=[question.site_id]),
                        inbox.Message(kind="question.rejected",
                                      title=N_("Your question #%(id)s was not accepted"),
                                      body=reason, params={"id": question.id},
                                      link=f"/legal/questions/{question.id}",
                                      dedupe_key=f"question:{question.id}:rejected"),
                        clock=clock)
    await touch(db, question.session_id, clock=clock)


async def _move(db: AsyncSession, question: Question, move: Move, *, viewer: Principal,
                clock: Clock) -> None:
    """Move one place up or down, or to the top; the queue is numbered 1..n again."""
    queue = list(await db.scalars(select(Question).where(
        Question.session_id == question.session_id, Question.status == QuestionStatus.QUEUED)
        .order_by(Question.position, Question.id)))
    index = next(i for i, q in enumerate(queue) if q.id == question.id)
    queue.pop(index)
    to = 0 if move == "top" else max(0, index - 1) if move == "up" else index + 1
    queue.insert(min(to, len(queue)), question)
    before, now = question.position, clock()
    wanted = queue.index(question) + 1
    if wanted != before:
        await compare_and_set(db, question, {"position": wanted, "updated_at": now})
    # The others only shift: their version stays, so nobody acting on them is refused.
    for position, row in enumerate(queue, start=1):
        if row is not question and row.position != position:
            await db.execute(update(Question).where(Question.id == row.id)
                             .values(position=position)
                             .execution_options(synchronize_session=False))
            set_committed_value(row, "position", position)
    if question.position != before:
        audit.record(db, at=now, actor_id=viewer.user_id, action="question.reorder",
                     target_type="question", target_id=question.id,
                     changes={"position": [before, question.position]})
