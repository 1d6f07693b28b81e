"""Secret-token URLs for calendar feeds; only the token's hash is stored."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class FeedScope(enum.StrEnum):
    PROGRAMME = "programme"
    DEPARTMENT = "department"
    DEPUTY = "deputy"
    SITE = "site"


class FeedToken(Base):
    __tablename__ = "feed_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[FeedScope] = mapped_column(
        Enum(FeedScope, name="feed_scope", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    # The programme, department, deputy or site the feed is about.
    target_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
