"""Calendar feeds behind secret-token URLs, for calendar apps that cannot sign in.

The token is the credential: only its SHA-256 is stored, it is shown once, and an
administrator revokes it. A feed lists sessions from `LOOKBACK` ago to its programmes'
horizon; every session keeps its UID (`session-<id>@yizhan`) and carries its sequence
counter as SEQUENCE; sessions that will not take place stay in the feed as CANCELLED, so
subscribed calendars drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from scheduling.feeds import FeedEvent, FeedStatus, build_feed, session_uid
from scheduling.planner import SessionStatus
from server.accounts.directory import Actor
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.core.security import new_device_token, token_digest
from server.models import (
    Department,
    Deputy,
    FeedScope,
    FeedToken,
    Programme,
    ProgrammeSession,
    Site,
    UnitKind,
)
from server.schedule.units import units_of_kind

LOOKBACK = timedelta(days=90)


async def _target_name(db: AsyncSession, scope: FeedScope, target_id: int) -> str | None:
    obj: Programme | Department | Deputy | Site | None
    if scope is FeedScope.PROGRAMME:
        obj = await db.get(Programme, target_id)
    elif scope is FeedScope.DEPARTMENT:
        obj = await db.get(Department, target_id)
    elif scope is FeedScope.DEPUTY:
        obj = await db.get(Deputy, target_id)
    else:
        obj = await db.get(Site, target_id)
    return None if obj is None else obj.name


@dataclass(frozen=True, kw_only=True)
class FeedTokenRequest:
    """What a new feed URL covers (a programme, department, deputy or site) and its label."""

    scope: FeedScope
    target_id: int
    label: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> FeedTokenRequest:
        form = FieldReader(data)
        scope = form.choice("scope", FeedScope)
        target_id = form.id("target_id")
        label = form.line("label", max_len=100)
        form.check()
        assert scope is not None  # form.check() raised otherwise
        return cls(scope=scope, target_id=target_id, label=label)


async def issue_token(
    db: AsyncSession, command: FeedTokenRequest, *, actor: Actor, clock: Clock,
) -> tuple[FeedToken, str]:
    """A new feed URL's token; the clear token is returned once and never stored."""
    scope, target_id, label = command.scope, command.target_id, command.label
    if await _target_name(db, scope, target_id) is None:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "target_id": N_("Choose one of the options.")})
    token = new_device_token()
    row = FeedToken(scope=scope, target_id=target_id, label=label,
                    token_hash=token_digest(token), created_at=clock(),
                    created_by_id=actor.user_id)
    db.add(row)
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id, action="feed_token.issue",
                 target_type="feed_token", target_id=row.id,
                 changes={"scope": [None, scope.value], "target": [None, target_id],
                          "label": [None, label]})
    return row, token


async def revoke_token(db: AsyncSession, token_id: int, *, actor: Actor, clock: Clock) -> None:
    row = await db.get(FeedToken, token_id)
    if row is None:
        raise NotFound("Not found.")
    if row.revoked_at is None:
        row.revoked_at = clock()
        audit.record(db, at=clock(), actor_id=actor.user_id, action="feed_token.revoke",
                     target_type="feed_token", target_id=row.id)


@dataclass(frozen=True)
class TokenView:
    id: int
    scope: str
    target: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


async def list_tokens(db: AsyncSession) -> list[TokenView]:
    out = []
    for row in await db.scalars(select(FeedToken).order_by(FeedToken.id.desc())):
        out.append(TokenView(id=row.id, scope=row.scope.value,
                             target=await _target_name(db, row.scope, row.target_id) or "—",
                             label=row.label, created_at=row.created_at,
                             last_used_at=row.last_used_at, revoked=row.revoked_at is not None))
    return out


async def feed_for_token(db: AsyncSession, token: str, *, clock: Clock,
                         timezone: str) -> bytes:
    """The feed's bytes, or NotFound for an unknown or revoked token."""
    row = await db.scalar(select(FeedToken).where(FeedToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        raise NotFound("Not found.")
    name = await _target_name(db, row.scope, row.target_id)
    if name is None:
        raise NotFound("Not found.")
    row.last_used_at = clock()
    stmt = (select(ProgrammeSession, Programme)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(ProgrammeSession.starts_at >= utc(clock()) - LOOKBACK)
            .order_by(ProgrammeSession.starts_at, ProgrammeSession.id))
    if row.scope is FeedScope.PROGRAMME:
        stmt = stmt.where(Programme.id == row.target_id)
    elif row.scope is FeedScope.DEPARTMENT:
        stmt = stmt.where(ProgrammeSession.department_id == row.target_id)
    elif row.scope is FeedScope.DEPUTY:
        stmt = stmt.where(ProgrammeSession.deputy_id == row.target_id)
    # A site takes part in every session: its feed is the whole street's.
    pairs = [(s, p) for s, p in await db.execute(stmt)]
    units = {kind: await units_of_kind(db, kind) for kind in UnitKind}
    events = []
    for sitting, programme in pairs:
        unit = units[programme.unit_kind].get(sitting.unit_id or 0)
        summary = f"{programme.name} · {unit.name}" if unit else programme.name
        held = sitting.status is SessionStatus.PLANNED
        events.append(FeedEvent(
            uid=session_uid(sitting.id), sequence=sitting.sequence, summary=summary,
            start=sitting.starts_at, end=sitting.ends_at, last_modified=sitting.updated_at,
            status=FeedStatus.CONFIRMED if held else FeedStatus.CANCELLED,
            description=sitting.cancel_reason if not held else "",
            location=programme.room))
    try:
        return build_feed(events, name=f"{name} · 驿站", timezone=timezone)
    except ValueError as exc:  # pragma: no cover - every field above is checked already
        raise ValidationFailed("The feed cannot be built.") from exc
