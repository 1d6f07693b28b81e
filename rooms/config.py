"""Settings the server chooses for all rooms of a registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCIceServer

from rooms.load import LoadLimits
from rooms.media.mixer import MixerSettings
from rooms.media.wall import WallSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomConfig:
    max_rooms: int = 8
    max_participants: int = 20  # per room, waiting arrivals included
    waiting_room: bool = False  # whether new rooms start with the waiting room on
    wall: WallSettings = field(default_factory=WallSettings)
    audio: MixerSettings = field(default_factory=MixerSettings)
    # STUN/TURN for the server's own candidates; a server on a public or LAN
    # address needs none, and an empty list keeps aiortc off Google's STUN.
    ice_servers: tuple[RTCIceServer, ...] = ()
    recordings_dir: Path | None = None  # None: recording is refused
    max_outbox: int = 256  # notices queued for a slow client before it is dropped
    # How long a participant whose connection dropped keeps its place (0: not at all).
    reconnect_hold: float = 60.0
    load: LoadLimits = field(default_factory=LoadLimits)

    def __post_init__(self) -> None:
        if self.max_rooms < 1 or self.max_participants < 1:
            raise ValueError("max_rooms and max_participants must be positive")
        if self.reconnect_hold < 0:
            raise ValueError("reconnect_hold must not be negative")
