"""Which video rooms exist, and who takes part in them in which role.

A participant's room role comes from its account, never from the client:
the street office's administrator and meeting host run every room, the
on-duty legal officers speak in the legal consultation room and the on-duty
deputies at the duty station, sites take part with their meeting room, and
everyone else watches. Who is on duty is asked of an :class:`OnDuty`, so the
schedule can answer it without this module knowing about schedules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from rooms import ParticipantIdentity
from rooms import Role as RoomRole
from server.accounts.users import Principal
from server.core.errors import N_, NotFound
from server.models import Role, Site


@dataclass(frozen=True, kw_only=True, slots=True)
class KnownRoom:
    id: str
    title: str  # msgid
    summary: str  # msgid
    speakers: Role | None  # accounts that speak here while on duty


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


def known_room(room_id: str) -> KnownRoom:
    room = _BY_ID.get(room_id)
    if room is None:
        raise NotFound("There is no such room.")
    return room


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
    return id_in_tags(identity.tags, prefix)


def id_in_tags(tags: Iterable[str], prefix: str) -> int | None:
    """The user or site id among an identity's tags (as a room event carries them)."""
    for tag in tags:
        if tag.startswith(prefix) and tag[len(prefix):].isdigit():
            return int(tag[len(prefix):])
    return None
