"""One connection's place in a room, and how the room reaches that client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from rooms.identity import ParticipantIdentity
from rooms.media.peer import Peer
from rooms.protocol import notices as nt


class Outbox(Protocol):
    """How the room reaches one client; implemented by the signalling edge.

    ``send`` never blocks the room: it queues, and a queued state notice
    (:meth:`~rooms.protocol.notices.Notice.state_key`) may be replaced by a newer one.
    """

    def send(self, notice: nt.Notice) -> None: ...

    def close(self) -> None: ...


@dataclass(eq=False, kw_only=True)
class Member:
    """One connection's place in the room."""

    identity: ParticipantIdentity
    outbox: Outbox
    admitted: bool = False
    gone: bool = False
    peer: Peer | None = None
    expiry: asyncio.TimerHandle | None = None  # while its place is held

    def stop_holding(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None

    @property
    def id(self) -> str:
        return self.identity.key


@dataclass(eq=False, kw_only=True)
class ScreenSource:
    """A participant's second connection, which carries its shared screen and nothing else."""

    identity: ParticipantIdentity
    outbox: Outbox
    peer: Peer | None = None
    gone: bool = False

    @property
    def id(self) -> str:
        return self.identity.key
