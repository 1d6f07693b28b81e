"""The live queue on the consultation day: now answering, answers, questions raised live.

The host or an officer of the department on duty runs the queue. "Now answering" makes a
question the current one and asks the room to spotlight its site; marking it answered
records a summary and an outcome (answered live, in writing later, a follow-up, carried
over to the next session) and leaves a marker in the room's log. The room is told only
after the change committed, through `RoomCue`s the edge hands to `RoomControl`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from scheduling.planner import SessionStatus
from server.accounts.directory import is_active
from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Forbidden, NotFound, ValidationFailed
from server.legal.categories import fallback_category
from server.legal.commands import AnswerQuestion, NowAnswering, RaiseLive
from server.legal.consultation import (
    SessionInfo,
    may_run,
    on_duty,
    require_runner,
    require_takes_place,
    session_info,
)
from server.legal.follow_ups import read_plan, start
from server.legal.packet import touch
from server.legal.questions import compare_and_set, next_position, seen_version
from server.legal.views import QuestionView, views
from server.models import (
    Outcome,
    ProgrammeSession,
    Question,
    QuestionAttachment,
    QuestionCategory,
    QuestionStatus,
    Role,
    Site,
)
from server.notify import inbox
from server.residents import notify as resident_notice

LIVE_ROLES = frozenset({Role.ADMIN, Role.HOST, Role.SITE, Role.OFFICER})


@dataclass(frozen=True)
class RoomCue:
    """What the live room should show once the change committed."""

    room: str
    marker: str
    data: dict[str, object]
    spotlight: bool = False  # change the spotlight ...
    site_id: int | None = None  # ... to this site's tile (None: back to the grid)


# -- the queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    session: SessionInfo
    queued: list[QuestionView]
    answered: list[QuestionView]
    current: QuestionView | None
    can_run: bool
    viewer_site_id: int | None
    rejected: list[QuestionView] = field(default_factory=list)


def _require_viewer(viewer: Principal, info: SessionInfo) -> None:
    if viewer.role not in LIVE_ROLES:
        raise Forbidden("You may not do this for this session.")
    if viewer.role is Role.OFFICER and not on_duty(viewer, info):
        raise Forbidden("Your department is not on duty for this session.")


async def queue_view(db: AsyncSession, info: SessionInfo, *, viewer: Principal) -> QueueView:
    """The session's queue: sites see every site's questions, but only their own in full
    (with the resident's name)."""
    _require_viewer(viewer, info)
    rows = list(await db.scalars(select(Question).where(Question.session_id == info.id)
                                 .order_by(Question.position, Question.id)))
    shown = [q for q in rows if q.status in (QuestionStatus.QUEUED, QuestionStatus.ANSWERED)
             or (q.status is QuestionStatus.REJECTED and (
                 may_run(viewer, info) or q.site_id == viewer.site_id))]
    # A site sees other sites' questions on the queue, never their residents' names or
    # contacts (the notice board shows none either): only rows it sees in full keep them.
    all_views = [v if v.full else replace(v, resident_name=None, contact=None)
                 for v in await views(db, shown, viewer=viewer)]
    queued = [v for v in all_views if v.status is QuestionStatus.QUEUED]
    answered = sorted((v for v in all_views if v.status is QuestionStatus.ANSWERED),
                      key=lambda v: (v.answered_at or v.submitted_at, v.id))
    return QueueView(
        session=info, queued=queued, answered=answered,
        current=next((v for v in queued if v.answering), None),
        can_run=may_run(viewer, info), viewer_site_id=viewer.site_id,
        rejected=[v for v in all_views if v.status is QuestionStatus.REJECTED])


Translate = Callable[[str], str]


def queue_payload(view: QueueView, _: Translate) -> dict[str, object]:
    """The queue as JSON for `web/static/js/queue.js`; texts already translated."""
    info = view.session

    def item(q: QuestionView) -> dict[str, object]:
        return {
            "id": q.id, "version": q.version, "position": q.position, "site_id": q.site_id,
            "site": q.site,
            "own": q.site_id == view.viewer_site_id, "category": q.category,
            "text": q.text or _("Raised live"),
            # None: another site's resident, whose name this viewer does not see.
            "resident": (q.resident_name if q.resident_name is not None
                         else _("Anonymous")) if q.full else None,
            "status": q.status.value, "status_label": _(q.status_label),
            "outcome": q.outcome.value if q.outcome else None,
            "outcome_label": _(q.outcome_label) if q.outcome_label else None,
            "summary": q.answer_summary, "current": q.answering, "raised_live": q.raised_live,
            "merged": [{"id": m.id, "site": m.site} for m in q.merged_from],
            "carried_from": q.carried_from.id if q.carried_from else None,
            "url": f"/legal/questions/{q.id}" if q.full else None,
        }

    return {
        "session": {"id": info.id, "programme": info.programme_name, "room": info.room,
                    "starts_at": utc(info.starts_at).isoformat(),
                    "ends_at": utc(info.ends_at).isoformat(), "label": info.label,
                    "department": info.department_name,
                    "queue_url": f"/legal/sessions/{info.id}/queue"},
        "current": view.current.id if view.current else None,
        # Whether this viewer may run the queue now (the room panel's answer controls).
        "can_run": view.can_run and info.takes_place(),
        "counts": {"queued": len(view.queued), "answered": len(view.answered)},
        "labels": {"title": _("Question queue"), "now": _("Now answering"),
                   "queued": _("Waiting"), "answered": _("Answered"),
                   "empty": _("No questions in the queue."), "merged": _("Also asked by"),
                   "live": _("Raised live"), "own": _("Your site"),
                   "stale": _("Could not refresh the queue; retrying.")},
        "queued": [item(q) for q in view.queued],
        "answered": [item(q) for q in view.answered],
    }


# -- running it ------------------------------------------------------------------------


async def _runnable(db: AsyncSession, question_id: int, viewer: Principal
                    ) -> tuple[Question, SessionInfo]:
    question = await db.get(Question, question_id)
    if question is None:
        raise NotFound("Not found.")
    info = await session_info(db, question.session_id)
    require_runner(viewer, info)
    require_takes_place(info)
    return question, info


async def _clear_current(db: AsyncSession, session_id: int, keep: int | None) -> None:
    """Only one question of a session is being answered at a time."""
    stmt = update(Question).where(Question.session_id == session_id,
                                  Question.answering_at.is_not(None))
    if keep is not None:
        stmt = stmt.where(Question.id != keep)
    await db.execute(stmt.values(answering_at=None, version=Question.version + 1)
                     .execution_options(synchronize_session="fetch"))


async def now_answering(db: AsyncSession, question_id: int, command: NowAnswering, *,
                        viewer: Principal, clock: Clock) -> RoomCue:
    question, info = await _runnable(db, question_id, viewer)
    seen_version(command.version, question)
    if question.status is not QuestionStatus.QUEUED:
        raise ValidationFailed("Only questions in the queue can be changed this way.")
    now = clock()
    await compare_and_set(db, question, {"answering_at": now, "updated_at": now})
    await _clear_current(db, info.id, keep=question.id)
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.now_answering",
                 target_type="question", target_id=question.id,
                 changes={"answering_at": [None, now.isoformat()]})
    return RoomCue(info.room, "now-answering",
                   {"session": info.id, "question": question.id, "site": question.site_id},
                   spotlight=True, site_id=question.site_id)


async def answer(db: AsyncSession, question_id: int, command: AnswerQuestion, *,
                 viewer: Principal, clock: Clock, today: date) -> RoomCue:
    """Mark a question answered; or, for one answered "in writing later", record the
    written answer."""
    question, info = await _runnable(db, question_id, viewer)
    seen_version(command.version, question)
    writing = question.status is QuestionStatus.ANSWERED and question.outcome is Outcome.WRITTEN
    if question.status is not QuestionStatus.QUEUED and not writing:
        raise ValidationFailed("This question is already answered.")
    summary, outcome = command.summary, command.outcome
    errors: dict[str, str] = {}
    if writing and outcome is not Outcome.WRITTEN:
        errors["outcome"] = N_("A written answer keeps the outcome 'answered in writing'.")
    plan = None
    if outcome is Outcome.FOLLOW_UP:
        plan = await read_plan(db, command.follow_up, errors,
                               default_department=info.department_id, today=today)
    later = await _next_session(db, info) if outcome is Outcome.CARRIED_OVER else None
    if outcome is Outcome.CARRIED_OVER and later is None:
        errors.setdefault("outcome",
                          N_("There is no next session to carry the question over to."))
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    now = clock()
    was_current = question.answering_at is not None
    before = (question.status.value, question.outcome.value if question.outcome else None)
    await compare_and_set(db, question, {
        "status": QuestionStatus.ANSWERED, "outcome": outcome, "answer_summary": summary,
        "answered_by_id": viewer.user_id, "answered_at": now, "answering_at": None,
        "updated_at": now})
    audit.record(db, at=now, actor_id=viewer.user_id,
                 action="question.written_answer" if writing else "question.answer",
                 target_type="question", target_id=question.id,
                 changes={"status": [before[0], QuestionStatus.ANSWERED.value],
                          "outcome": [before[1], outcome.value],
                          "answer_summary": [None, summary]})
    if plan is not None:
        await start(db, question, plan, actor_id=viewer.user_id, clock=clock)
    if later is not None:
        await _carry_over(db, question, later, viewer=viewer, clock=clock)
    await inbox.deliver(db, await inbox.recipients(db, site_ids=[question.site_id]),
                        inbox.Message(kind="question.answered",
                                      title=N_("Your question #%(id)s was answered"),
                                      body=summary, params={"id": question.id},
                                      link=f"/legal/questions/{question.id}",
                                      dedupe_key=f"question:{question.id}:answer:"
                                                 f"{question.version}"), clock=clock)
    if outcome is not Outcome.CARRIED_OVER:
        await resident_notice.question_answered(db, question, clock=clock)
    return RoomCue(info.room, "question-answered",
                   {"session": info.id, "question": question.id, "site": question.site_id,
                    "outcome": outcome.value},
                   spotlight=was_current, site_id=None)


async def _next_session(db: AsyncSession, info: SessionInfo) -> SessionInfo | None:
    row = await db.scalar(
        select(ProgrammeSession.id).where(
            ProgrammeSession.programme_id == info.programme_id,
            ProgrammeSession.status == SessionStatus.PLANNED,
            ProgrammeSession.starts_at > utc(info.starts_at))
        .order_by(ProgrammeSession.starts_at).limit(1))
    return await session_info(db, row) if row is not None else None


async def _carry_over(db: AsyncSession, question: Question, later: SessionInfo, *,
                      viewer: Principal, clock: Clock) -> Question:
    """A copy heads the next session's queue, linked to the original, with its files."""
    now = clock()
    first = await db.scalar(select(func.min(Question.position))
                            .where(Question.session_id == later.id))
    copy = Question(
        session_id=later.id, site_id=question.site_id, category_id=question.category_id,
        text=question.text, resident_name=question.resident_name, contact=question.contact,
        submitted_by_id=question.submitted_by_id, source=question.source, submitted_at=now,
        status=QuestionStatus.QUEUED, position=(first or 1) - 1, raised_live=False,
        carried_from_id=question.id, reject_reason="", answer_summary="", changed_at=now,
        updated_at=now, version=1)
    db.add(copy)
    await db.flush()
    for f in list(await db.scalars(select(QuestionAttachment).where(
            QuestionAttachment.question_id == question.id))):
        db.add(QuestionAttachment(question_id=copy.id, sha256=f.sha256,
                                  content_type=f.content_type, size=f.size,
                                  filename=f.filename, uploaded_at=f.uploaded_at,
                                  uploaded_by_id=f.uploaded_by_id))
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.carry_over",
                 target_type="question", target_id=copy.id,
                 changes={"carried_from_id": [None, question.id],
                          "session_id": [None, later.id]})
    await touch(db, later.id, clock=clock)
    return copy


async def raise_live(db: AsyncSession, session_id: int, command: RaiseLive, *,
                     viewer: Principal, clock: Clock) -> tuple[int, RoomCue]:
    """A question a site raises live joins the queue in one click (and, by default,
    becomes the one being answered)."""
    info = await session_info(db, session_id)
    require_runner(viewer, info)
    require_takes_place(info)
    site_id, text, answer_now = command.site_id, command.text, command.answer_now
    category_id = command.category_id or await fallback_category(db)
    errors: dict[str, str] = {}
    if not await is_active(db, Site, site_id):
        errors["site_id"] = N_("Choose one of the options.")
    if not await is_active(db, QuestionCategory, category_id):
        errors["category_id"] = N_("Choose one of the categories on the list.")
    if errors or site_id is None or category_id is None:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    question = await add_live_question(db, info, site_id=site_id, category_id=category_id,
                                       text=text, answer_now=answer_now,
                                       actor_id=viewer.user_id, clock=clock)
    data_out: dict[str, object] = {"session": info.id, "question": question.id,
                                   "site": site_id}
    if answer_now:
        return question.id, RoomCue(info.room, "now-answering", data_out, spotlight=True,
                                    site_id=site_id)
    return question.id, RoomCue(info.room, "question-raised", data_out)


async def add_live_question(db: AsyncSession, info: SessionInfo, *, site_id: int,
                            category_id: int, text: str, answer_now: bool, actor_id: int,
                            clock: Clock, audit_extra: dict[str, list[object]] | None = None
                            ) -> Question:
    """A question raised live joins the end of the queue (and, ``answer_now``, is the one
    being answered); the caller checked who may raise it and that the session runs."""
    now = clock()
    question = Question(
        session_id=info.id, site_id=site_id, category_id=category_id, text=text,
        resident_name=None, contact="", submitted_by_id=actor_id, submitted_at=now,
        status=QuestionStatus.QUEUED, position=await next_position(db, info.id),
        raised_live=True, reject_reason="", answer_summary="",
        answering_at=now if answer_now else None, changed_at=now, updated_at=now, version=1)
    db.add(question)
    await db.flush()
    if answer_now:
        await _clear_current(db, info.id, keep=question.id)
    audit.record(db, at=now, actor_id=actor_id, action="question.raise_live",
                 target_type="question", target_id=question.id,
                 changes={"session_id": [None, info.id], "site_id": [None, site_id],
                          "answering": [None, answer_now], **(audit_extra or {})})
    return question
