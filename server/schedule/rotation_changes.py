"""Swaps and overrides of the rotation: who asks, who decides, and what it does.

* A **swap** exchanges the units of two sessions of one programme. One side asks (an
  officer of the department on duty, or the deputy on duty, of either session); the other
  side accepts or rejects. The street office (admin, host) may decide any request, and what
  it asks for itself applies at once.
* An **override** gives one session to another unit. The unit on duty (or the street
  office) asks; the unit named to take it, or the street office, decides.

Accepted changes feed the rotation (`RotationState.overrides` / `.swaps`) and the
programme is re-planned. Deciding takes the request's `version`: when two people decide at
once, the second gets a conflict instead of overwriting the first.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from scheduling.clock import utc, zone
from scheduling.planner import SessionStatus
from server.accounts.directory import get
from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock, moment_label
from server.core.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.models import (
    ChangeKind,
    ChangeStatus,
    Programme,
    ProgrammeSession,
    Question,
    QuestionStatus,
    Role,
    RotationChange,
    UnitKind,
    User,
)
from server.notify import inbox
from server.notify.notices import Notice, deliver, host_users, site_users, unit_users
from server.schedule.planning import ReplanResult, replan
from server.schedule.programme_sessions import read_version
from server.schedule.units import Unit, duty_candidates, units_of_kind

STREET_OFFICE = frozenset({Role.ADMIN, Role.HOST})


def own_unit(principal: Principal, kind: UnitKind) -> int | None:
    """The unit a principal speaks for on a programme of this kind, if any."""
    if kind is UnitKind.DEPARTMENT and principal.role is Role.OFFICER:
        return principal.department_id
    if kind is UnitKind.DEPUTY and principal.role is Role.DEPUTY:
        return principal.deputy_id
    return None


def _ahead(row: ProgrammeSession, now: datetime) -> None:
    if utc(row.starts_at) <= now:
        raise ValidationFailed("This session has already taken place.")
    if row.status is not SessionStatus.PLANNED:
        raise ValidationFailed("This session does not take place.")


async def _loaded(db: AsyncSession, session_id: int) -> tuple[ProgrammeSession, Programme]:
    row = await get(db, ProgrammeSession, session_id)
    return row, await get(db, Programme, row.programme_id)


@dataclass(frozen=True, kw_only=True)
class SwapRequest:
    """Ask to exchange the units of this session and `other_session_id`."""

    other_session_id: int
    reason: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> SwapRequest:
        form = FieldReader(data)
        other_id = form.id("other_session_id")
        reason = form.text("reason", max_len=500)
        form.check()
        return cls(other_session_id=other_id, reason=reason)


@dataclass(frozen=True, kw_only=True)
class OverrideRequest:
    """Ask the unit `unit_id` to take this session."""

    unit_id: int
    reason: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> OverrideRequest:
        form = FieldReader(data)
        unit_id = form.id("unit_id")
        reason = form.text("reason", max_len=500)
        form.check()
        return cls(unit_id=unit_id, reason=reason)


class Decision(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"


@dataclass(frozen=True, kw_only=True)
class ChangeDecision:
    """A decision on a pending request, with the request's version the person saw."""

    decision: Decision
    version: int | None

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> ChangeDecision:
        form = FieldReader(data)
        decision = form.choice("decision", Decision)
        form.check()
        assert decision is not None  # form.check() raised otherwise
        return cls(decision=decision, version=read_version(data))


async def request_swap(
    db: AsyncSession, session_id: int, command: SwapRequest, *, principal: Principal,
    clock: Clock,
) -> tuple[RotationChange, ReplanResult, list[Notice]]:
    row, programme = await _loaded(db, session_id)
    other_id, reason = command.other_session_id, command.reason
    other = await db.get(ProgrammeSession, other_id)
    if other is None or other.programme_id != row.programme_id or other.id == row.id:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "other_session_id": N_("Choose another session of the same programme.")})
    now = utc(clock())
    _ahead(row, now)
    _ahead(other, now)
    if row.unit_id is None or other.unit_id is None or row.unit_id == other.unit_id:
        raise ValidationFailed("Both sessions need different units on duty to swap.")
    mine = own_unit(principal, programme.unit_kind)
    office = principal.role in STREET_OFFICE
    if not office and mine not in (row.unit_id, other.unit_id):
        raise Forbidden("Only the units on duty for these sessions may ask to swap them.")
    if not office and mine == other.unit_id:
        row, other = other, row  # the requester's own session comes first
    change = RotationChange(
        programme_id=programme.id, kind=ChangeKind.SWAP, status=ChangeStatus.PENDING,
        session_id=row.id, session_unit_id=row.unit_id, other_session_id=other.id,
        other_unit_id=other.unit_id, reason=reason, requested_by_id=principal.user_id,
        requested_by_unit_id=None if office else mine, requested_at=now)
    return await _filed(db, change, programme, principal=principal, clock=clock)


async def request_override(
    db: AsyncSession, session_id: int, command: OverrideRequest, *, principal: Principal,
    clock: Clock,
) -> tuple[RotationChange, ReplanResult, list[Notice]]:
    row, programme = await _loaded(db, session_id)
    unit_id, reason = command.unit_id, command.reason
    units = await duty_candidates(db, programme.unit_kind)
    refused = (N_("Choose one of the options.") if unit_id not in units else
               N_("This unit is deactivated.") if not units[unit_id].active else
               N_("This unit is already on duty for the session.") if unit_id == row.unit_id
               else None)
    if refused is not None:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={"unit_id": refused})
    now = utc(clock())
    _ahead(row, now)
    mine = own_unit(principal, programme.unit_kind)
    office = principal.role in STREET_OFFICE
    if not office and (mine is None or mine != row.unit_id):
        raise Forbidden("Only the unit on duty may ask another unit to take its session.")
    change = RotationChange(
        programme_id=programme.id, kind=ChangeKind.OVERRIDE, status=ChangeStatus.PENDING,
        session_id=row.id, session_unit_id=row.unit_id, target_unit_id=unit_id, reason=reason,
        requested_by_id=principal.user_id, requested_by_unit_id=None if office else mine,
        requested_at=now)
    return await _filed(db, change, programme, principal=principal, clock=clock)


async def _filed(
    db: AsyncSession, change: RotationChange, programme: Programme, *, principal: Principal,
    clock: Clock,
) -> tuple[RotationChange, ReplanResult, list[Notice]]:
    db.add(change)
    await db.flush()
    audit.record(db, at=change.requested_at, actor_id=principal.user_id,
                 action=f"rotation.{change.kind.value}.request", target_type="rotation_change",
                 target_id=change.id, changes={"session": [None, change.session_id],
                                               "reason": [None, change.reason]})
    if principal.role in STREET_OFFICE:
        result = await _accept(db, change, programme, principal=principal, clock=clock)
        return change, result, [*await _tell_handover(db, change, programme, clock=clock),
                                *await _tell_requester(db, change, programme, clock=clock)]
    deciders = {*await unit_users(db, programme.unit_kind, _other_side(change)),
                *await host_users(db)}
    notice = await deliver(db, deciders, inbox.Message(
        kind=f"rotation.{change.kind.value}.requested",
        title=N_("%(requester)s asks for a change of duty in %(programme)s")
        if change.kind is ChangeKind.OVERRIDE else
        N_("%(requester)s asks to swap duty in %(programme)s"),
        body=change.reason, params={"requester": principal.display_name,
                                    "programme": programme.name},
        link="/schedule/changes", dedupe_key=f"change:{change.id}:requested"), clock=clock)
    return change, ReplanResult(), [notice] if notice else []


def _other_side(change: RotationChange) -> int | None:
    """The unit that decides: the other session's for a swap, the taker's for an override."""
    if change.kind is ChangeKind.OVERRIDE:
        return change.target_unit_id
    if change.requested_by_unit_id == change.other_unit_id:
        return change.session_unit_id
    return change.other_unit_id


def may_decide(principal: Principal, change: RotationChange, kind: UnitKind) -> bool:
    if principal.role in STREET_OFFICE:
        return True
    side = _other_side(change)
    return side is not None and own_unit(principal, kind) == side


async def decide(
    db: AsyncSession, change_id: int, command: ChangeDecision, *, principal: Principal,
    clock: Clock,
) -> tuple[ReplanResult, list[Notice]]:
    """Accept, reject or withdraw a pending request."""
    change = await db.get(RotationChange, change_id)
    if change is None:
        raise NotFound("Not found.")
    programme = await get(db, Programme, change.programme_id)
    if command.version != change.version:
        raise Conflict("This request changed meanwhile. Please reload and try again.")
    if change.status is not ChangeStatus.PENDING:
        raise Conflict("This request has already been decided.")
    action = command.decision.value
    if command.decision is Decision.WITHDRAW:
        if principal.user_id != change.requested_by_id:
            raise Forbidden("Only who asked may withdraw a request.")
        change.status = ChangeStatus.WITHDRAWN
    elif not may_decide(principal, change, programme.unit_kind):
        raise Forbidden("You are not a party to this request.")
    elif command.decision is Decision.REJECT:
        change.status = ChangeStatus.REJECTED
    result, handover = ReplanResult(), []
    if command.decision is Decision.ACCEPT:
        result = await _accept(db, change, programme, principal=principal, clock=clock)
        handover = await _tell_handover(db, change, programme, clock=clock)
    else:
        change.decided_by_id, change.decided_at = principal.user_id, utc(clock())
        await _flush(db)
    audit.record(db, at=utc(clock()), actor_id=principal.user_id,
                 action=f"rotation.{change.kind.value}.{action}",
                 target_type="rotation_change", target_id=change.id,
                 changes={"status": ["pending", change.status.value]})
    return result, [*handover, *await _tell_requester(db, change, programme, clock=clock)]


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as exc:
        raise Conflict("This request changed meanwhile. Please reload and try again.") from exc


async def _accept(
    db: AsyncSession, change: RotationChange, programme: Programme, *, principal: Principal,
    clock: Clock,
) -> ReplanResult:
    now = utc(clock())
    row = await get(db, ProgrammeSession, change.session_id)
    _ahead(row, now)
    if row.unit_id != change.session_unit_id:
        raise Conflict("The sessions changed since the request. Please ask again.")
    if change.kind is ChangeKind.SWAP:
        other = await get(db, ProgrammeSession, change.other_session_id or 0)
        _ahead(other, now)
        if other.unit_id != change.other_unit_id:
            raise Conflict("The sessions changed since the request. Please ask again.")
    else:
        earlier = await db.scalars(select(RotationChange).where(
            RotationChange.session_id == row.id, RotationChange.kind == ChangeKind.OVERRIDE,
            RotationChange.status == ChangeStatus.ACCEPTED, RotationChange.id != change.id))
        for old in earlier:
            old.status = ChangeStatus.SUPERSEDED
    change.status = ChangeStatus.ACCEPTED
    change.decided_by_id, change.decided_at = principal.user_id, now
    await _flush(db)
    return await replan(db, programme.id, clock=clock, actor_id=principal.user_id)


async def _tell_requester(
    db: AsyncSession, change: RotationChange, programme: Programme, *, clock: Clock,
) -> list[Notice]:
    titles = {ChangeStatus.ACCEPTED: N_("Your request in %(programme)s was accepted"),
              ChangeStatus.REJECTED: N_("Your request in %(programme)s was rejected"),
              ChangeStatus.WITHDRAWN: N_("A request in %(programme)s was withdrawn")}
    if change.status is ChangeStatus.WITHDRAWN:
        people = set(await unit_users(db, programme.unit_kind, _other_side(change)))
    elif change.decided_by_id == change.requested_by_id:
        return []  # the street office decided its own request
    else:
        people = {change.requested_by_id}
    notice = await deliver(db, people, inbox.Message(
        kind=f"rotation.{change.kind.value}.{change.status.value}",
        title=titles[change.status], params={"programme": programme.name},
        link="/schedule/changes", dedupe_key=f"change:{change.id}:{change.status.value}"),
        clock=clock)
    return [notice] if notice else []


async def collected(db: AsyncSession, session_id: int) -> int:
    """Questions in a session's queue: they follow the session to whoever takes it."""
    return await db.scalar(select(func.count()).select_from(Question).where(
        Question.session_id == session_id, Question.status == QuestionStatus.QUEUED)) or 0


async def _tell_handover(
    db: AsyncSession, change: RotationChange, programme: Programme, *, clock: Clock,
) -> list[Notice]:
    """An accepted change, told to both units and to every site: who now takes which
    session, and that the questions collected for it go along to the new unit."""
    units = await units_of_kind(db, programme.unit_kind)
    tz = zone(programme.timezone)

    def unit_name(unit_id: int | None) -> str:
        unit = units.get(unit_id) if unit_id is not None else None
        return unit.name if unit else "—"

    row = await get(db, ProgrammeSession, change.session_id)
    params: dict[str, object] = {
        "programme": programme.name,
        "date": moment_label(row.starts_at.astimezone(tz)),
        "count": await collected(db, row.id)}
    if change.kind is ChangeKind.OVERRIDE:
        giving, taking = change.session_unit_id, change.target_unit_id
        params.update(old=unit_name(giving), new=unit_name(taking))
        title = N_("%(programme)s on %(date)s: %(new)s takes the duty instead of %(old)s. "
                   "The %(count)s questions collected so far go to %(new)s.")
    else:
        other = await get(db, ProgrammeSession, change.other_session_id or 0)
        giving, taking = change.session_unit_id, change.other_unit_id
        params.update(
            first=unit_name(change.other_unit_id), second=unit_name(change.session_unit_id),
            other_date=moment_label(other.starts_at.astimezone(tz)),
            other_count=await collected(db, other.id))
        title = N_("%(programme)s: duty swapped. On %(date)s %(first)s is on duty and "
                   "takes the %(count)s questions collected so far; on %(other_date)s "
                   "%(second)s is on duty and takes its %(other_count)s questions.")
    people = {*await unit_users(db, programme.unit_kind, giving),
              *await unit_users(db, programme.unit_kind, taking), *await site_users(db)}
    notice = await deliver(db, people, inbox.Message(
        kind=f"rotation.{change.kind.value}.handover", title=title, params=params,
        link=f"/schedule/sessions/{row.id}", dedupe_key=f"change:{change.id}:handover"),
        clock=clock, session_id=row.id)
    return [notice] if notice else []


@dataclass(frozen=True)
class ChangeableSession:
    id: int
    programme_name: str
    starts_at: datetime
    unit: str | None
    mine: bool  # the principal's own unit is on duty


async def changeable_sessions(db: AsyncSession, principal: Principal, *, clock: Clock,
                              limit: int = 100) -> list[ChangeableSession]:
    """Sessions to start a swap or override from: every upcoming planned one for the
    street office, else those of the principal's kind of programme (their own first)."""
    now = utc(clock())
    stmt = select(ProgrammeSession, Programme).join(
        Programme, Programme.id == ProgrammeSession.programme_id).where(
        ProgrammeSession.status == SessionStatus.PLANNED, ProgrammeSession.starts_at > now,
        or_(ProgrammeSession.department_id.is_not(None),
            ProgrammeSession.deputy_id.is_not(None)))
    office = principal.role in STREET_OFFICE
    if not office:
        if principal.role not in (Role.OFFICER, Role.DEPUTY):
            return []
        kind = UnitKind.DEPARTMENT if principal.role is Role.OFFICER else UnitKind.DEPUTY
        stmt = stmt.where(Programme.unit_kind == kind)
    out = []
    names: dict[UnitKind, Mapping[int, Unit]] = {}
    for row, programme in await db.execute(
            stmt.order_by(ProgrammeSession.starts_at).limit(limit)):
        if programme.unit_kind not in names:
            names[programme.unit_kind] = await units_of_kind(db, programme.unit_kind)
        unit = names[programme.unit_kind].get(row.unit_id or 0)
        mine = own_unit(principal, programme.unit_kind) == row.unit_id
        out.append(ChangeableSession(id=row.id, programme_name=programme.name,
                                     starts_at=row.starts_at,
                                     unit=unit.name if unit else None, mine=mine))
    return out if office else sorted(out, key=lambda c: not c.mine)


@dataclass(frozen=True)
class ChangeView:
    id: int
    version: int
    kind: str
    status: str
    programme_name: str
    session_id: int
    session_date: date
    session_unit: str | None
    other_session_id: int | None
    other_date: date | None
    other_unit: str | None
    target_unit: str | None
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    can_decide: bool
    can_withdraw: bool


async def list_changes(db: AsyncSession, principal: Principal, *, limit: int = 200
                       ) -> list[ChangeView]:
    """Requests the principal may see: all for the street office, else their unit's."""
    stmt = select(RotationChange, Programme).join(
        Programme, Programme.id == RotationChange.programme_id)
    office = principal.role in STREET_OFFICE
    if not office:
        unit = principal.department_id if principal.role is Role.OFFICER else principal.deputy_id
        kind = UnitKind.DEPARTMENT if principal.role is Role.OFFICER else UnitKind.DEPUTY
        if unit is None or principal.role not in (Role.OFFICER, Role.DEPUTY):
            return []
        stmt = stmt.where(Programme.unit_kind == kind, or_(
            RotationChange.session_unit_id == unit, RotationChange.other_unit_id == unit,
            RotationChange.target_unit_id == unit))
    pairs = [(c, p) for c, p in await db.execute(stmt.order_by(RotationChange.id.desc())
                                                   .limit(limit))]
    users = {u.id: u.display_name for u in await db.scalars(select(User))}
    session_ids = {sid for c, _ in pairs for sid in (c.session_id, c.other_session_id) if sid}
    starts = dict((await db.execute(
        select(ProgrammeSession.id, ProgrammeSession.starts_at)
        .where(ProgrammeSession.id.in_(session_ids)))).all()) if session_ids else {}
    out = []
    for change, programme in pairs:
        units = await units_of_kind(db, programme.unit_kind)
        tz = zone(programme.timezone)

        def name(unit_id: int | None, units: Mapping[int, Unit] = units) -> str | None:
            unit = units.get(unit_id) if unit_id is not None else None
            return unit.name if unit else None

        pending = change.status is ChangeStatus.PENDING
        decider = may_decide(principal, change, programme.unit_kind)
        other_start = starts.get(change.other_session_id) if change.other_session_id else None
        out.append(ChangeView(
            id=change.id, version=change.version, kind=change.kind.value,
            status=change.status.value, programme_name=programme.name,
            session_id=change.session_id,
            session_date=starts[change.session_id].astimezone(tz).date(),
            session_unit=name(change.session_unit_id),
            other_session_id=change.other_session_id,
            other_date=other_start.astimezone(tz).date() if other_start else None,
            other_unit=name(change.other_unit_id), target_unit=name(change.target_unit_id),
            reason=change.reason, requested_by=users.get(change.requested_by_id, ""),
            requested_at=change.requested_at,
            decided_by=users.get(change.decided_by_id) if change.decided_by_id else None,
            can_decide=pending and decider,
            can_withdraw=pending and change.requested_by_id == principal.user_id))
    return out
