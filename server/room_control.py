"""What the domain may ask of a live video room, without knowing the media engine.

Implemented over `rooms.registry.RoomRegistry` by the rooms wiring and stored under
`ROOM_CONTROL`; features such as the legal consultation queue ("now answering site X")
depend only on this Protocol, so they run and test without media.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class RoomControl(Protocol):
    def spotlight_site(self, room: str, site_id: int | None) -> bool:
        """Spotlight the site's tile (None: back to the grid); False when it is not in."""

    def add_marker(self, room: str, label: str, data: dict[str, object]) -> None:
        """Mark a moment (e.g. "question 12 answered") in the room's event log and
        the recording's index, when one is running."""


ROOM_CONTROL = web.AppKey("room_control", RoomControl)
