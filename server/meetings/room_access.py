"""Which video rooms exist, and who takes part in them in which role.

A room id is known if it is one of the fixed rooms (``street``, ``legal``,
``duty-station``), the room of an active programme, or an ad-hoc meeting's room
(``meeting-<id>``); :func:`resolve_room` is the one place that says so. In a
programme's own room the speakers follow the programme's unit kind (officers for
departments, deputies), on duty as the schedule says.

A participant's room role comes from its account, never from the client:
the street office's administrator and meeting host run every room, the
on-duty legal officers speak in the legal consultation room and the on-duty
deputies at the duty station, sites take part with their meeting room, and
everyone else watches. Who is on duty is asked of an :class:`OnDuty`, so the
schedule can answer it without this module knowing about schedules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms import ParticipantIdentity
from rooms import Role as RoomRole
from server.accounts.users import Principal
from server.core.errors import N_, NotFound
from server.models import MEETING_ROOM_PREFIX, Meeting, Programme, Role, Site, UnitKind


class RoomKind(enum.StrEnum):
    FIXED = "fixed"  # always there, free to enter
    PROGRAMME = "programme"  # a programme's own room: open around its sessions
    MEETING = "meeting"  # an ad-hoc meeting's room: open while the meeting runs


@dataclass(frozen=True, kw_only=True, slots=True)
class KnownRoom:
    id: str
    title: str  # msgid of a fixed room; a programme's name or a meeting's title
    summary: str  # msgid
    speakers: Role | None  # accounts that speak here while on duty
    kind: RoomKind = RoomKind.FIXED
    meeting_id: int | None = None


KNOWN_ROOMS: tuple[KnownRoom, ...] = (
    KnownRoom(id="street", title=N_("Weekly street meeting"),
              summary=N_("The street office meets its villages and communities."),
              speakers=None),
    KnownRoom(id="legal", title=N_("Online legal consultation day"),
              summary=N_("The on-duty legal department answers every site's questions."),
              speakers=Role.OFFICER),
    KnownRoom(id="duty-station", title=N_("Deputies' online duty station"),
              summary=N_("The deputy on duty hears residents' opinions."),
              speakers=Role.DEPUTY),
)
_BY_ID = {room.id: room for room in KNOWN_ROOMS}

USER_TAG = "user:"
SITE_TAG = "site:"


SPEAKERS_OF_UNIT = {UnitKind.DEPARTMENT: Role.OFFICER, UnitKind.DEPUTY: Role.DEPUTY}


def fixed_room(room_id: str) -> KnownRoom | None:
    return _BY_ID.get(room_id)


def known_room(room_id: str) -> KnownRoom:
    """A fixed room, or NotFound: for callers that need no database (see resolve_room)."""
    room = _BY_ID.get(room_id)
    if room is None:
        raise NotFound("There is no such room.")
    return room


def meeting_id_of(room_id: str) -> int | None:
    """The meeting id in ``meeting-<id>``, None for any other room id."""
    digits = room_id.removeprefix(MEETING_ROOM_PREFIX)
    if digits == room_id or not digits.isdigit() or digits.startswith("0") or len(digits) > 9:
        return None
    return int(digits)


async def resolve_room(db: AsyncSession, room_id: str) -> KnownRoom:
    """The room ``room_id``: fixed, an active programme's, or a meeting's; else NotFound."""
    fixed = _BY_ID.get(room_id)
    if fixed is not None:
        return fixed
    meeting_id = meeting_id_of(room_id)
    if meeting_id is not None:
        meeting = await db.get(Meeting, meeting_id)
        if meeting is not None and meeting.room == room_id:
            return KnownRoom(id=room_id, title=meeting.title,
                             summary=N_("A meeting the host called."), speakers=None,
                             kind=RoomKind.MEETING, meeting_id=meeting.id)
        raise NotFound("There is no such room.")
    programme = await db.scalar(
        select(Programme).where(Programme.room == room_id, Programme.active)
        .order_by(Programme.id).limit(1))
    if programme is None:
        raise NotFound("There is no such room.")
    return KnownRoom(id=room_id, title=programme.name,
                     summary=N_("The room of a programme's sessions."),
                     speakers=SPEAKERS_OF_UNIT[programme.unit_kind], kind=RoomKind.PROGRAMME)


async def programme_rooms(db: AsyncSession) -> list[KnownRoom]:
    """The rooms of active programmes that are not fixed rooms, by name."""
    rows = await db.scalars(select(Programme).where(Programme.active)
                            .order_by(Programme.name, Programme.id))
    rooms: dict[str, KnownRoom] = {}
    for programme in rows:
        if programme.room not in _BY_ID and programme.room not in rooms:
            rooms[programme.room] = KnownRoom(
                id=programme.room, title=programme.name,
                summary=N_("The room of a programme's sessions."),
                speakers=SPEAKERS_OF_UNIT[programme.unit_kind], kind=RoomKind.PROGRAMME)
    return list(rooms.values())


class OnDuty(Protocol):
    async def on_duty(self, principal: Principal, room: KnownRoom, at: datetime) -> bool:
        """Whether ``principal`` holds the duty of ``room`` at ``at``."""
        ...


class EveryoneOnDuty:
    """Until the schedule is asked: every officer and deputy is on duty in their room."""

    async def on_duty(self, principal: Principal, room: KnownRoom, at: datetime) -> bool:
        return True


async def room_role(
    principal: Principal, room: KnownRoom, *, on_duty: OnDuty, at: datetime
) -> RoomRole:
    """The one place that maps an account to its role in a room."""
    if principal.role in (Role.ADMIN, Role.HOST):
        return RoomRole.HOST
    if principal.role is Role.SITE and principal.site_id is not None:
        return RoomRole.SITE
    if room.speakers is principal.role and await on_duty.on_duty(principal, room, at):
        return RoomRole.SPEAKER
    return RoomRole.OBSERVER


def site_key(site_id: int) -> str:
    return f"{SITE_TAG}{site_id}"


def participant_key(principal: Principal) -> str:
    """Sites are keyed by site, so a reload of the meeting-room PC replaces its old socket."""
    if principal.role is Role.SITE and principal.site_id is not None:
        return site_key(principal.site_id)
    return f"{USER_TAG}{principal.user_id}"


async def participant_identity(
    db: AsyncSession, principal: Principal, room: KnownRoom, *, on_duty: OnDuty, at: datetime
) -> ParticipantIdentity:
    role = await room_role(principal, room, on_duty=on_duty, at=at)
    name = principal.display_name
    tags = {f"{USER_TAG}{principal.user_id}"}
    if role is RoomRole.SITE and principal.site_id is not None:
        site = await db.get(Site, principal.site_id)
        if site is not None:
            name = site.display_name or site.name
        tags.add(f"{SITE_TAG}{principal.site_id}")
    return ParticipantIdentity(
        key=participant_key(principal), display_name=name[:200], role=role,
        tags=frozenset(tags),
    )


def tagged_id(identity: ParticipantIdentity, prefix: str) -> int | None:
    """The user or site id the server put in ``identity``'s tags."""
    for tag in identity.tags:
        if tag.startswith(prefix) and tag[len(prefix):].isdigit():
            return int(tag[len(prefix):])
    return None
