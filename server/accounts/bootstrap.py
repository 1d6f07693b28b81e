"""A real street's first start: the street and its first administrator."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.security import MIN_PASSWORD_LENGTH, hash_password
from server.demo.street import the_street_or_none
from server.models import Role, Street, User


async def create_street_and_admin(
    db: AsyncSession, *, street: str, username: str, password: str, clock: Clock
) -> str | None:
    """Create both in an empty database; returns why not, or None on success."""
    if await the_street_or_none(db) is not None:
        return "the database already has a street; sign in and use the admin pages"
    street = street.strip()
    if not street or len(street) > 100:
        return "the street's name must be 1-100 characters"
    if not username.strip() or len(username) > 64:
        return "the user name must be 1-64 characters"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    now = clock().astimezone(UTC)
    row = Street(name=street, is_demo=False, created_at=now)
    db.add(row)
    admin = User(username=username.strip(), display_name=username.strip(), role=Role.ADMIN,
                 password_hash=hash_password(password), created_at=now, active=True)
    db.add(admin)
    await db.flush()
    audit.record(db, at=now, actor_id=None, action="street.setup", target_type="street",
                 target_id=row.id, changes={"admin": [None, admin.username]})
    return None
