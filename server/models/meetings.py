"""Ad-hoc meetings: the host calls some or all sites into a room now ("召集各站点");
and the documents shown on rooms' walls, to show again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

MEETING_ROOM_PREFIX = "meeting-"


def meeting_room(meeting_id: int) -> str:
    """The room of an ad-hoc meeting; programme rooms may not use this prefix."""
    return f"{MEETING_ROOM_PREFIX}{meeting_id}"


class Meeting(Base):
    """A meeting started now by a host, running until it is ended (``ended_at``)."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_street_ended", "street_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    title: Mapped[str] = mapped_column(String(100))
    # ``meeting-<id>``, set right after the id is known.
    room: Mapped[str] = mapped_column(String(32), default="")
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None]


class MeetingSite(Base):
    """A site called into a meeting, and when."""

    __tablename__ = "meeting_site"
    __table_args__ = (UniqueConstraint("meeting_id", "site_id"),
                      Index("ix_meeting_site_site", "site_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    called_at: Mapped[datetime]


class RoomDocument(Base):
    """A document shown on a room's wall, so that its presenters can show it again.

    ``document`` is the sha256 of the file, the name of its rendered pages' folder under
    ``var/documents/`` (server/meetings/documents.py); one row per room and document.
    """

    __tablename__ = "room_document"
    __table_args__ = (UniqueConstraint("room", "document"),
                      Index("ix_room_document_room_shown", "room", "shown_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    pages: Mapped[int]
    shown_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    shown_at: Mapped[datetime]
