"""Helpers for the board and public-page tests: residents' own items, receipts, places, and
a data set with personal details planted where the public must never see them."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.models import (
    Opinion,
    OpinionEvent,
    OpinionPhoto,
    Question,
    ResidentPlace,
    ResidentReceipt,
    Satisfaction,
    Source,
)
from server.opinions import items as opinions
from server.opinions import photos as opinion_photos
from server.opinions.commands import transition_from_fields
from server.opinions.photos import Upload
from tests.conftest import MutableClock
from tests.opinion_helpers import JPEG, accept, act, local, png_bytes, principal, record
from tests.question_helpers import ask

# Planted personal details: none of these may ever reach a page without login.
PHONE = "13987654321"
NAME = "欧阳娜娜"
RAW = "原话XQ7私密描述"
INTERNAL = "内部备注ZK9"

_codes = itertools.count(1)


def readable(body: str, content_type: str) -> str:
    """The text a person would read: JSON escapes (\\u6b27...) decoded, so a scan for a
    Chinese name cannot pass just because the name was escaped."""
    if "json" in content_type:
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body


async def as_resident(db: AsyncSession, item: Opinion | Question, *, at: datetime,
                      place: str = "", latitude: float | None = None,
                      longitude: float | None = None,
                      satisfaction: Satisfaction | None = None) -> ResidentReceipt:
    """Make ``item`` one a resident filed from the site's QR page, with its receipt."""
    n = next(_codes)
    if isinstance(item, Opinion):
        await db.execute(update(Opinion).where(Opinion.id == item.id)
                         .values(source=Source.RESIDENT, recorded_by_id=None))
    else:
        await db.execute(update(Question).where(Question.id == item.id)
                         .values(source=Source.RESIDENT, submitted_by_id=None))
    receipt = ResidentReceipt(
        code=f"R{n:07d}", idempotency_key=f"key-{n}", site_id=item.site_id,
        opinion_id=item.id if isinstance(item, Opinion) else None,
        question_id=item.id if isinstance(item, Question) else None,
        created_at=at, consent_at=at, satisfaction=satisfaction,
        rated_at=at if satisfaction else None)
    db.add(receipt)
    await db.flush()
    if place or latitude is not None:
        db.add(ResidentPlace(receipt_id=receipt.id, place=place, latitude=latitude,
                             longitude=longitude))
        await db.flush()
    return receipt


async def resolve_with_photo(db: AsyncSession, clock: MutableClock, who: str, item_id: int, *,
                             uploads_dir: Path, public_note: str, note: str = "",
                             photo: bytes | None = None) -> None:
    item = await db.get(Opinion, item_id)
    assert item is not None
    await db.refresh(item)
    command = transition_from_fields({"action": "resolve", "version": str(item.version),
                                      "note": note, "public_note": public_note})
    await opinions.transition(db, item_id, command, viewer=await principal(db, who),
                              clock=clock, tz=SHANGHAI, uploads_dir=uploads_dir,
                              uploads=[Upload("result.png", photo or png_bytes(3, 3))])


async def _own_photo(db: AsyncSession, opinion_id: int, uploads_dir: Path) -> None:
    """The resident's own photo, on the item's first timeline line (as filed)."""
    created = await db.scalar(select(OpinionEvent).where(
        OpinionEvent.opinion_id == opinion_id, OpinionEvent.action == "create"))
    assert created is not None
    photo = opinion_photos.check([Upload("mine.png", png_bytes(5, 5))])[0]
    opinion_photos.store(uploads_dir, photo)
    db.add(OpinionPhoto(opinion_id=opinion_id, event_id=created.id, sha256=photo.sha256,
                        content_type=photo.content_type, size=photo.size,
                        uploaded_at=created.at, uploaded_by_id=None))
    await db.flush()


@dataclass(frozen=True)
class Planted:
    published: int
    """A resolved item with a public answer (and result photo)."""
    unpublished_photo_ids: tuple[int, ...]
    """Photos the public must never get: the resident's own, and of unpublished items."""
    public_photo_ids: tuple[int, ...]
    question_id: int
    receipt_code: str


async def plant_personal_data(db: AsyncSession, clock: MutableClock,
                              uploads_dir: Path) -> Planted:
    """Items of every kind carrying the planted phone, name and raw text."""
    clock.now = local(2026, 11, 23)
    private = {"resident_name": NAME, "contact": PHONE, "text": f"{RAW} {NAME} {PHONE}"}
    published = await record(db, clock, uploads_dir=uploads_dir, **private)
    receipt = await as_resident(db, published, at=clock(), place=f"{NAME}家门口 {PHONE}",
                                latitude=31.2304, longitude=121.4737,
                                satisfaction=Satisfaction.SATISFIED)
    await _own_photo(db, published.id, uploads_dir)
    await accept(db, clock, published.id)
    await act(db, clock, "court", published.id, "update", note=f"{INTERNAL} {PHONE}")
    await resolve_with_photo(db, clock, "court", published.id, uploads_dir=uploads_dir,
                             public_note="路灯已全部修复，夜间照明恢复。",
                             note=f"{INTERNAL} 已电话联系{NAME} {PHONE}", photo=JPEG)
    unpublished = await record(db, clock, uploads_dir=uploads_dir, **private)
    await accept(db, clock, unpublished.id)
    await resolve_with_photo(db, clock, "court", unpublished.id, uploads_dir=uploads_dir,
                             public_note=f"{NAME} {PHONE}")
    await db.execute(update(Opinion).where(Opinion.id == unpublished.id).values(public_note=""))
    rejected = await record(db, clock, uploads_dir=uploads_dir, **private)
    await act(db, clock, "host", rejected.id, "reject", public_note="不属于本街道职责范围。",
              note=f"{INTERNAL} {NAME}")
    waiting = await record(db, clock, uploads_dir=uploads_dir, **private)
    await as_resident(db, waiting, at=clock(), place=f"{NAME} {PHONE}")
    question = await ask(db, clock, resident_name=NAME, contact=PHONE,
                         text=f"{RAW} {NAME} {PHONE}")
    asked = await db.get(Question, question.question_id)
    assert asked is not None
    await as_resident(db, asked, at=clock(), place=PHONE,
                      satisfaction=Satisfaction.UNSATISFIED)
    rows = (await db.execute(
        select(OpinionPhoto.id, OpinionPhoto.opinion_id, OpinionEvent.action)
        .join(OpinionEvent, OpinionEvent.id == OpinionPhoto.event_id))).all()
    public = tuple(i for i, o, a in rows if o == published.id and a == "resolve")
    hidden = tuple(i for i, o, a in rows if not (o == published.id and a == "resolve"))
    return Planted(published=published.id, unpublished_photo_ids=hidden,
                   public_photo_ids=public, question_id=question.question_id,
                   receipt_code=receipt.code)
