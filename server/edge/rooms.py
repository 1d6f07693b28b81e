"""Where the app meets the media engine: the room registry's life, and the room WebSocket.

One :class:`~rooms.registry.RoomRegistry` lives as long as the app (opened in
``cleanup_ctx``, closed at shutdown so everyone still in a room is recorded
as having left). The WebSocket edge authenticates the request, refuses
cross-site connections, asks :mod:`server.meetings.room_access` for the participant's
identity and role, and hands the socket to ``rooms.signalling``. Its pings
find a meeting-room PC whose network went away, so that the room holds the
site's place (``YIZHAN_RECONNECT_HOLD``) and shows it as reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, hdrs, web
from aiortc import RTCIceServer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from rooms.config import RoomConfig
from rooms.errors import UserError
from rooms.load import CpuProbe, LoadLimits, ProcessCpu
from rooms.messages import MAX_MESSAGE_CHARS
from rooms.registry import RoomRegistry
from rooms.signalling import serve_participant
from rooms.wall import WallSettings
from server.accounts.access import signed_in
from server.core.config import Settings, TurnSettings
from server.core.errors import Conflict, DomainError, Forbidden
from server.core.keys import CLOCK, METRICS, SESSIONS, SETTINGS, VIA_BEARER, current_principal
from server.meetings.attendance import AttendanceHooks
from server.meetings.on_duty import ScheduleOnDuty
from server.meetings.room_access import (
    OnDuty,
    known_room,
    participant_identity,
    participant_key,
    site_key,
)
from server.meetings.room_control import ROOM_CONTROL
from server.meetings.turn import ice_servers

log = logging.getLogger("yizhan.rooms")

REGISTRY = web.AppKey("room_registry", RoomRegistry)
ON_DUTY = web.AppKey[OnDuty]("on_duty")  # the schedule replaces the default
WALL = web.AppKey("wall_settings", WallSettings)
CPU_PROBE = web.AppKey[CpuProbe]("cpu_probe")  # tests inject a measurement
HEARTBEAT = web.AppKey("room_heartbeat_s", float)

# The server's own TURN credentials never leave it, so they may outlive the
# browsers' short-lived ones; they are renewed well before they run out.
SERVER_TURN_USER = "yizhan-server"
SERVER_CREDENTIAL_TTL_S = 24 * 3600
SERVER_CREDENTIAL_RENEW_S = 3600
# Pings every 10 s (a pong is due within 5 s) find a meeting-room PC that lost its
# network within 15 s; its page reconnects on its own sooner when it can.
HEARTBEAT_S = 10.0


def setup(app: web.Application) -> None:
    """Defaults that others may replace before start-up, and the early close."""
    app[ON_DUTY] = ScheduleOnDuty(lambda: app[SESSIONS])
    app[WALL] = WallSettings()
    app[CPU_PROBE] = ProcessCpu()
    app[HEARTBEAT] = HEARTBEAT_S
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
    """``cleanup_ctx``: the registry, the room control, the gauges; closed last thing."""
    settings, clock = app[SETTINGS], app[CLOCK]
    registry = RoomRegistry(
        room_config(settings, app[WALL], clock()),
        hooks=AttendanceHooks(app[SESSIONS]),
        clock=clock,
        cpu=app[CPU_PROBE],
    )
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


async def _renew_turn_credentials(app: web.Application, registry: RoomRegistry) -> None:
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


class RegistryRoomControl:
    """:class:`RoomControl` over the app's ``RoomRegistry``."""

    def __init__(self, registry: RoomRegistry) -> None:
        self._registry = registry

    def is_live(self, room: str) -> bool:
        return self._registry.get(known_room(room).id) is not None

    def spotlight(self, room: str, site_id: int | None) -> None:
        room_id = known_room(room).id
        try:
            self._registry.set_spotlight(room_id, None if site_id is None else site_key(site_id))
        except UserError as exc:
            raise _conflict(exc) from None

    def spotlight_site(self, room: str, site_id: int | None) -> bool:
        try:
            self.spotlight(room, site_id)
        except Conflict:
            return False
        return True

    def add_marker(self, room: str, label: str, data: Mapping[str, Any] | None = None) -> None:
        room_id = known_room(room).id
        try:
            self._registry.add_marker(room_id, label, dict(data or {}))
        except UserError as exc:
            raise _conflict(exc) from None


def _conflict(error: UserError) -> Conflict:
    if error.code == "unknown-room":
        return Conflict("The room is not live.")
    return Conflict("This site is not in the room.")


def live_counts(registry: RoomRegistry) -> dict[str, int]:
    """Participants in each live room (waiting arrivals not counted)."""
    return {room["room_id"]: room["participants"] for room in registry.stats()["per_room"]}


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text)
    family.add_metric([], value)
    return family


def room_gauges(registry: RoomRegistry) -> Iterable[Metric]:
    stats = registry.stats()
    config = registry.config
    server = [
        _gauge("yizhan_rooms_open", "Live video rooms", stats["rooms"]),
        _gauge("yizhan_rooms_participants", "Participants in all live rooms",
               stats["participants"]),
        _gauge("yizhan_rooms_hook_calls_dropped",
               "Room hook calls dropped because the hooks fell behind",
               stats["hook_calls_dropped"]),
        _gauge("yizhan_rooms_max", "Limit: live video rooms at once (YIZHAN_MAX_ROOMS)",
               config.max_rooms),
        _gauge("yizhan_room_participants_max",
               "Limit: participants in one room (YIZHAN_MAX_PARTICIPANTS)",
               config.max_participants),
        _gauge("yizhan_server_cpu_load",
               "Share of the usable cores this server keeps busy (smoothed)", stats["cpu_load"]),
        _gauge("yizhan_server_cpu_budget",
               "Limit: CPU share above which newcomers are refused (YIZHAN_CPU_BUDGET)",
               config.load.cpu_budget),
        _gauge("yizhan_room_frame_budget",
               "Limit: share of the frame interval a room's wall may take (YIZHAN_FRAME_BUDGET)",
               config.load.frame_budget),
        _gauge("yizhan_room_reconnect_hold_seconds",
               "How long a dropped participant keeps its place (YIZHAN_RECONNECT_HOLD)",
               config.reconnect_hold),
    ]
    refused = CounterMetricFamily("yizhan_rooms_refused", "Joins refused, by reason",
                                  labels=["reason"])
    for reason, count in sorted(stats["refused"].items()):
        refused.add_metric([reason], count)
    per_room = {
        "participants": ("yizhan_room_participants", "Participants in the room"),
        "waiting": ("yizhan_room_waiting", "Arrivals waiting for admission"),
        "video_subscribers": ("yizhan_room_video_subscribers", "Receivers of the wall video"),
        "frames_composited": ("yizhan_room_frames_composited", "Wall frames composited"),
        "frames_encoded": ("yizhan_room_frames_encoded", "Wall frames encoded"),
        "video_bytes_sent": ("yizhan_room_video_bytes_sent", "Wall video bytes sent"),
        "video_bitrate": ("yizhan_room_video_bitrate", "Wall encoder target bitrate (bit/s)"),
        "compose_ms_avg": ("yizhan_room_compose_ms", "Average wall compositing time (ms)"),
        "encode_ms_avg": ("yizhan_room_encode_ms", "Average wall encoding time (ms)"),
        "audio_mix_ms_avg": ("yizhan_room_audio_mix_ms", "Average audio mixing time (ms)"),
        "fps": ("yizhan_room_fps", "Wall frames made per second (last 2 s)"),
        "frame_ms": ("yizhan_room_frame_ms", "Compose and encode time per wall frame (smoothed)"),
        "frame_load": ("yizhan_room_frame_load", "Wall frame time as a share of the interval"),
        "reconnecting": ("yizhan_room_reconnecting", "Participants whose place is held"),
        "audio_only": ("yizhan_room_audio_only", "Receivers on audio only"),
        "small_subscribers": ("yizhan_room_small_subscribers",
                              "Receivers of the small encode (weak links)"),
        "small_video_bitrate": ("yizhan_room_small_video_bitrate",
                                "Small encode target bitrate (bit/s)"),
    }
    families = {key: GaugeMetricFamily(name, text, labels=["room"])
                for key, (name, text) in per_room.items()}
    for room in stats["per_room"]:
        for key, family in families.items():
            family.add_metric([room["room_id"]], float(room[key]))
    return [*server, refused, *families.values()]


def _same_origin(request: web.Request) -> bool:
    """A browser always sends ``Origin`` on a WebSocket; only bearer-token clients may omit it.

    Cookies ride along with any site's WebSocket, so without this check a
    page elsewhere could join a room as the signed-in user.
    """
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return bool(request.get(VIA_BEARER))
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == request.host.lower()


@signed_in
async def room_ice_servers(request: web.Request) -> web.Response:
    """Fresh ICE servers for a page that reconnects hours after it was loaded.

    The TURN credentials rendered into the room page live ``YIZHAN_TURN_TTL``
    seconds; a page that has to build a new peer connection later asks here.
    """
    known_room(request.match_info["room"])
    servers = ice_servers(request.app[SETTINGS].turn,
                          user=participant_key(current_principal(request)),
                          now=request.app[CLOCK]())
    return web.json_response({"iceServers": [server.to_json() for server in servers]},
                             headers={"Cache-Control": "no-store"})


@signed_in
async def room_socket(request: web.Request) -> web.StreamResponse:
    room = known_room(request.match_info["room"])
    ws = web.WebSocketResponse(max_msg_size=4 * MAX_MESSAGE_CHARS,
                               heartbeat=request.app[HEARTBEAT])
    if not ws.can_prepare(request).ok:
        raise DomainError("This address takes WebSocket connections only.")
    if not _same_origin(request):
        raise Forbidden("Connections from other sites are refused.")
    app = request.app
    async with app[SESSIONS]() as db:
        identity = await participant_identity(
            db, current_principal(request), room, on_duty=app[ON_DUTY], at=app[CLOCK]())
    await ws.prepare(request)
    try:
        await serve_participant(ws, app[REGISTRY], room.id, identity)
    finally:
        if ws.close_code == WSCloseCode.ABNORMAL_CLOSURE and request.transport is not None:
            # A PC that stopped answering pings takes no closing handshake; a plain close
            # would keep its socket (with the unsent ping) until TCP gives up, minutes on.
            request.transport.abort()
    return ws
