"""Who may sign in, in which role, and the meeting-room PCs' device tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Role(enum.StrEnum):
    ADMIN = "admin"
    HOST = "host"
    SITE = "site"
    OFFICER = "officer"
    DEPUTY = "deputy"


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role != 'site' OR site_id IS NOT NULL", name="site_role_has_site"),
        CheckConstraint(
            "role != 'officer' OR department_id IS NOT NULL", name="officer_has_department"
        ),
        CheckConstraint("role != 'deputy' OR deputy_id IS NOT NULL", name="deputy_has_deputy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e])
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputy.id"))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Personal notices (docs/notices.md): SMS for people in no group, e-mail if they wish.
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Stored in the cookie session at sign-in and compared on every request: bumping it
    # (sign-out, new password, deactivation, reactivation) ends every older cookie session.
    session_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class DeviceToken(Base):
    """A long-lived sign-in for a site's meeting-room PC; only its hash is stored."""

    __tablename__ = "device_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins counted per account name and per client address.

    Kept in the database, not in memory, so the backoff survives a restart and holds across
    every process that serves the same street. The key is ``account:<name>`` (whether or not
    such a user exists) or ``address:<ip>``.
    """

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
