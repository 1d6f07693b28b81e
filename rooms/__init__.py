"""The media engine's front door: everything ``server/`` and ``web/`` may use.

Other packages import from here only (``from rooms import RoomRegistry``);
the submodules are the engine's own business and may change shape. Tests
and benchmarks of the engine itself may still reach inside.
"""

from rooms.config import RoomConfig
from rooms.errors import NotAuthorisedError, ProtocolError, RoomError, UnknownRoom, UserError
from rooms.events import RoomEvent, SpeakingChanged
from rooms.hooks import RoomHooks
from rooms.identity import ParticipantIdentity, Role
from rooms.live import LiveRooms
from rooms.load import CpuProbe, LoadLimits, ProcessCpu
from rooms.media.wall import WallSettings
from rooms.protocol.messages import MAX_MESSAGE_CHARS
from rooms.protocol.signalling import SignallingSocket, serve_participant
from rooms.registry import RoomRegistry
from rooms.stats import RegistryStats, RoomStats
from rooms.workers.link import WorkerFailed
from rooms.workers.ports import PortRange
from rooms.workers.registry import ProcessRoomRegistry

__all__ = [
    "MAX_MESSAGE_CHARS",
    "CpuProbe",
    "LiveRooms",
    "LoadLimits",
    "NotAuthorisedError",
    "ParticipantIdentity",
    "PortRange",
    "ProcessCpu",
    "ProcessRoomRegistry",
    "ProtocolError",
    "RegistryStats",
    "Role",
    "RoomConfig",
    "RoomError",
    "RoomEvent",
    "RoomHooks",
    "RoomRegistry",
    "RoomStats",
    "SignallingSocket",
    "SpeakingChanged",
    "UnknownRoom",
    "UserError",
    "WallSettings",
    "WorkerFailed",
    "serve_participant",
]
