"""Chat messages written in a video room, kept with the session they were written in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class RoomChatMessage(Base):
    __tablename__ = "room_chat_message"
    __table_args__ = (
        Index("ix_room_chat_message_room_sent", "room", "sent_at"),
        Index("ix_room_chat_message_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The room's own id for the message (what pages and the delete message name).
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    room: Mapped[str] = mapped_column(String(64))
    # The programme session whose room window (opening to closing grace) held sent_at;
    # None outside any (an ad-hoc meeting joins later by room and sent_at).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_session.id"))
    participant_key: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # the room role: host, speaker, site, observer
    audience: Mapped[str] = mapped_column(String(8))  # all, hosts
    text: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    deleted_by_key: Mapped[str | None] = mapped_column(String(128))
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The live question a site made of it (server.meetings.chat_questions), once.
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"), unique=True)
