"""What the server needs of its live rooms, whichever process their engines run in.

:class:`~rooms.RoomRegistry` runs every room in the web process;
:class:`~rooms.ProcessRoomRegistry` runs each in a worker process of its own
and bridges participants to it. The server holds either under this one type
and picks one by a setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from rooms.config import RoomConfig
from rooms.identity import ParticipantIdentity
from rooms.state import RoomState
from rooms.stats import RegistryStats

if TYPE_CHECKING:
    from rooms.protocol.signalling import SignallingSocket


class LiveRooms(Protocol):
    config: RoomConfig  # rooms opened from now on use the newest

    async def serve(
        self, ws: SignallingSocket, room_id: str, identity: ParticipantIdentity
    ) -> None:
        """Speak the room protocol on a prepared socket (see ``serve_participant``): an
        aiohttp ``WebSocketResponse``, or anything with its ``receive``, ``send_str`` and
        ``close`` (a bridge from another node)."""

    def is_live(self, room_id: str) -> bool:
        """Whether ``room_id`` is open (someone is in it, waiting, or has a place held)."""

    def room_ids(self) -> list[str]: ...

    def stats(self) -> RegistryStats: ...

    def set_spotlight(self, room_id: str, participant_key: str | None) -> None:
        """Raises ``UnknownRoom`` when the room is not live, ``UserError`` for an absent key."""

    def add_marker(self, room_id: str, label: str, data: dict[str, Any] | None = None) -> object:
        """Raises ``UnknownRoom`` when the room is not live."""

    async def room_state(self, room_id: str) -> RoomState:
        """The live room's moderation state and document (:mod:`rooms.state`), to keep
        elsewhere; raises ``UnknownRoom`` when it is not live."""

    def restore(self, room_id: str, state: RoomState) -> None:
        """Open ``room_id`` at its first join with ``state``; ``UserError`` if it is live."""

    async def present(self, room_id: str, presenter: str, title: str, pages: list[str]) -> None:
        """Put a document (pages as PNG files) on the wall for the participant ``presenter``;
        raises ``UnknownRoom``, ``NotAuthorisedError`` or ``UserError`` as the room does."""

    async def close_room(self, room_id: str) -> None: ...

    async def close(self) -> None: ...
