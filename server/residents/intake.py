"""A resident files an opinion (我要说事) or a legal question from the site's QR page.

The item lands in the site's and the street's queues like any other: an opinion as
RECEIVED, a question queued for the next session that still collects. `source` says the
resident filed it; nobody recorded it. The page sends an idempotency key, so a double tap
or a retried upload files once and gets the same receipt. Nothing is stored without the
resident's consent to the personal-information notice.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import is_active
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, ValidationFailed
from server.core.fields import FieldReader
from server.legal.consultation import collecting_sessions
from server.legal.packet import touch
from server.legal.questions import next_position
from server.models import (
    Opinion,
    OpinionCategory,
    OpinionEvent,
    OpinionPhoto,
    OpinionStatus,
    Question,
    QuestionAttachment,
    QuestionCategory,
    QuestionStatus,
    ResidentPlace,
    ResidentReceipt,
    Role,
    Site,
    Source,
)
from server.notify import inbox
from server.opinions import photos as stored_photos
from server.opinions.lifecycle import CREATE
from server.residents import photos as resident_photos
from server.residents.receipts import new_code

MAX_TEXT = 1000
MAX_PLACE = 200
MAX_NAME = 50
MAX_CONTACT = 100
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
HONEYPOT = "website"


class Kind(enum.StrEnum):
    QUESTION = "question"  # for the legal consultation day
    OPINION = "opinion"  # 我要说事: an opinion or a problem


@dataclass(frozen=True, kw_only=True)
class FileItem:
    kind: Kind
    text: str
    category_id: int
    idempotency_key: str
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    resident_name: str | None = None
    contact: str = ""
    notify: bool = False  # "tell me when answered", at the contact (server.residents.notify)

    @property
    def shares_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def _coordinate(form: FieldReader, data: Mapping[str, object], name: str,
                limit: float) -> float | None:
    raw = str(data.get(name, "") or "").strip()
    if not raw:
        return None
    try:
        value = float(raw) if len(raw) <= 20 else float("nan")
    except ValueError:
        value = float("nan")
    if not -limit <= value <= limit:
        form.fail(name, N_("Not a valid value."))
        return None
    return value


def trapped(data: Mapping[str, object]) -> bool:
    """The hidden field a person never sees was filled: a bot."""
    return bool(str(data.get(HONEYPOT, "") or "").strip())


def key_from_fields(data: Mapping[str, object]) -> str | None:
    raw = data.get("idempotency_key")
    return raw if isinstance(raw, str) and KEY_RE.match(raw) else None


def file_from_fields(data: Mapping[str, object]) -> FileItem:
    """A `FileItem` from the resident's form; ValidationFailed names every bad field."""
    raw_kind = str(data.get("kind", "") or "")
    # Each kind has its own list; the form sends both selects, the chosen kind's counts.
    chosen = data.get(f"{raw_kind}_category_id") if raw_kind in set(Kind) else None
    form = FieldReader({**data, "category_id": chosen if chosen is not None else ""})
    kind = form.choice("kind", Kind)
    text = form.text("text", max_len=MAX_TEXT)
    category_id = form.id("category_id")
    place = form.line("place", max_len=MAX_PLACE, required=False)
    latitude = longitude = None
    if form.flag("share_location"):
        latitude = _coordinate(form, data, "latitude", 90.0)
        longitude = _coordinate(form, data, "longitude", 180.0)
    anonymous = form.flag("anonymous")
    name = form.line("resident_name", max_len=MAX_NAME, required=False)
    contact = form.line("contact", max_len=MAX_CONTACT, required=False)
    if not anonymous and not name:
        form.fail("resident_name", N_("Give your name, or choose to stay anonymous."))
    if not form.flag("consent"):
        form.fail("consent", N_("Please read and agree to the notice first: without it we "
                                "cannot keep what you send."))
    key = key_from_fields(data)
    if key is None:
        form.fail("idempotency_key", N_("The form is incomplete. Please reload the page."))
    form.check()
    if kind is None or key is None:  # form.check() has raised already
        raise ValidationFailed("Please correct the marked fields.")
    return FileItem(kind=kind, text=text, category_id=category_id, idempotency_key=key,
                    place=place, latitude=latitude, longitude=longitude,
                    resident_name=None if anonymous else name,
                    contact="" if anonymous else contact,
                    notify=not anonymous and form.flag("notify"))


async def existing(db: AsyncSession, key: str) -> ResidentReceipt | None:
    return await db.scalar(select(ResidentReceipt)
                           .where(ResidentReceipt.idempotency_key == key))


async def _unique_code(db: AsyncSession) -> str:
    for _ in range(8):
        code = new_code()
        if await db.scalar(select(ResidentReceipt.id)
                           .where(ResidentReceipt.code == code)) is None:
            return code
    raise RuntimeError("no free receipt code")  # 8 collisions in 8e14: never


async def file_item(
    db: AsyncSession, site_id: int, command: FileItem, *, clock: Clock,
    uploads: Sequence[resident_photos.Upload] = (), uploads_dir: Path,
) -> ResidentReceipt:
    """File the item for `site_id` (or return the receipt its idempotency key already has)."""
    earlier = await existing(db, command.idempotency_key)
    if earlier is not None:
        return earlier
    errors: dict[str, str] = {}
    category_model = OpinionCategory if command.kind is Kind.OPINION else QuestionCategory
    if not await is_active(db, category_model, command.category_id):
        errors["category_id"] = N_("Choose one of the options.")
    now = clock()
    session = None
    if command.kind is Kind.QUESTION:
        sessions = await collecting_sessions(db, now, limit=1)
        session = sessions[0] if sessions else None
        if session is None:
            errors["kind"] = N_("No legal consultation day takes questions just now. You can "
                                "tell us your matter as an opinion instead.")
    try:
        photos = resident_photos.clean_all(uploads, keep_location=command.shares_location)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        photos = []
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    receipt = ResidentReceipt(code=await _unique_code(db),
                              idempotency_key=command.idempotency_key, site_id=site_id,
                              created_at=now, consent_at=now, satisfaction_note="",
                              notify=command.notify)
    site = await db.get(Site, site_id)
    site_name = site.name if site else ""
    if command.kind is Kind.OPINION:
        item = Opinion(text=command.text, site_id=site_id, category_id=command.category_id,
                       resident_name=command.resident_name, contact=command.contact,
                       recorded_by_id=None, source=Source.RESIDENT,
                       status=OpinionStatus.RECEIVED, received_at=now, updated_at=now,
                       public_note="", version=1)
        db.add(item)
        await db.flush()
        event = OpinionEvent(opinion_id=item.id, at=now, actor_id=None, action=CREATE,
                             from_status=None, to_status=OpinionStatus.RECEIVED,
                             note="")
        db.add(event)
        await db.flush()
        for photo in photos:
            stored_photos.store(uploads_dir, photo)
            db.add(OpinionPhoto(opinion_id=item.id, event_id=event.id, sha256=photo.sha256,
                                content_type=photo.content_type, size=photo.size,
                                uploaded_at=now, uploaded_by_id=None))
        receipt.opinion_id = item.id
        target, link = ("opinion", item.id), f"/opinions/{item.id}"
        title = N_("A resident filed opinion item #%(id)s at %(site)s")
    else:
        if session is None:  # checked above
            raise ValidationFailed("Please correct the marked fields.")
        question = Question(
            session_id=session.id, requested_session_id=None, site_id=site_id,
            category_id=command.category_id, text=command.text,
            resident_name=command.resident_name, contact=command.contact,
            submitted_by_id=None, source=Source.RESIDENT, submitted_at=now,
            status=QuestionStatus.QUEUED, position=await next_position(db, session.id),
            raised_live=False, reject_reason="", answer_summary="", changed_at=now,
            updated_at=now, version=1)
        db.add(question)
        await db.flush()
        for photo in photos:
            stored_photos.store(uploads_dir, photo)
            db.add(QuestionAttachment(
                question_id=question.id, sha256=photo.sha256, content_type=photo.content_type,
                size=photo.size, filename=f"photo-{photo.sha256[:8]}.jpg", uploaded_at=now,
                uploaded_by_id=None))
        await touch(db, session.id, clock=clock)
        receipt.question_id = question.id
        target, link = ("question", question.id), f"/legal/questions/{question.id}"
        title = N_("A resident filed legal question #%(id)s at %(site)s")
    db.add(receipt)
    await db.flush()
    if command.place or command.shares_location:
        db.add(ResidentPlace(receipt_id=receipt.id, place=command.place,
                             latitude=command.latitude, longitude=command.longitude))
    audit.record(db, at=now, actor_id=None, action=f"{target[0]}.resident_file",
                 target_type=target[0], target_id=target[1],
                 changes={"site_id": [None, site_id], "category_id": [None, command.category_id],
                          "photos": [None, len(photos)], "source": [None, "resident"]})
    recipients = await inbox.recipients(db, roles=(Role.HOST, Role.ADMIN), site_ids=[site_id])
    await inbox.deliver(db, recipients, inbox.Message(
        kind=f"{target[0]}.resident", title=title,
        params={"id": target[1], "site": site_name}, link=link,
        dedupe_key=f"{target[0]}:{target[1]}:resident"), clock=clock)
    return receipt
