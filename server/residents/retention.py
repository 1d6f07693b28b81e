"""Retention: what the personal-information notice promises, done every night.

The notice on the resident's page says that the name, the phone number and the shared
position are deleted `RETENTION_YEARS` years after the matter is finished. This job blanks
`resident_name` and `contact` of resident-filed opinions and questions finished longer ago
than that and deletes their `resident_place` rows. Staff-filed items are not touched (the
office keeps those under its own rules). The audit log gets the counts, never the data.

Idempotent: only rows that still hold something are changed, so a second run changes
nothing and writes no audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.jobs import JobRuntime
from server.models import (
    Opinion,
    Question,
    QuestionStatus,
    ResidentPlace,
    ResidentReceipt,
    Source,
)
from server.opinions.lifecycle import FINISHED

log = logging.getLogger("yizhan.residents.retention")

RETENTION_YEARS = 3
"""Shown in the notice (web/templates/residents/file.html) and enforced here."""
QUESTION_FINISHED = frozenset({QuestionStatus.ANSWERED, QuestionStatus.MERGED,
                               QuestionStatus.REJECTED})
AUDIT_ACTION = "residents.retention"


@dataclass(frozen=True)
class Purged:
    opinions: int
    questions: int
    places: int
    notes: int = 0  # the resident's words when rating the result, which may name them

    @property
    def anything(self) -> bool:
        return bool(self.opinions or self.questions or self.places or self.notes)


def years_before(now: datetime, years: int) -> datetime:
    """The same instant ``years`` calendar years earlier (29 February → 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _count(result: object) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def purge(db: AsyncSession, *, clock: Clock, years: int = RETENTION_YEARS) -> Purged:
    """Blank the personal data of resident items finished before ``now - years``."""
    now = clock()
    cutoff = years_before(now, years)
    opinions = (select(Opinion.id).where(
        Opinion.source == Source.RESIDENT, Opinion.status.in_(FINISHED),
        Opinion.finished_at.is_not(None), Opinion.finished_at < cutoff))
    # A question's last change: merged or rejected (changed_at), answered (answered_at).
    questions = (select(Question.id).where(
        Question.source == Source.RESIDENT, Question.status.in_(QUESTION_FINISHED),
        Question.changed_at < cutoff,
        or_(Question.answered_at.is_(None), Question.answered_at < cutoff)))
    holds_data = [Opinion.resident_name.is_not(None), Opinion.contact != ""]
    opinion_rows = _count(await db.execute(
        update(Opinion).where(Opinion.id.in_(opinions), or_(*holds_data))
        .values(resident_name=None, contact="", version=Opinion.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)))
    question_rows = _count(await db.execute(
        update(Question).where(Question.id.in_(questions),
                               or_(Question.resident_name.is_not(None), Question.contact != ""))
        .values(resident_name=None, contact="", version=Question.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)))
    receipts = select(ResidentReceipt.id).where(or_(
        and_(ResidentReceipt.opinion_id.is_not(None), ResidentReceipt.opinion_id.in_(opinions)),
        and_(ResidentReceipt.question_id.is_not(None),
             ResidentReceipt.question_id.in_(questions))))
    place_rows = _count(await db.execute(
        delete(ResidentPlace).where(ResidentPlace.receipt_id.in_(receipts))
        .execution_options(synchronize_session=False)))
    note_rows = _count(await db.execute(
        update(ResidentReceipt).where(ResidentReceipt.id.in_(receipts),
                                      ResidentReceipt.satisfaction_note != "")
        .values(satisfaction_note="")
        .execution_options(synchronize_session=False)))
    purged = Purged(opinions=opinion_rows, questions=question_rows, places=place_rows,
                    notes=note_rows)
    if purged.anything:
        audit.record(db, at=now, actor_id=None, action=AUDIT_ACTION,
                     target_type="resident_data", target_id=cutoff.date().isoformat(),
                     changes={"finished_before": cutoff.isoformat(), "years": years,
                              "opinions": opinion_rows, "questions": question_rows,
                              "places": place_rows, "notes": note_rows})
    return purged


async def run(runtime: JobRuntime) -> None:
    async with runtime.database() as db, db.begin():
        purged = await purge(db, clock=runtime.clock)
    log.info("retention: opinions=%s questions=%s places=%s", purged.opinions,
             purged.questions, purged.places)
