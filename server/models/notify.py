"""Notices beyond the inbox: channels, who gets what, preferences, the outbox and its log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class NoticeChannel(Base):
    """One robot, mailbox or SMS account the administrator configured.

    ``scope`` says whose it is: a department's or a site's group, the street office's, or
    ``personal`` (e-mail and SMS to each person at their own address). Secrets are sealed
    with a key derived from YIZHAN_SECRET_KEY; only their last 4 characters are kept in clear.
    """

    __tablename__ = "notice_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    transport: Mapped[str] = mapped_column(String(16))  # wecom|dingtalk|email|sms|webhook
    scope: Mapped[str] = mapped_column(String(16))  # department|site|street|personal
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    address: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    secret_hints: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NoticeRoute(Base):
    """The administrator's choice of audiences for one notice kind (absent: the defaults)."""

    __tablename__ = "notice_route"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class NoticePreference(Base):
    """The personal transports a user accepts (absent: all of them)."""

    __tablename__ = "notice_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class OutboxEntry(Base):
    """One notice for one channel and recipient, written with the change that caused it.

    States: pending -> sending (claimed, with a lease) -> sent | pending (retry) | dead.
    The idempotency key (notice, channel, recipient) is unique: a job that runs again, or a
    second process, never adds a second row for the same delivery.
    """

    __tablename__ = "notice_outbox"
    __table_args__ = (Index("ix_notice_outbox_due", "state", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))  # English msgid, params below
    body: Mapped[str] = mapped_column(String(4000), default="")
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    channel_id: Mapped[int] = mapped_column(ForeignKey("notice_channel.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    address: Mapped[str] = mapped_column(String(254), default="")  # phone or e-mail
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DeliveryLogEntry(Base):
    """What happened to an outbox row: sent, failed (with the provider's words), retried."""

    __tablename__ = "notice_delivery_log"
    __table_args__ = (Index("ix_notice_delivery_log_outbox", "outbox_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notice_outbox.id"))
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500), default="")
