"""Recordings of the video rooms: the files the recorder wrote, and the retention policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Recording(Base):
    """One WebM file and its event index in the recordings folder (``file`` is its name)."""

    __tablename__ = "recording"
    __table_args__ = (Index("ix_recording_room_started", "room", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(String(200), unique=True)
    index_file: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(Float)
    # The programme session whose window covers the recording, if any.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_session.id"))
    # Written by a server that stopped during the recording (its index rebuilt from the
    # journal).
    recovered: Mapped[bool] = mapped_column(default=False)
    registered_at: Mapped[datetime]
    # The retention job deleted the file and its index; the row stays for the record.
    deleted_at: Mapped[datetime | None]


class RecordingMark(Base):
    """A question's place in a recording: where "watch this answer" seeks to."""

    __tablename__ = "recording_mark"
    __table_args__ = (Index("ix_recording_mark_question", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    label: Mapped[str] = mapped_column(String(64))  # the marker: now-answering, ...
    offset_s: Mapped[float] = mapped_column(Float)


class RecordingPolicy(Base):
    """How long recordings are kept: one row, set by the administrator."""

    __tablename__ = "recording_policy"
    __table_args__ = (CheckConstraint("keep_days >= 1", name="keep_days_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    keep_days: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
