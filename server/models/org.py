"""The street and who takes part: sites, legal departments, deputies."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SiteKind(enum.StrEnum):
    VILLAGE = "village"
    COMMUNITY = "community"


class DeputyKind(enum.StrEnum):
    PEOPLES_CONGRESS = "peoples_congress"  # 人大代表
    CPPCC = "cppcc"  # 政协委员


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=32,
                values_callable=lambda e: [m.value for m in e])


class Street(Base):
    __tablename__ = "street"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class Site(Base):
    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("street_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[SiteKind] = mapped_column(_enum(SiteKind, "site_kind"))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Department(Base):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("street_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    is_legal: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


class Deputy(Base):
    __tablename__ = "deputy"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[DeputyKind] = mapped_column(_enum(DeputyKind, "deputy_kind"))
    title: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
