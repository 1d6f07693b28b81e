"""Accounts: users and their roles, their sessions, and device tokens for meeting-room PCs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import Actor, get
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.security import new_device_token, token_digest
from server.models import Department, Deputy, DeviceToken, Role, Site, User

USER_FIELDS = ("username", "display_name", "role", "site_id", "department_id", "deputy_id",
               "active")
# The one link each role needs; the user's other links are cleared.
ROLE_LINKS = {Role.SITE: "site_id", Role.OFFICER: "department_id", Role.DEPUTY: "deputy_id"}


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
    session_generation: int = 0

    @classmethod
    def of(cls, user: User, device_token_id: int | None = None) -> Principal:
        return cls(user_id=user.id, username=user.username, display_name=user.display_name,
                   role=user.role, site_id=user.site_id, department_id=user.department_id,
                   deputy_id=user.deputy_id, device_token_id=device_token_id,
                   session_generation=user.session_generation)


@dataclass(frozen=True, kw_only=True)
class SaveUser:
    """A user as the administrator submitted it, parsed and bounded by the edge.

    ``password_hash`` is the new password's argon2 hash, computed by the edge off the event
    loop before the transaction opens; None keeps the current password (not allowed for a
    new user).
    """

    username: str
    display_name: str
    role: Role
    site_id: int | None = None
    department_id: int | None = None
    deputy_id: int | None = None
    password_hash: str | None = None

    def link(self, name: str) -> int | None:
        return {"site_id": self.site_id, "department_id": self.department_id,
                "deputy_id": self.deputy_id}[name]


def missing_link(role: Role, links: Mapping[str, int | None]) -> str | None:
    """The field a role needs that is empty, if any."""
    wanted = ROLE_LINKS.get(role)
    return wanted if wanted is not None and links.get(wanted) is None else None


async def load_principal(
    db: AsyncSession, user_id: int, device_token_id: int | None = None,
    session_generation: int | None = None,
) -> Principal | None:
    """The principal for a session, or None when the user, its device token or the
    session's generation is gone (``session_generation`` None: not a cookie session)."""
    user = await db.get(User, user_id)
    if user is None or not user.active:
        return None
    if session_generation is not None and session_generation != user.session_generation:
        return None
    if device_token_id is not None:
        token = await db.get(DeviceToken, device_token_id)
        if token is None or token.revoked_at is not None or token.user_id != user.id:
            return None
    return Principal.of(user, device_token_id)


async def end_sessions(db: AsyncSession, user_id: int) -> None:
    """Every cookie session of this user signed in before now stops working."""
    await db.execute(update(User).where(User.id == user_id)
                     .values(session_generation=User.session_generation + 1))


async def principal_for_device_token(
    db: AsyncSession, token: str, *, clock: Clock
) -> Principal | None:
    row = await db.scalar(
        select(DeviceToken).where(DeviceToken.token_hash == token_digest(token))
    )
    if row is None or row.revoked_at is not None:
        return None
    user = await db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = clock()
    return Principal.of(user, row.id)


async def list_users(db: AsyncSession) -> list[User]:
    return list(await db.scalars(select(User).order_by(User.role, User.username)))


async def save_user(
    db: AsyncSession, command: SaveUser, *, actor: Actor, clock: Clock,
    user_id: int | None = None,
) -> User:
    errors: dict[str, str] = {}
    if user_id is None and command.password_hash is None:
        errors["password"] = N_("At least 8 characters.")
    stmt = select(func.count()).select_from(User).where(User.username == command.username)
    if user_id is not None:
        stmt = stmt.where(User.id != user_id)
    if await db.scalar(stmt):
        errors["username"] = N_("This user name is taken.")
    # A role's link must point at something that exists; other links are cleared.
    wanted = ROLE_LINKS.get(command.role)
    models: dict[str, Any] = {"site_id": Site, "department_id": Department,
                              "deputy_id": Deputy}
    if wanted is not None:
        ident = command.link(wanted)
        if ident is None:
            errors[wanted] = N_("This role needs this field.")
        elif await db.get(models[wanted], ident) is None:
            errors[wanted] = N_("Choose one of the options.")
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    user = await get(db, User, user_id) if user_id else None
    before = {f: getattr(user, f) for f in USER_FIELDS} if user else {}
    if user is None:
        user = User(username=command.username, display_name=command.display_name,
                    role=command.role, password_hash=command.password_hash or "",
                    created_at=clock(), active=True, session_generation=0)
        db.add(user)
    else:
        user.username, user.display_name = command.username, command.display_name
        user.role = command.role
        if command.password_hash is not None:
            user.password_hash = command.password_hash
            # A new password ends every session signed in with the old one.
            user.session_generation += 1
    user.site_id = command.site_id if wanted == "site_id" else None
    user.department_id = command.department_id if wanted == "department_id" else None
    user.deputy_id = command.deputy_id if wanted == "deputy_id" else None
    await db.flush()
    changes = audit.diff(before, {f: getattr(user, f) for f in USER_FIELDS})
    if command.password_hash is not None and before:
        changes["password"] = ["***", "***"]
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="user.update" if before else "user.create", target_type="user",
                 target_id=user.id, changes=changes)
    return user


async def set_user_active(
    db: AsyncSession, user_id: int, active: bool, *, actor: Actor, clock: Clock
) -> None:
    user = await get(db, User, user_id)
    if user.id == actor.user_id and not active:
        raise ValidationFailed("You cannot deactivate your own account.")
    if user.active == active:
        return
    user.active = active
    # Either way every older cookie session ends: reactivating an account must not bring
    # back the sessions it had before it was deactivated.
    user.session_generation += 1
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="user.activate" if active else "user.deactivate", target_type="user",
                 target_id=user.id, changes={"active": [not active, active]})


async def issue_device_token(
    db: AsyncSession, user_id: int, label: str, *, actor: Actor, clock: Clock
) -> tuple[DeviceToken, str]:
    """Create a token for a site's PC; the clear token is returned once and never stored."""
    user = await get(db, User, user_id)
    if user.role is not Role.SITE:
        raise ValidationFailed("Device tokens are for site accounts only.")
    label = label.strip()
    if not label or len(label) > 100:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"label": N_("This field is required.")})
    token = new_device_token()
    row = DeviceToken(user_id=user.id, label=label, token_hash=token_digest(token),
                      created_at=clock(), created_by_id=actor.user_id)
    db.add(row)
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id, action="device_token.issue",
                 target_type="device_token", target_id=row.id,
                 changes={"user": [None, user.username], "label": [None, label]})
    return row, token


async def revoke_device_token(
    db: AsyncSession, token_id: int, *, actor: Actor, clock: Clock
) -> None:
    row = await db.get(DeviceToken, token_id)
    if row is None:
        raise NotFound("Not found.")
    if row.revoked_at is not None:
        return
    row.revoked_at = clock()
    audit.record(db, at=clock(), actor_id=actor.user_id, action="device_token.revoke",
                 target_type="device_token", target_id=row.id)


async def list_device_tokens(db: AsyncSession) -> list[tuple[DeviceToken, User]]:
    rows = await db.execute(
        select(DeviceToken, User).join(User, User.id == DeviceToken.user_id)
        .order_by(DeviceToken.id.desc())
    )
    return [(t, u) for t, u in rows]
