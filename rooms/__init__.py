"""The media engine's front door: everything ``server/`` and ``web/`` may use.

Other packages import from here only (``from rooms import RoomRegistry``);
the submodules are the engine's own business and may change shape. Tests
and benchmarks of the engine itself may still reach inside.
"""

from rooms.chat import CHAT_BURST, CHAT_WINDOW_S, HISTORY, MAX_CHAT_CHARS
from rooms.config import RoomConfig
from rooms.errors import NotAuthorisedError, ProtocolError, RoomError, UnknownRoom, UserError
from rooms.events import ChatDeleted, ChatPosted, RecordingSaved, RoomEvent, SpeakingChanged
from rooms.hooks import RoomHooks
from rooms.identity import ParticipantIdentity, Role
from rooms.live import LiveRooms
from rooms.load import CpuProbe, LoadLimits, ProcessCpu
from rooms.media.wall import WallSettings
from rooms.protocol.messages import MAX_MESSAGE_CHARS
from rooms.protocol.signalling import SignallingSocket, serve_participant
from rooms.registry import RoomRegistry
from rooms.state import ParticipantState, RoomState
from rooms.stats import RegistryStats, RoomStats
from rooms.workers.link import WorkerFailed
from rooms.workers.ports import PortRange
from rooms.workers.registry import ProcessRoomRegistry

__all__ = [
    "CHAT_BURST",
    "CHAT_WINDOW_S",
    "HISTORY",
    "MAX_CHAT_CHARS",
    "MAX_MESSAGE_CHARS",
    "ChatDeleted",
    "ChatPosted",
    "CpuProbe",
    "LiveRooms",
    "LoadLimits",
    "NotAuthorisedError",
    "ParticipantIdentity",
    "ParticipantState",
    "PortRange",
    "ProcessCpu",
    "ProcessRoomRegistry",
    "ProtocolError",
    "RecordingSaved",
    "RegistryStats",
    "Role",
    "RoomConfig",
    "RoomError",
    "RoomEvent",
    "RoomHooks",
    "RoomRegistry",
    "RoomState",
    "RoomStats",
    "SignallingSocket",
    "SpeakingChanged",
    "UnknownRoom",
    "UserError",
    "WallSettings",
    "WorkerFailed",
    "serve_participant",
]
