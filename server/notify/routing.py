"""Who gets what beyond the inbox: audiences per notice kind, preferences, quiet hours.

A notice reaches the inbox of its recipients (the producer chose them). The routing table
then says which *groups* and *people* hear it elsewhere:

- ``department_group``: the robots of the departments whose officers are recipients;
- ``site_group``: the robots of the sites whose accounts are recipients;
- ``street_office``: the street office's robots, whoever the recipients are;
- ``deputy`` / ``host``: the deputies / hosts among the recipients, personally;
- ``person``: every recipient in no group (their unit has no robot), personally;
- ``resident``: the resident who filed the item and asked to be told, at the phone or
  e-mail they left (no account: see `plan_contact`).

"Personally" means e-mail and SMS channels of scope ``personal``, to the address on the
user, if the user accepts that transport (their preferences page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.clock import Clock
from server.core.errors import N_
from server.core.fields import FieldReader
from server.models import NoticeChannel, NoticePreference, NoticeRoute, Role, User

AUDIENCES: Mapping[str, str] = {
    "department_group": N_("On-duty department's group"),
    "site_group": N_("Sites' groups"),
    "street_office": N_("Street office"),
    "deputy": N_("The deputy"),
    "host": N_("The host"),
    "person": N_("People in no group"),
    "resident": N_("The resident who filed it"),
}
KINDS: Mapping[str, str] = {
    "questions.packet": N_("Question packet"),
    "session.reminder_24h": N_("Reminder 24 hours before"),
    "session.reminder_30min": N_("Reminder 30 minutes before"),
    "session.room_open": N_("Room open"),
    "session.cutoff": N_("Questions closed"),
    "session.cancelled": N_("Session cancelled"),
    "session.moved": N_("Session moved"),
    "meeting.called": N_("Called into a meeting"),
    "opinion.new": N_("New opinion item"),
    "opinion.due_soon": N_("Opinion item due soon"),
    "opinion.overdue": N_("Opinion item overdue (supervision)"),
    "opinion.escalated": N_("Opinion item escalated (supervision)"),
    "resident_answer": N_("A resident's item answered"),
}
DEFAULT_ROUTES: Mapping[str, tuple[str, ...]] = {
    "questions.packet": ("department_group",),
    "session.reminder_24h": ("department_group", "person"),
    "session.reminder_30min": ("department_group", "person"),
    "session.room_open": ("site_group",),
    "meeting.called": ("site_group",),
    "opinion.due_soon": ("department_group",),
    "opinion.overdue": ("department_group",),
    "opinion.escalated": ("street_office",),
    "resident_answer": ("resident",),
}
PERSONAL_TRANSPORTS = ("email", "sms")
GROUP_SCOPES = ("department", "site", "street")


# -- the routing table -----------------------------------------------------------------


async def routes(db: AsyncSession) -> dict[str, tuple[str, ...]]:
    """Every kind's audiences: the administrator's choice where made, else the default."""
    table = dict(DEFAULT_ROUTES)
    for row in await db.scalars(select(NoticeRoute)):
        table[row.kind] = tuple(a for a in row.audiences if a in AUDIENCES)
    return table


@dataclass(frozen=True)
class SaveRoutes:
    table: Mapping[str, tuple[str, ...]]


def routes_from_fields(data: Mapping[str, object]) -> SaveRoutes:
    """One checkbox per kind and audience, named ``kind|audience``."""
    reader = FieldReader(data)
    return SaveRoutes({kind: tuple(a for a in AUDIENCES if reader.flag(f"{kind}|{a}"))
                       for kind in KINDS})


async def save_routes(db: AsyncSession, command: SaveRoutes, *, clock: Clock) -> None:
    existing = {r.kind: r for r in await db.scalars(select(NoticeRoute))}
    for kind, audiences in command.table.items():
        row = existing.get(kind)
        if row is None:
            db.add(NoticeRoute(kind=kind, audiences=list(audiences), updated_at=clock()))
        else:
            row.audiences = list(audiences)
            row.updated_at = clock()
    await db.flush()


# -- personal preferences ----------------------------------------------------------------


@dataclass(frozen=True)
class SavePreferences:
    transports: tuple[str, ...]
    phone: str | None
    email: str | None


def preferences_from_fields(data: Mapping[str, object]) -> SavePreferences:
    reader = FieldReader(data)
    transports = tuple(t for t in PERSONAL_TRANSPORTS if reader.flag(f"accept_{t}"))
    phone = reader.line("phone", max_len=20, required=False).replace(" ", "")
    if phone and not (phone.lstrip("+").isdigit() and 6 <= len(phone.lstrip("+")) <= 15):
        reader.fail("phone", N_("Enter a phone number (digits, optionally with +)."))
    email = reader.line("email", max_len=254, required=False)
    if email and (email.count("@") != 1 or "." not in email.split("@")[1]
                  or any(c.isspace() for c in email)):
        reader.fail("email", N_("Enter an e-mail address."))
    reader.check()
    return SavePreferences(transports, phone or None, email or None)


async def accepted(db: AsyncSession, user_id: int) -> tuple[str, ...]:
    row = await db.get(NoticePreference, user_id)
    return PERSONAL_TRANSPORTS if row is None else tuple(row.transports)


async def save_preferences(db: AsyncSession, user_id: int, command: SavePreferences, *,
                           clock: Clock) -> None:
    user = await db.get(User, user_id)
    if user is None:
        return
    user.phone, user.email = command.phone, command.email
    row = await db.get(NoticePreference, user_id)
    if row is None:
        db.add(NoticePreference(user_id=user_id, transports=list(command.transports),
                                updated_at=clock()))
    else:
        row.transports = list(command.transports)
        row.updated_at = clock()
    await db.flush()


# -- planning one notice ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    channel_id: int
    user_id: int | None = None  # None: the channel's group
    address: str = ""

    @property
    def recipient(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return "resident" if self.address else "group"


def _group_channels(channels: Sequence[NoticeChannel], scope: str,
                    ids: Iterable[int]) -> list[NoticeChannel]:
    wanted = set(ids)
    return [c for c in channels if c.scope == scope and (
        (scope == "department" and c.department_id in wanted)
        or (scope == "site" and c.site_id in wanted) or scope == "street")]


async def plan(db: AsyncSession, kind: str, user_ids: Sequence[int]) -> list[Target]:
    """The channels (and people) a notice of ``kind`` to ``user_ids`` goes to."""
    audiences = (await routes(db)).get(kind, ())
    if not audiences or not user_ids:
        return []
    channels = list(await db.scalars(select(NoticeChannel).where(NoticeChannel.enabled)
                                     .order_by(NoticeChannel.id)))
    if not channels:
        return []
    users = list(await db.scalars(select(User).where(User.id.in_(user_ids), User.active)
                                  .order_by(User.id)))
    departments = {u.department_id for u in users if u.role is Role.OFFICER}
    sites = {u.site_id for u in users if u.role is Role.SITE}
    grouped_departments = {c.department_id for c in channels if c.scope == "department"}
    grouped_sites = {c.site_id for c in channels if c.scope == "site"}
    groups: list[NoticeChannel] = []
    if "department_group" in audiences:
        groups += _group_channels(channels, "department", (d for d in departments if d))
    if "site_group" in audiences:
        groups += _group_channels(channels, "site", (s for s in sites if s))
    if "street_office" in audiences:
        groups += _group_channels(channels, "street", ())
    targets = [Target(c.id) for c in groups]
    people: list[User] = []
    for user in users:
        in_group = (user.role is Role.OFFICER and user.department_id in grouped_departments) \
            or (user.role is Role.SITE and user.site_id in grouped_sites)
        if ("person" in audiences and not in_group) \
                or ("deputy" in audiences and user.role is Role.DEPUTY) \
                or ("host" in audiences and user.role is Role.HOST):
            people.append(user)
    personal = [c for c in channels if c.scope == "personal"]
    for user in people:
        accepts = await accepted(db, user.id)
        for channel in personal:
            address = {"email": user.email, "sms": user.phone}.get(channel.transport)
            if address and channel.transport in accepts:
                targets.append(Target(channel.id, user.id, address))
    return targets


async def plan_contact(db: AsyncSession, kind: str, transport: str,
                       address: str) -> list[Target]:
    """The personal channels of ``transport`` a notice of ``kind`` to someone without an
    account (a resident, at the phone or e-mail they left) goes to."""
    if "resident" not in (await routes(db)).get(kind, ()) or not address:
        return []
    channels = await db.scalars(select(NoticeChannel).where(
        NoticeChannel.enabled, NoticeChannel.scope == "personal",
        NoticeChannel.transport == transport).order_by(NoticeChannel.id))
    return [Target(c.id, None, address) for c in channels]


# -- quiet hours ------------------------------------------------------------------------


def quiet_until(now: datetime, quiet: tuple[int, int], timezone: str) -> datetime | None:
    """The end of the quiet hours ``now`` falls in (street time), or None outside them."""
    start, end = quiet
    if start == end:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    inside = (start <= minute or minute < end) if start > end else start <= minute < end
    if not inside:
        return None
    morning = datetime.combine(local.date(), time(end // 60, end % 60), local.tzinfo)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1),
                                   time(end // 60, end % 60), local.tzinfo)
    return morning.astimezone(now.tzinfo)
