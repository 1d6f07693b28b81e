"""The app's one room registry: its life, its server TURN credentials, and its RoomControl.

The registry is a :class:`~rooms.ProcessRoomRegistry` (a worker process per
room, ``YIZHAN_ROOM_WORKERS``, the default) or a :class:`~rooms.RoomRegistry`
(every room in the web process; tests and small set-ups). One lives as long as the app (opened in
``cleanup_ctx``, closed at shutdown so everyone still in a room is recorded
as having left). Rooms opened later get fresh server TURN credentials, and
the domain drives live rooms through :class:`RegistryRoomControl`, which
speaks in domain errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web
from aiortc import RTCIceServer

from rooms import (
    CpuProbe,
    LiveRooms,
    LoadLimits,
    NotAuthorisedError,
    ParticipantIdentity,
    PortRange,
    ProcessCpu,
    ProcessRoomRegistry,
    RoomConfig,
    RoomEvent,
    RoomHooks,
    RoomRegistry,
    UnknownRoom,
    UserError,
    WallSettings,
)
from server.core.config import Settings, TurnSettings
from server.core.errors import Conflict, Forbidden, NotFound
from server.core.keys import CLOCK, DATABASE, METRICS, SETTINGS
from server.meetings.attendance import AttendanceHooks
from server.meetings.chat import ChatStore
from server.meetings.room_access import fixed_room, site_key
from server.meetings.room_control import ROOM_CONTROL
from server.meetings.room_hooks import RoomHooksChain
from server.meetings.room_metrics import room_gauges
from server.meetings.turn import ice_servers
from server.recordings.hooks import RecordingHooks

log = logging.getLogger("yizhan.rooms")

REGISTRY = web.AppKey[LiveRooms]("room_registry")
WALL = web.AppKey("wall_settings", WallSettings)
CPU_PROBE = web.AppKey[CpuProbe]("cpu_probe")  # tests inject a measurement
CHAT_STORE = web.AppKey("chat_store", ChatStore)
# Told the room's id after each of its hook events (the cluster keeps the room's state).
ROOM_CHANGES = web.AppKey[list[Callable[[str], None]]]("room_changes")

# The server's own TURN credentials never leave it, so they may outlive the
# browsers' short-lived ones; they are renewed well before they run out.
SERVER_TURN_USER = "yizhan-server"
SERVER_CREDENTIAL_TTL_S = 24 * 3600
SERVER_CREDENTIAL_RENEW_S = 3600


def setup(app: web.Application) -> None:
    """Defaults that others may replace before start-up, and the early close."""
    app[WALL] = WallSettings()
    app[CPU_PROBE] = ProcessCpu()
    app[ROOM_CHANGES] = []
    app.on_shutdown.append(_dismiss_everyone)


def server_ice_servers(turn: TurnSettings, now: datetime) -> tuple[RTCIceServer, ...]:
    return tuple(
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in ice_servers(turn, user=SERVER_TURN_USER, now=now,
                             ttl_s=SERVER_CREDENTIAL_TTL_S)
    )


def room_config(settings: Settings, wall: WallSettings, now: datetime) -> RoomConfig:
    return RoomConfig(
        max_rooms=settings.max_rooms,
        max_participants=settings.max_participants,
        wall=wall,
        ice_servers=server_ice_servers(settings.turn, now),
        recordings_dir=settings.recordings_dir,
        reconnect_hold=settings.reconnect_hold_s,
        load=LoadLimits(cpu_budget=settings.cpu_budget, frame_budget=settings.frame_budget),
    )


async def room_registry(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: the registry, the room control, the gauges; closed last thing.

    The chat store closes after the registry (whose hooks drain on close), so every
    chat message is in the database, or in the log, before the database closes.
    """
    settings, clock = app[SETTINGS], app[CLOCK]
    chat = app[CHAT_STORE] = ChatStore(app[DATABASE])
    hooks = TellingHooks(
        RecordingHooks(RoomHooksChain(AttendanceHooks(app[DATABASE]), chat),
                       app[DATABASE], settings.recordings_dir, clock=clock),
        app[ROOM_CHANGES])
    registry = make_registry(settings, room_config(settings, app[WALL], clock()),
                             hooks=hooks, clock=clock, cpu=app[CPU_PROBE])
    app[REGISTRY] = registry
    app[ROOM_CONTROL] = RegistryRoomControl(registry)
    app[METRICS].add_gauges(lambda: room_gauges(registry))
    renewing = None
    if settings.turn.urls and settings.turn.shared_secret:
        renewing = asyncio.create_task(_renew_turn_credentials(app, registry))
    elif settings.turn.urls:
        log.warning("YIZHAN_TURN_URLS without YIZHAN_TURN_SECRET: TURN is not offered")
    yield
    if renewing is not None:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
    await registry.close()
    await chat.close()


def make_registry(settings: Settings, config: RoomConfig, *, hooks: RoomHooks,
                  clock: Callable[[], datetime], cpu: CpuProbe) -> LiveRooms:
    """A process per room (``YIZHAN_ROOM_WORKERS``, the default), or every room in this one."""
    if not settings.room_workers:
        return RoomRegistry(config, hooks=hooks, clock=clock, cpu=cpu)
    ports = PortRange(*settings.media_ports) if settings.media_ports else None
    return ProcessRoomRegistry(config, hooks=hooks, clock=clock, cpu=cpu, media_ports=ports,
                               host_addresses=_worker_host_addresses(settings))


def _worker_host_addresses(settings: Settings) -> tuple[str, ...]:
    """Where workers gather ICE host candidates: ``YIZHAN_MEDIA_ADDRESSES``, else the node's
    ``YIZHAN_MEDIA_ADDRESS`` when it is this machine's (as the web process pins it for the
    in-process engine), else every interface."""
    if settings.media_addresses:
        return settings.media_addresses
    # Imported here: server.cluster builds on this module (its node holds the registry).
    from server.cluster.media import local_addresses

    address = settings.media_address
    return (address,) if address is not None and address in local_addresses() else ()


async def _renew_turn_credentials(app: web.Application, registry: LiveRooms) -> None:
    """Rooms opened from now on get fresh server credentials."""
    while True:
        await asyncio.sleep(SERVER_CREDENTIAL_RENEW_S)
        registry.config = replace(
            registry.config,
            ice_servers=server_ice_servers(app[SETTINGS].turn, app[CLOCK]()))


async def _dismiss_everyone(app: web.Application) -> None:
    """Close the rooms before aiohttp waits for open sockets to finish on their own.

    Everyone gets ``removed {reason: "room-closed"}``, their sockets close, and
    the hooks record their leaving while the database is still open.
    """
    registry = app.get(REGISTRY)
    if registry is not None:
        await registry.close()


def live_counts(registry: LiveRooms) -> dict[str, int]:
    """Participants in each live room (waiting arrivals not counted)."""
    return {room.room_id: room.participants for room in registry.stats().per_room}


class TellingHooks:
    """The room hooks, and then a word to each listener that the room changed."""

    def __init__(self, hooks: RoomHooks, listeners: list[Callable[[str], None]]) -> None:
        self._hooks = hooks
        self._listeners = listeners

    def _tell(self, room_id: str) -> None:
        for listener in self._listeners:
            listener(room_id)

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._hooks.on_join(room_id, identity, at)
        self._tell(room_id)

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._hooks.on_leave(room_id, identity, at)
        self._tell(room_id)

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        await self._hooks.on_event(room_id, event)
        self._tell(room_id)


class RegistryRoomControl:
    """:class:`~server.meetings.room_control.RoomControl` over the app's ``RoomRegistry``.

    It answers without the database: a room is known to it if it is a fixed room or live
    (only a known room's socket can open a room in the registry); any other is NotFound.
    """

    def __init__(self, registry: LiveRooms) -> None:
        self._registry = registry

    def is_live(self, room: str) -> bool:
        return self._registry.is_live(room)

    def _known(self, room: str) -> str:
        if fixed_room(room) is None and not self._registry.is_live(room):
            raise NotFound("There is no such room.")
        return room

    def spotlight(self, room: str, site_id: int | None) -> None:
        room_id = self._known(room)
        try:
            self._registry.set_spotlight(room_id, None if site_id is None else site_key(site_id))
        except UnknownRoom:
            raise _not_live() from None
        except UserError:
            raise Conflict("This site is not in the room.") from None

    def spotlight_site(self, room: str, site_id: int | None) -> bool:
        try:
            self.spotlight(room, site_id)
        except Conflict:
            return False
        return True

    def add_marker(self, room: str, label: str, data: Mapping[str, Any] | None = None) -> None:
        room_id = self._known(room)
        try:
            self._registry.add_marker(room_id, label, dict(data or {}))
        except UnknownRoom:
            raise _not_live() from None

    async def close(self, room: str) -> bool:
        """Dismiss everyone in ``room`` (``removed {reason: "room-closed"}``); whether it was
        live. A room that is not live is already closed: no error."""
        if not self._registry.is_live(room):
            return False
        await self._registry.close_room(room)
        return True

    async def show_document(
        self, room: str, presenter: str, title: str, pages: list[str]
    ) -> None:
        room_id = self._known(room)
        try:
            await self._registry.present(room_id, presenter, title, list(pages))
        except UnknownRoom:
            raise _not_live() from None
        except NotAuthorisedError:
            raise Forbidden("Only the host and the speaker may show documents here.") from None
        except UserError as exc:
            if exc.code == "unknown-participant":
                raise Conflict("Join the room first: the document is shown in your name.") \
                    from None
            raise


def _not_live() -> Conflict:
    return Conflict("The room is not live.")
