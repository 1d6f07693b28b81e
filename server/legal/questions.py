"""Legal questions: collected from the sites ahead of a session, listed and read.

Sites submit for themselves, the host for any site, to a session that still collects. A
question that comes after its session's cutoff goes to the programme's next session that
collects, and the submitter is told so at once. Every change to a question is one
compare-and-set UPDATE (``WHERE version = <the version read>``): of two people acting at
once, one wins and the other gets ``Conflict`` and sees the current state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.directory import is_active
from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.legal import files as question_files
from server.legal.commands import SubmitQuestion
from server.legal.consultation import SessionInfo, next_collecting, session_info
from server.legal.packet import touch
from server.legal.views import QuestionView, views, visible_to
from server.models import (
    ProgrammeSession,
    Question,
    QuestionAttachment,
    QuestionCategory,
    QuestionStatus,
    Role,
    Site,
)

SUBMITTERS = frozenset({Role.SITE, Role.HOST})
READERS = frozenset({Role.ADMIN, Role.HOST, Role.SITE, Role.OFFICER})
CONFLICT = N_("Someone else changed this question first. Here is its current state.")


@dataclass(frozen=True)
class Submitted:
    question_id: int
    session: SessionInfo
    # The session the submitter chose, when its cutoff had passed.
    moved_from: SessionInfo | None


def _site_of(command: SubmitQuestion, viewer: Principal) -> int | None:
    if viewer.role is not Role.SITE:
        return command.site_id
    if command.site_id is not None and command.site_id != viewer.site_id:
        raise Forbidden("A site may submit questions only for itself.")
    return viewer.site_id


async def next_position(db: AsyncSession, session_id: int) -> int:
    top = await db.scalar(select(func.max(Question.position))
                          .where(Question.session_id == session_id))
    return (top or 0) + 1


async def submit(
    db: AsyncSession, command: SubmitQuestion, *, viewer: Principal, clock: Clock,
    uploads: Sequence[question_files.FileUpload] = (), uploads_dir: Path,
) -> Submitted:
    if viewer.role not in SUBMITTERS:
        raise Forbidden("You may not submit questions.")
    site_id = _site_of(command, viewer)
    category_id = command.category_id
    errors: dict[str, str] = {}
    if not await is_active(db, Site, site_id):
        errors["site_id"] = N_("Choose one of the options.")
    if not await is_active(db, QuestionCategory, category_id):
        errors["category_id"] = N_("Choose one of the categories on the list.")
    try:
        files = question_files.check(uploads)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        files = []
    if errors or site_id is None or category_id is None:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    chosen = await session_info(db, command.session_id)
    now = clock()
    target, moved_from = await _target(db, chosen, now)
    question = Question(
        session_id=target.id, requested_session_id=moved_from.id if moved_from else None,
        site_id=site_id, category_id=category_id, text=command.text,
        resident_name=command.resident_name, contact=command.contact,
        submitted_by_id=viewer.user_id, submitted_at=now, status=QuestionStatus.QUEUED,
        position=await next_position(db, target.id), raised_live=False, reject_reason="",
        answer_summary="", changed_at=now, updated_at=now, version=1)
    db.add(question)
    await db.flush()
    add_files(db, question.id, files, viewer.user_id, now, uploads_dir)
    audit.record(db, at=now, actor_id=viewer.user_id, action="question.submit",
                 target_type="question", target_id=question.id,
                 changes={"session_id": [None, target.id], "site_id": [None, site_id],
                          "category_id": [None, category_id], "files": [None, len(files)],
                          "requested_session_id": [None, moved_from.id if moved_from
                                                   else None]})
    await touch(db, target.id, clock=clock)
    return Submitted(question.id, target, moved_from)


async def _target(db: AsyncSession, chosen: SessionInfo, now: datetime
                  ) -> tuple[SessionInfo, SessionInfo | None]:
    """The session a question submitted now for `chosen` goes to."""
    if not chosen.takes_place():
        raise ValidationFailed("This session does not take place, so it takes no questions.")
    if chosen.over(now):
        raise ValidationFailed("This session is over.")
    if chosen.collecting(now):
        return chosen, None
    later = await next_collecting(db, chosen.programme_id, now, after=chosen.starts_at)
    if later is None:
        raise ValidationFailed("Questions for this session are closed, and no later session "
                               "takes questions yet.")
    return later, chosen


def add_files(db: AsyncSession, question_id: int,
              files: Sequence[question_files.CheckedFile], user_id: int | None,
              now: datetime, uploads_dir: Path) -> None:
    for checked in files:
        question_files.store(uploads_dir, checked)
        db.add(QuestionAttachment(
            question_id=question_id, sha256=checked.stored.sha256,
            content_type=checked.stored.content_type, size=checked.stored.size,
            filename=checked.filename, uploaded_at=now, uploaded_by_id=user_id))


# -- reading ---------------------------------------------------------------------------


async def visible(db: AsyncSession, viewer: Principal, question_id: int) -> Question:
    """The question if `viewer` sees it in full; otherwise it does not exist for them."""
    row = await db.scalar(select(Question).where(Question.id == question_id,
                                                 visible_to(viewer)))
    if row is None:
        raise NotFound("Not found.")
    return row


async def question_view(db: AsyncSession, viewer: Principal, question_id: int) -> QuestionView:
    [view] = await views(db, [await visible(db, viewer, question_id)], viewer=viewer)
    return view


async def attachment_for(db: AsyncSession, viewer: Principal,
                         attachment_id: int) -> QuestionAttachment:
    """A file row, only for someone who sees its question in full."""
    row = await db.get(QuestionAttachment, attachment_id)
    if row is None:
        raise NotFound("Not found.")
    await visible(db, viewer, row.question_id)
    return row


@dataclass(frozen=True, kw_only=True)
class Filters:
    session_id: int | None = None
    site_id: int | None = None
    status: QuestionStatus | None = None


def parse_filters(query: Mapping[str, str]) -> Filters:
    form = FieldReader(query)
    session_id = form.optional_id("session_id")
    site_id = form.optional_id("site_id")
    raw = str(query.get("status", "")).strip()
    status = form.choice("status", QuestionStatus) if raw else None
    form.check()
    return Filters(session_id=session_id, site_id=site_id, status=status)


async def list_questions(db: AsyncSession, viewer: Principal, filters: Filters, *,
                         limit: int = 300) -> list[QuestionView]:
    """What `viewer` sees in full, newest sessions first, in queue order within each."""
    stmt = (select(Question).join(ProgrammeSession,
                                  ProgrammeSession.id == Question.session_id)
            .where(visible_to(viewer)))
    if filters.session_id is not None:
        stmt = stmt.where(Question.session_id == filters.session_id)
    if filters.site_id is not None:
        stmt = stmt.where(Question.site_id == filters.site_id)
    if filters.status is not None:
        stmt = stmt.where(Question.status == filters.status)
    rows = list(await db.scalars(stmt.order_by(ProgrammeSession.starts_at.desc(),
                                               Question.position, Question.id).limit(limit)))
    return await views(db, rows, viewer=viewer)


# -- changing --------------------------------------------------------------------------


def seen_version(version: int, question: Question) -> None:
    """The version the actor saw must still be the question's; else Conflict."""
    if version != question.version:
        raise Conflict(CONFLICT)


async def compare_and_set(db: AsyncSession, question: Question, values: dict[str, Any]) -> None:
    """UPDATE ... WHERE id = :id AND version = :seen; Conflict when someone was faster."""
    stmt = (update(Question)
            .where(Question.id == question.id, Question.version == question.version)
            .values(**values, version=question.version + 1)
            .execution_options(synchronize_session=False))
    result = cast("CursorResult[Any]", await db.execute(stmt))
    if result.rowcount != 1:
        raise Conflict(CONFLICT)
    for key, value in {**values, "version": question.version + 1}.items():
        set_committed_value(question, key, value)
