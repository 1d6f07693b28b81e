"""The administrator's word on working days: entries that win over the library's table."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CalendarDayKind(enum.StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


class CalendarDay(Base):
    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[CalendarDayKind] = mapped_column(
        Enum(CalendarDayKind, name="calendar_day_kind", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    name: Mapped[str] = mapped_column(String(100))
    source_notice: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CalendarYear(Base):
    """A year whose whole arrangement the administrator has entered."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source_notice: Mapped[str] = mapped_column(String(200), default="")
    completed_at: Mapped[datetime]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
