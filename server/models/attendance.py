"""Who was in a video room, from when to when: one row per stay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Attendance(Base):
    __tablename__ = "room_attendance"
    __table_args__ = (
        Index("ix_room_attendance_room_joined", "room", "joined_at"),
        Index("ix_room_attendance_open", "room", "participant_key", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(64))
    participant_key: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # the room role: host, speaker, site, observer
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]  # None while in the room (or if the server died)
    seconds: Mapped[int | None]
