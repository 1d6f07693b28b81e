"""Legal consultation questions: collected ahead of a session, reviewed, sent to the
department on duty as a packet, answered live; their files and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .residents import Source, source_enum


class QuestionStatus(enum.StrEnum):
    QUEUED = "queued"  # in its session's queue
    ANSWERED = "answered"  # closed with an outcome
    MERGED = "merged"  # a duplicate: the question it was merged into stands for it
    REJECTED = "rejected"  # with a reason the site sees


class Outcome(enum.StrEnum):
    LIVE = "live"  # answered live
    WRITTEN = "written"  # answered in writing later
    FOLLOW_UP = "follow_up"  # an on-site consultation or a mediation follows
    CARRIED_OVER = "carried_over"  # goes to the next session


class FollowUpKind(enum.StrEnum):
    ONSITE = "onsite"  # on-site consultation
    MEDIATION = "mediation"


class FollowUpStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class QuestionCategory(Base):
    """The administrator's list (邻里与物业, 婚姻家庭, 劳动, ...)."""

    __tablename__ = "question_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Question(Base):
    __tablename__ = "question"
    __table_args__ = (
        Index("ix_question_session_status", "session_id", "status"),
        Index("ix_question_site", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The session whose queue holds it.
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_session.id"))
    # The session the submitter chose, when it came after that session's cutoff.
    requested_session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_session.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("question_category.id"))
    text: Mapped[str] = mapped_column(String(2000))
    # None when the resident stays anonymous.
    resident_name: Mapped[str | None] = mapped_column(String(50))
    # Personal data: never shown to other sites.
    contact: Mapped[str] = mapped_column(String(100), default="")
    # None when the resident filed it from the site's QR page (`source` says so).
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[Source] = mapped_column(source_enum(), default=Source.STAFF)
    submitted_at: Mapped[datetime]
    status: Mapped[QuestionStatus] = mapped_column(_enum(QuestionStatus, "question_status"))
    # Queue order within the session (ties by id).
    position: Mapped[int] = mapped_column(default=0)
    raised_live: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    # Set while it is the question being answered; one per session at a time.
    answering_at: Mapped[datetime | None]
    answer_summary: Mapped[str] = mapped_column(String(1000), default="")
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome, "question_outcome"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None]
    # The last change a packet reader should notice (new, category, merge, rejection).
    changed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Compare-and-set: every change is UPDATE ... WHERE version = <the version read>.
    version: Mapped[int] = mapped_column(default=1)


class QuestionAttachment(Base):
    """A photo or PDF of a question; the file lives in var/uploads by content hash."""

    __tablename__ = "question_attachment"
    __table_args__ = (Index("ix_question_attachment_question", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(120), default="")
    uploaded_at: Mapped[datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class FollowUp(Base):
    """An on-site consultation or a mediation promised live, tracked to closure."""

    __tablename__ = "question_follow_up"
    __table_args__ = (Index("ix_question_follow_up_status", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), unique=True)
    kind: Mapped[FollowUpKind] = mapped_column(_enum(FollowUpKind, "follow_up_kind"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    due_on: Mapped[date]
    status: Mapped[FollowUpStatus] = mapped_column(_enum(FollowUpStatus, "follow_up_status"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class QuestionPacket(Base):
    """A session's packet, compiled at the cutoff; `version` rises with every later change."""

    __tablename__ = "question_packet"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_session.id"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    compiled_at: Mapped[datetime]
    compiled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime]


class PacketRead(Base):
    """When a reader last opened a packet: what changed after it is marked for them."""

    __tablename__ = "question_packet_read"
    __table_args__ = (UniqueConstraint("packet_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    packet_id: Mapped[int] = mapped_column(ForeignKey("question_packet.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    read_at: Mapped[datetime]
    read_version: Mapped[int]
