"""Residents' own channel: each site's QR code, and the receipt a resident keeps.

A resident files an opinion or a legal question without an account, from the page its
site's QR code leads to (`SiteCode`). What they get back is a `ResidentReceipt`: a short
code that opens the item's status page, and on which they rate the result.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Float, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Source(enum.StrEnum):
    """Who put an item into Yizhan: staff at a desk, or the resident from a phone."""

    STAFF = "staff"
    RESIDENT = "resident"


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


def source_enum() -> Enum:
    return Enum(Source, name="item_source", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class SiteCode(Base):
    """The token in a site's QR code. Rotating it retires the old one (it then says it moved)."""

    __tablename__ = "site_code"
    __table_args__ = (Index("ix_site_code_site", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("site_code.id"))


class ResidentReceipt(Base):
    """What a resident keeps after filing: the code, and their rating of the result.

    Exactly one of `opinion_id` and `question_id` is set. `idempotency_key` comes from the
    page, so a double tap or a retried upload files the item once and gets the same code.
    """

    __tablename__ = "resident_receipt"
    __table_args__ = (
        Index("ix_resident_receipt_opinion", "opinion_id"),
        Index("ix_resident_receipt_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    opinion_id: Mapped[int | None] = mapped_column(ForeignKey("opinion.id"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    created_at: Mapped[datetime]
    consent_at: Mapped[datetime]  # the personal-information notice was agreed to
    # The resident ticked "tell me when answered": an SMS or e-mail to the item's contact.
    notify: Mapped[bool] = mapped_column(default=False, server_default=false())
    satisfaction: Mapped[Satisfaction | None] = mapped_column(
        Enum(Satisfaction, name="satisfaction", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    satisfaction_note: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime | None]


class ResidentPlace(Base):
    """Where in the community a resident's item is: words, and the phone's position when shared."""

    __tablename__ = "resident_place"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("resident_receipt.id"), unique=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
