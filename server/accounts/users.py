"""Accounts: sign-in, users and their roles, and device tokens for meeting-room PCs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import Actor, get
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.core.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_device_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from server.models import Department, Deputy, DeviceToken, Role, Site, User

USER_FIELDS = ("username", "display_name", "role", "site_id", "department_id", "deputy_id",
               "active")


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The signed-in user as the request edges see it; plain data, safe to pass around."""

    user_id: int
    username: str
    display_name: str
    role: Role
    site_id: int | None = None
    department_id: int | None = None
    deputy_id: int | None = None
    device_token_id: int | None = None

    @classmethod
    def of(cls, user: User, device_token_id: int | None = None) -> Principal:
        return cls(user_id=user.id, username=user.username, display_name=user.display_name,
                   role=user.role, site_id=user.site_id, department_id=user.department_id,
                   deputy_id=user.deputy_id, device_token_id=device_token_id)


async def authenticate(
    session: AsyncSession, username: str, password: str, *, clock: Clock
) -> Principal | None:
    user = await session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock()
    return Principal.of(user)


async def load_principal(
    session: AsyncSession, user_id: int, device_token_id: int | None = None
) -> Principal | None:
    """The principal for a session, or None when the user or its device token is gone."""
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return None
    if device_token_id is not None:
        token = await session.get(DeviceToken, device_token_id)
        if token is None or token.revoked_at is not None or token.user_id != user.id:
            return None
    return Principal.of(user, device_token_id)


async def principal_for_device_token(
    session: AsyncSession, token: str, *, clock: Clock
) -> Principal | None:
    row = await session.scalar(
        select(DeviceToken).where(DeviceToken.token_hash == token_digest(token))
    )
    if row is None or row.revoked_at is not None:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = clock()
    return Principal.of(user, row.id)


async def list_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.role, User.username)))


async def save_user(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    user_id: int | None = None,
) -> User:
    form = FieldReader(data)
    username = form.text("username", max_len=64)
    if username and not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        form.fail("username", N_("Use letters, digits, '.', '-' and '_'."))
    display_name = form.text("display_name", max_len=100)
    role = form.choice("role", Role)
    site_id = form.optional_id("site_id")
    department_id = form.optional_id("department_id")
    deputy_id = form.optional_id("deputy_id")
    password = str(data.get("password", ""))
    if (user_id is None or password) and len(password) < MIN_PASSWORD_LENGTH:
        form.fail("password", N_("At least 8 characters."))
    if username:
        stmt = select(func.count()).select_from(User).where(User.username == username)
        if user_id is not None:
            stmt = stmt.where(User.id != user_id)
        if await session.scalar(stmt):
            form.fail("username", N_("This user name is taken."))
    # A role's link must point at something that exists; other links are cleared.
    links: dict[str, tuple[Any, int | None]] = {
        "site_id": (Site, site_id), "department_id": (Department, department_id),
        "deputy_id": (Deputy, deputy_id),
    }
    needed = {Role.SITE: "site_id", Role.OFFICER: "department_id", Role.DEPUTY: "deputy_id"}
    wanted = needed.get(role) if role else None
    for field, (model, ident) in links.items():
        if field == wanted:
            if ident is None:
                form.fail(field, N_("This role needs this field."))
            elif await session.get(model, ident) is None:
                form.fail(field, N_("Choose one of the options."))
    form.check()
    assert role is not None
    user = await get(session, User, user_id) if user_id else None
    before = {f: getattr(user, f) for f in USER_FIELDS} if user else {}
    if user is None:
        user = User(username=username, display_name=display_name, role=role,
                    password_hash=hash_password(password), created_at=clock(), active=True)
        session.add(user)
    else:
        user.username, user.display_name, user.role = username, display_name, role
        if password:
            user.password_hash = hash_password(password)
    user.site_id = site_id if wanted == "site_id" else None
    user.department_id = department_id if wanted == "department_id" else None
    user.deputy_id = deputy_id if wanted == "deputy_id" else None
    await session.flush()
    changes = audit.diff(before, {f: getattr(user, f) for f in USER_FIELDS})
    if password and before:
        changes["password"] = ["***", "***"]
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="user.update" if before else "user.create", target_type="user",
                 target_id=user.id, changes=changes)
    return user


async def set_user_active(
    session: AsyncSession, user_id: int, active: bool, *, actor: Actor, clock: Clock
) -> None:
    user = await get(session, User, user_id)
    if user.id == actor.user_id and not active:
        raise ValidationFailed("You cannot deactivate your own account.")
    if user.active == active:
        return
    user.active = active
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="user.activate" if active else "user.deactivate", target_type="user",
                 target_id=user.id, changes={"active": [not active, active]})


async def issue_device_token(
    session: AsyncSession, user_id: int, label: str, *, actor: Actor, clock: Clock
) -> tuple[DeviceToken, str]:
    """Create a token for a site's PC; the clear token is returned once and never stored."""
    user = await get(session, User, user_id)
    if user.role is not Role.SITE:
        raise ValidationFailed("Device tokens are for site accounts only.")
    label = label.strip()
    if not label or len(label) > 100:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"label": N_("This field is required.")})
    token = new_device_token()
    row = DeviceToken(user_id=user.id, label=label, token_hash=token_digest(token),
                      created_at=clock(), created_by_id=actor.user_id)
    session.add(row)
    await session.flush()
    audit.record(session, at=clock(), actor_id=actor.user_id, action="device_token.issue",
                 target_type="device_token", target_id=row.id,
                 changes={"user": [None, user.username], "label": [None, label]})
    return row, token


async def revoke_device_token(
    session: AsyncSession, token_id: int, *, actor: Actor, clock: Clock
) -> None:
    row = await session.get(DeviceToken, token_id)
    if row is None:
        raise NotFound("Not found.")
    if row.revoked_at is not None:
        return
    row.revoked_at = clock()
    audit.record(session, at=clock(), actor_id=actor.user_id, action="device_token.revoke",
                 target_type="device_token", target_id=row.id)


async def list_device_tokens(session: AsyncSession) -> list[tuple[DeviceToken, User]]:
    rows = await session.execute(
        select(DeviceToken, User).join(User, User.id == DeviceToken.user_id)
        .order_by(DeviceToken.id.desc())
    )
    return [(t, u) for t, u in rows]
