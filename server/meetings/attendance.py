"""Attendance: the rooms' hooks write who was in a room, and the page reads it back.

The media engine calls :class:`AttendanceHooks` in order on one background
task (``rooms.hooks``), so a slow database never holds up a room. Joins and
leaves become :class:`~server.models.Attendance` rows; every other room
event (floor, hands, mutes, spotlight, recording, markers) goes to the
structured log (chat events but the chat store's own line: no message text there).

A dropped connection is not a departure: the room holds the participant's
place for ``YIZHAN_RECONNECT_HOLD`` seconds, and a site back within that
time stays **one stay** (the gap is logged as ``connection_lost`` and
``reconnected`` with its length). When the hold runs out the stay ends at
the moment the connection was lost, and coming back later starts a second
stay, so the attendance page's stay count shows the interruption.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms import ChatDeleted, ChatPosted, ParticipantIdentity, RoomEvent, SpeakingChanged
from server.core.db import transaction
from server.meetings.room_access import SITE_TAG, USER_TAG, tagged_id
from server.models import Attendance

log = logging.getLogger("yizhan.rooms")


class AttendanceHooks:
    """``rooms.RoomHooks`` for the app."""

    def __init__(self, database: async_sessionmaker[AsyncSession]) -> None:
        self._database = database

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        async with transaction(self._database) as db:
            db.add(Attendance(
                room=room_id, participant_key=identity.key,
                user_id=tagged_id(identity, USER_TAG), site_id=tagged_id(identity, SITE_TAG),
                display_name=identity.display_name, role=str(identity.role), joined_at=at,
            ))
        log.info("joined room %s", room_id, extra={
            "ctx_room": room_id, "ctx_participant": identity.key, "ctx_role": str(identity.role)})

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        async with transaction(self._database) as db:
            row = await db.scalar(
                select(Attendance)
                .where(Attendance.room == room_id, Attendance.participant_key == identity.key,
                       Attendance.left_at.is_(None),
                       # not a stay begun since on another node (a room that moved)
                       Attendance.joined_at <= at)
                .order_by(Attendance.joined_at.desc(), Attendance.id.desc()).limit(1))
            if row is None:
                log.warning("left room %s without a recorded join", room_id, extra={
                    "ctx_room": room_id, "ctx_participant": identity.key})
                return
            row.left_at = at
            row.seconds = max(0, round((at - row.joined_at).total_seconds()))
            seconds = row.seconds
        log.info("left room %s", room_id, extra={
            "ctx_room": room_id, "ctx_participant": identity.key, "ctx_seconds": seconds})

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        if isinstance(event, ChatPosted | ChatDeleted):
            return  # the chat store (server.meetings.chat) logs these, without their text
        # Speaking flips every few seconds: worth a debug line, not an info one.
        level = logging.DEBUG if isinstance(event, SpeakingChanged) else logging.INFO
        log.log(level, "room %s: %s", room_id, event.kind,
                extra={"ctx_room": room_id, "ctx_event": event.to_dict()})


async def end_stays_cut_short(database: async_sessionmaker[AsyncSession], room_id: str,
                              keys: Collection[str], at: datetime) -> int:
    """End the stays another node left open when it died (server/cluster), as of ``at``.

    The node that takes the room over calls this before anyone is back: the dead node
    could not record their leaving, and each returning participant starts a new stay,
    so the attendance page shows the interruption. Returns how many stays it ended.
    """
    if not keys:
        return 0
    async with transaction(database) as db:
        rows = list(await db.scalars(select(Attendance).where(
            Attendance.room == room_id, Attendance.participant_key.in_(sorted(keys)),
            Attendance.left_at.is_(None))))
        for row in rows:
            row.left_at = at
            row.seconds = max(0, round((at - row.joined_at).total_seconds()))
    if rows:
        log.info("room %s: ended %d stays its dead node left open", room_id, len(rows),
                 extra={"ctx_room": room_id})
    return len(rows)


@dataclass(frozen=True, kw_only=True, slots=True)
class Stay:
    participant_key: str
    display_name: str
    role: str
    site_id: int | None
    joined_at: datetime
    left_at: datetime | None
    seconds: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Attendee:
    """Everyone's stays of one day added up (a connection lost beyond the hold makes two)."""

    participant_key: str
    display_name: str
    role: str
    site_id: int | None
    first_joined: datetime
    last_left: datetime | None  # None while the latest stay is open
    seconds: int
    stays: int


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants that start and end ``day`` in the street's time zone."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def stays_on(db: AsyncSession, room_id: str, day: date, zone: ZoneInfo) -> list[Stay]:
    """Stays in ``room_id`` that began on ``day`` (local), in order of arrival."""
    start, end = day_bounds(day, zone)
    rows = await db.scalars(
        select(Attendance)
        .where(Attendance.room == room_id, Attendance.joined_at >= start,
               Attendance.joined_at < end)
        .order_by(Attendance.joined_at, Attendance.id))
    return [Stay(participant_key=r.participant_key, display_name=r.display_name, role=r.role,
                 site_id=r.site_id, joined_at=r.joined_at, left_at=r.left_at,
                 seconds=r.seconds) for r in rows]


def attendees(stays: list[Stay]) -> list[Attendee]:
    """One line per participant, in order of first arrival."""
    by_key: dict[str, Attendee] = {}
    for stay in stays:
        seen = by_key.get(stay.participant_key)
        if seen is None:
            by_key[stay.participant_key] = Attendee(
                participant_key=stay.participant_key, display_name=stay.display_name,
                role=stay.role, site_id=stay.site_id, first_joined=stay.joined_at,
                last_left=stay.left_at, seconds=stay.seconds or 0, stays=1)
            continue
        by_key[stay.participant_key] = Attendee(
            participant_key=seen.participant_key, display_name=stay.display_name,
            role=stay.role, site_id=seen.site_id, first_joined=seen.first_joined,
            last_left=stay.left_at,  # stays come in order of arrival: the latest one counts
            seconds=seen.seconds + (stay.seconds or 0), stays=seen.stays + 1)
    return list(by_key.values())
