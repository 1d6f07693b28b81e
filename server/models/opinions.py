"""Residents' opinion items (民意), their timeline and photos, and the category list."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .residents import Source, source_enum


class OpinionStatus(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    REJECTED = "rejected"
    TERMINATED = "terminated"


def _status_enum(name: str) -> Enum:
    return Enum(OpinionStatus, name=name, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class OpinionCategory(Base):
    """The administrator's list of categories (设施维修, 环境卫生, ...)."""

    __tablename__ = "opinion_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Opinion(Base):
    __tablename__ = "opinion"
    __table_args__ = (
        Index("ix_opinion_status_due", "status", "due_at"),
        Index("ix_opinion_site", "site_id"),
        Index("ix_opinion_department", "department_id"),
        Index("ix_opinion_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(1000))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("opinion_category.id"))
    # None when the resident stays anonymous.
    resident_name: Mapped[str | None] = mapped_column(String(50))
    # Personal data: only the item's site, the street office and the assigned department see it.
    contact: Mapped[str] = mapped_column(String(100), default="")
    # None when the resident filed it from the site's QR page (`source` says so).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[Source] = mapped_column(source_enum(), default=Source.STAFF)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputy.id"))
    status: Mapped[OpinionStatus] = mapped_column(_status_enum("opinion_status"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # The last working day to act on (shown to people) and the instant it becomes overdue.
    due_day: Mapped[date | None]
    due_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # First known to be past a deadline; kept as history once set.
    overdue_at: Mapped[datetime | None]
    # Escalated to the street office for the current deadline; cleared by a new deadline.
    escalated_at: Mapped[datetime | None]
    # What the site sees: the result, or the reason for rejecting or terminating.
    public_note: Mapped[str] = mapped_column(String(1000), default="")
    # A duplicate merged into another item about the same matter (status: rejected).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("opinion.id"))
    updated_at: Mapped[datetime]
    # Compare-and-set: every change is UPDATE ... WHERE version = <the version read>.
    version: Mapped[int] = mapped_column(default=1)


class OpinionEvent(Base):
    """One line of an item's timeline: who, when, what, with a note."""

    __tablename__ = "opinion_event"
    __table_args__ = (Index("ix_opinion_event_opinion", "opinion_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"))
    at: Mapped[datetime]
    # None for the supervision job.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[OpinionStatus | None] = mapped_column(_status_enum("opinion_status"))
    to_status: Mapped[OpinionStatus | None] = mapped_column(_status_enum("opinion_status"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    due_day: Mapped[date | None]


class OpinionPhoto(Base):
    """A photo of an item or of its progress; the file lives in var/uploads by content hash."""

    __tablename__ = "opinion_photo"
    __table_args__ = (Index("ix_opinion_photo_opinion", "opinion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinion.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("opinion_event.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    uploaded_at: Mapped[datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
