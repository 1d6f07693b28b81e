"""Retention: what the personal-information notice promises, done every night.

The notice on the resident's page says that the name, the phone number and the shared
position are deleted `RETENTION_YEARS` years after the matter is finished. This job blanks
`resident_name` and `contact` of resident-filed opinions and questions finished longer ago
than that and deletes their `resident_place` rows. Where the resident had shared the
phone's position, the photos the resident sent with the item carried it too (their GPS
block, kept on purpose at filing): those files are rewritten without it (losslessly, a
new file by content hash; the old one goes when nothing else refers to it). Staff-filed
items are not touched (the office keeps those under its own rules). The audit log gets
the counts, never the data.

Idempotent: only rows that still hold something are changed, so a second run changes
nothing and writes no audit entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.jobs import JobRuntime
from server.models import (
    Opinion,
    OpinionPhoto,
    Question,
    QuestionAttachment,
    QuestionStatus,
    ResidentPlace,
    ResidentReceipt,
    Source,
)
from server.opinions import photos as stored_photos
from server.opinions.lifecycle import FINISHED
from server.residents.photos import without_exif

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
    photos: int = 0  # the residents' photo files whose GPS block was taken out

    @property
    def anything(self) -> bool:
        return bool(self.opinions or self.questions or self.places or self.notes
                    or self.photos)


def years_before(now: datetime, years: int) -> datetime:
    """The same instant ``years`` calendar years earlier (29 February → 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _count(result: object) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def purge(db: AsyncSession, *, clock: Clock, years: int = RETENTION_YEARS,
                uploads_dir: Path | None = None) -> Purged:
    """Blank the personal data of resident items finished before ``now - years`` (and, with
    ``uploads_dir``, the position in their photos)."""
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
    photo_rows = 0
    if uploads_dir is not None:  # before the places go: they say who shared a position
        photo_rows = await _strip_positions(db, receipts, uploads_dir)
    place_rows = _count(await db.execute(
        delete(ResidentPlace).where(ResidentPlace.receipt_id.in_(receipts))
        .execution_options(synchronize_session=False)))
    note_rows = _count(await db.execute(
        update(ResidentReceipt).where(ResidentReceipt.id.in_(receipts),
                                      ResidentReceipt.satisfaction_note != "")
        .values(satisfaction_note="")
        .execution_options(synchronize_session=False)))
    purged = Purged(opinions=opinion_rows, questions=question_rows, places=place_rows,
                    notes=note_rows, photos=photo_rows)
    if purged.anything:
        audit.record(db, at=now, actor_id=None, action=AUDIT_ACTION,
                     target_type="resident_data", target_id=cutoff.date().isoformat(),
                     changes={"finished_before": cutoff.isoformat(), "years": years,
                              "opinions": opinion_rows, "questions": question_rows,
                              "places": place_rows, "notes": note_rows,
                              "photos": photo_rows})
    return purged


async def _strip_positions(db: AsyncSession, receipts: Any, uploads_dir: Path) -> int:
    """Rewrite, without their GPS block, the JPEGs residents sent with the items whose
    shared position goes now; how many files were rewritten."""
    located = (await db.execute(
        select(ResidentReceipt.opinion_id, ResidentReceipt.question_id).where(
            ResidentReceipt.id.in_(receipts),
            ResidentReceipt.id.in_(select(ResidentPlace.receipt_id).where(
                ResidentPlace.latitude.is_not(None)))))).all()
    opinion_ids = [o for o, _ in located if o is not None]
    question_ids = [q for _, q in located if q is not None]
    rows: list[OpinionPhoto | QuestionAttachment] = [
        *await db.scalars(select(OpinionPhoto).where(
            OpinionPhoto.opinion_id.in_(opinion_ids), OpinionPhoto.uploaded_by_id.is_(None),
            OpinionPhoto.content_type == "image/jpeg")),
        *await db.scalars(select(QuestionAttachment).where(
            QuestionAttachment.question_id.in_(question_ids),
            QuestionAttachment.uploaded_by_id.is_(None),
            QuestionAttachment.content_type == "image/jpeg"))]
    replaced: set[str] = set()
    for row in rows:
        clean = await asyncio.to_thread(_clean_copy, uploads_dir, row.sha256)
        if clean is not None:
            replaced.add(row.sha256)
            row.sha256, row.size = clean.sha256, clean.size
    await db.flush()
    for sha256 in replaced:  # the old file, unless another row still points at it
        users = [await db.scalar(select(func.count()).select_from(model).where(
            model.sha256 == sha256)) for model in (OpinionPhoto, QuestionAttachment)]
        if not any(users):
            stored_photos.path_of(uploads_dir, sha256).unlink(missing_ok=True)
    return len(replaced)


def _clean_copy(uploads_dir: Path, sha256: str) -> stored_photos.Photo | None:
    """The stored file without its EXIF, written beside it; None if it had none (or is gone)."""
    try:
        data = stored_photos.path_of(uploads_dir, sha256).read_bytes()
    except (OSError, ValueError):
        return None
    clean = without_exif(data)
    if clean == data:
        return None
    photo = stored_photos.Photo(hashlib.sha256(clean).hexdigest(), "image/jpeg", clean)
    stored_photos.store(uploads_dir, photo)
    return photo


async def run(runtime: JobRuntime) -> None:
    async with runtime.database() as db, db.begin():
        purged = await purge(db, clock=runtime.clock, uploads_dir=runtime.settings.uploads_dir)
    log.info("retention: opinions=%s questions=%s places=%s", purged.opinions,
             purged.questions, purged.places)
