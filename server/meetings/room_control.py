"""What the domain may ask of a live video room, without knowing the media engine.

The scheduler closes a session's room (and the host an ad-hoc meeting's) with
:meth:`RoomControl.close`. The legal consultation queue says "now answering site X" with
:meth:`RoomControl.spotlight` and notes "question 12 answered" on the room's
timeline (and in its recording's index) with :meth:`RoomControl.add_marker`; the room
page's upload puts a document on the wall with :meth:`RoomControl.show_document`.
The rooms wiring (``server.meetings.registry.RegistryRoomControl``) stores one over
the app's ``RoomRegistry`` under :data:`ROOM_CONTROL`; features depend only on
this Protocol, so they run and test without media.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web


class RoomControl(Protocol):
    def is_live(self, room: str) -> bool:
        """Whether anyone is in ``room`` now."""
        ...

    def spotlight(self, room: str, site_id: int | None) -> None:
        """Show ``site_id``'s tile large, or go back to the grid with ``None``.

        Raises ``NotFound`` for an unknown room and ``Conflict`` when the room
        is not live or the site is not in it.
        """
        ...

    def spotlight_site(self, room: str, site_id: int | None) -> bool:
        """:meth:`spotlight`, answering False instead of raising ``Conflict``."""
        ...

    def add_marker(self, room: str, label: str, data: Mapping[str, Any] | None = None) -> None:
        """Note ``label`` (and JSON-able ``data``) on the room's timeline.

        Raises like :meth:`spotlight` when the room is unknown or not live.
        """
        ...

    async def close(self, room: str) -> bool:
        """Dismiss everyone in ``room`` and stop its media (the room's session or meeting
        is over); whether the room was live. Never raises for a room that is not live."""
        ...

    async def show_document(
        self, room: str, presenter: str, title: str, pages: list[str]
    ) -> None:
        """Put a document (its pages rendered as PNG files) on the wall for the participant
        ``presenter`` (a participant key), from its first page.

        Raises ``NotFound`` for an unknown room, ``Conflict`` when the room is not live or
        the presenter is not in it, ``Forbidden`` when the presenter may not present there.
        """
        ...


ROOM_CONTROL = web.AppKey[RoomControl]("room_control")
