"""Record changes in the audit log inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, object]:
    """Fields that changed, as {field: [old, new]}; secrets never reach the log."""
    out: dict[str, object] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            if "password" in key or "token" in key:
                out[key] = ["***", "***"]
            else:
                out[key] = [_plain(old), _plain(new)]
    return out


def record(
    db: AsyncSession,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    changes: dict[str, object] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        changes=changes or {},
    )
    db.add(entry)
    return entry


async def recent(db: AsyncSession, limit: int = 100) -> list[AuditEntry]:
    rows = await db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return list(rows)
