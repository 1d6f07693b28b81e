"""Settings the server chooses for all rooms of a registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCIceServer

from rooms.mixer import MixerSettings
from rooms.wall import WallSettings


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

    def __post_init__(self) -> None:
        if self.max_rooms < 1 or self.max_participants < 1:
            raise ValueError("max_rooms and max_participants must be positive")
