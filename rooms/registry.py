"""All live rooms of a server, by id, within configured limits.

The server makes one registry at start-up (in its ``cleanup_ctx``) and
closes it at shutdown. Rooms are created by the first join and closed when
the last participant leaves; their settings (lock, waiting room) live as
long as they do.

:meth:`RoomRegistry.join` is the one door in: besides the counts
(``max_rooms``, ``max_participants``) it asks :mod:`rooms.load` whether the
server and the room have the CPU for one more, so that the rooms already
running keep their frame rate. Refusals are counted by code for metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from rooms.conference import Conference
from rooms.config import RoomConfig
from rooms.errors import RoomError, UnknownRoom, UserError
from rooms.events import Marker
from rooms.hooks import Clock, HookDispatcher, NoHooks, RoomHooks, utc_now
from rooms.identity import ParticipantIdentity
from rooms.load import CpuProbe, ProcessCpu, Sampler
from rooms.media.recorder import Recorder, RecordingInfo, recover_indexes
from rooms.member import Member, Outbox, ScreenSource
from rooms.permissions import Action, may
from rooms.state import RoomState
from rooms.stats import RegistryStats, RoomStats

if TYPE_CHECKING:
    from rooms.protocol.signalling import SignallingSocket

logger = logging.getLogger(__name__)


class RoomRegistry:
    def __init__(
        self,
        config: RoomConfig | None = None,
        *,
        hooks: RoomHooks | None = None,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        cpu: CpuProbe | None = None,
    ) -> None:
        self.config = config or RoomConfig()
        if self.config.recordings_dir is not None:
            recover_indexes(self.config.recordings_dir)  # of recordings a stop cut short
        self._hooks = HookDispatcher(hooks or NoHooks())
        self._clock = clock
        self._monotonic = monotonic
        self.cpu = cpu or ProcessCpu()
        self.cpu_load = 0.0  # the latest reading, for metrics
        self.refused: Counter[str] = Counter()
        self._rooms: dict[str, Conference] = {}
        self._restoring: dict[str, RoomState] = {}  # taken by the room when it opens
        self._background: set[asyncio.Task[None]] = set()
        self._sampler = Sampler(self._sample)
        self.closed = False

    def get(self, room_id: str) -> Conference | None:
        return self._rooms.get(room_id)

    def is_live(self, room_id: str) -> bool:
        return room_id in self._rooms

    async def serve(
        self, ws: SignallingSocket, room_id: str, identity: ParticipantIdentity
    ) -> None:
        """One participant's connection, served here (``rooms.serve_participant``)."""
        from rooms.protocol.signalling import serve_socket  # it builds on this module

        await serve_socket(ws, self, room_id, identity)

    def _require(self, room_id: str) -> Conference:
        conference = self._rooms.get(room_id)
        if conference is None:
            raise UnknownRoom(f"no live room {room_id!r}")
        return conference

    def open(self, room_id: str) -> Conference:
        """The live room ``room_id``, created if needed."""
        if self.closed:
            raise UserError("the server is shutting down", code="shutting-down")
        conference = self._rooms.get(room_id)
        if conference is None:
            if len(self._rooms) >= self.config.max_rooms:
                raise UserError("too many rooms are open", code="too-many-rooms")
            conference = Conference(
                room_id,
                config=self.config,
                hooks=self._hooks,
                clock=self._clock,
                on_empty=self._discard,
                monotonic=self._monotonic,
            )
            self._rooms[room_id] = conference
            restored = self._restoring.pop(room_id, None)
            if restored is not None:
                conference.room.restore(restored)
                self._restore_document(conference, restored)
        return conference

    def join(
        self, room_id: str, identity: ParticipantIdentity, outbox: Outbox
    ) -> tuple[Conference, Member]:
        """Enter ``room_id`` (opening it), within the server's limits; raises if refused."""
        try:
            conference = self._rooms.get(room_id)
            if conference is None or not conference.knows(identity.key):
                self._check_load(conference, identity)
            conference = self.open(room_id)
            try:
                return conference, conference.join(identity, outbox)
            except RoomError:
                self.discard_if_empty(conference)
                raise
        except UserError as error:
            self.refused[error.code] += 1
            raise

    def _check_load(self, conference: Conference | None, identity: ParticipantIdentity) -> None:
        """Refuse a newcomer whose cost would take frames from the rooms already running."""
        limits = self.config.load
        self._start_sampling()
        self.cpu_load = self.cpu.load()
        if self.cpu_load >= limits.cpu_budget:
            raise UserError("the server is at capacity; try again later", code="server-busy")
        if (
            conference is not None
            and may(identity.role, Action.PUBLISH)
            and conference.wall.timer.load(self._monotonic()) >= limits.frame_budget
        ):
            raise UserError("this room's video is at capacity", code="room-busy")

    def _start_sampling(self) -> None:
        """Keep the CPU reading current while rooms are open (and for metrics)."""
        if not self.closed:
            self._sampler.start()

    def _sample(self) -> None:
        self.cpu_load = self.cpu.load()

    def _discard(self, conference: Conference) -> None:
        """Forget an empty room at once (a new join gets a fresh one) and close it."""
        if self._rooms.get(conference.room_id) is conference:
            del self._rooms[conference.room_id]
        self.run_in_background(conference.close())

    def run_in_background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run clean-up that must finish even if its caller is cancelled; ``close`` awaits it."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def discard_if_empty(self, conference: Conference) -> None:
        if not conference.room.participants and not conference.room.waiting:
            self._discard(conference)

    async def close_room(self, room_id: str) -> None:
        """Dismiss everyone in ``room_id`` and stop its media."""
        conference = self._rooms.pop(room_id, None)
        if conference is not None:
            await conference.close()

    async def close(self) -> None:
        self.closed = True
        await self._sampler.stop()
        rooms = list(self._rooms.values())
        self._rooms.clear()
        self._restoring.clear()
        await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self._hooks.close()

    # -- entry points for the server ----------------------------------------------

    def set_spotlight(self, room_id: str, participant_key: str | None) -> None:
        """Spotlight ``participant_key``'s tile, or go back to the grid with ``None``."""
        self._require(room_id).set_spotlight(participant_key)

    def add_marker(self, room_id: str, label: str, data: dict[str, Any] | None = None) -> Marker:
        return self._require(room_id).add_marker(label, data)

    def present_document(
        self, room_id: str, presenter: str, title: str, pages: list[str], page: int = 1
    ) -> None:
        """Put a document on ``room_id``'s wall for ``presenter`` (a participant who may
        present): ``pages`` are its pages as PNG files, ``page`` the one shown (from 1)."""
        self._require(room_id).present_document(presenter, title, list(pages), page)

    def presentation(self, room_id: str) -> dict[str, Any] | None:
        """What ``room_id`` presents (``room_state.presentation`` plus the page ``files``)."""
        return self._require(room_id).presentation()

    def share_screen(
        self, room_id: str, identity: ParticipantIdentity, outbox: Outbox
    ) -> tuple[Conference, ScreenSource]:
        """A second connection of a participant in ``room_id`` that carries its screen."""
        conference = self._require(room_id)
        return conference, conference.share_screen(identity, outbox)

    def start_recording(self, room_id: str) -> Recorder:
        return self._require(room_id).start_recording()

    def stop_recording(self, room_id: str) -> RecordingInfo:
        return self._require(room_id).stop_recording()

    def state(self, room_id: str) -> RoomState:
        """The live room's moderation state, to keep elsewhere (:mod:`rooms.state`)."""
        return self._require(room_id).room.state()

    @staticmethod
    def _restore_document(conference: Conference, state: RoomState) -> None:
        document = state.document
        if document is None:
            return
        try:
            conference.restore_document(document.presenter, document.title,
                                        list(document.files), document.page)
        except (RoomError, OSError):  # its files are gone: the room opens without it
            logger.warning("room %s: the document %r could not be shown again",
                           conference.room_id, document.title, exc_info=True)

    async def room_state(self, room_id: str) -> RoomState:
        """:meth:`state`, as :class:`~rooms.live.LiveRooms` asks it of any engine."""
        return self.state(room_id)

    def state_json(self, room_id: str) -> dict[str, Any]:
        """:meth:`state` as JSON (the entry point a worker answers)."""
        return self.state(room_id).to_json()

    def restore_json(self, room_id: str, state: dict[str, Any]) -> None:
        """:meth:`restore` from JSON (the entry point a worker takes)."""
        self.restore(room_id, RoomState.from_json(state))

    async def present(self, room_id: str, presenter: str, title: str, pages: list[str]) -> None:
        """:meth:`present_document` from its first page, as any engine takes it."""
        self.present_document(room_id, presenter, title, pages)

    def restore(self, room_id: str, state: RoomState) -> None:
        """Open ``room_id`` (at its first join) with ``state``; a live room keeps its own."""
        if room_id in self._rooms:
            raise UserError("the room is live; its state is its own", code="room-live")
        self._restoring[room_id] = state

    def room_ids(self) -> list[str]:
        return sorted(self._rooms)

    def stats(self) -> RegistryStats:
        """Numbers for metrics: totals and one entry per live room."""
        rooms = tuple(RoomStats(**room.stats()) for room in self._rooms.values())
        return RegistryStats(
            rooms=len(rooms),
            participants=sum(room.participants for room in rooms),
            hook_calls_dropped=self._hooks.dropped,
            cpu_load=self.cpu_load,
            refused=dict(self.refused),
            per_room=rooms,
        )
