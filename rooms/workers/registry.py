"""All live rooms of a server, each in a worker process of its own.

The same surface as :class:`~rooms.RoomRegistry` (:class:`~rooms.live.LiveRooms`),
so the server picks one by a setting. The web process keeps the WebSockets:
:meth:`ProcessRoomRegistry.serve` starts the room's worker on a participant's
first frame (or finds it), then relays the socket's text frames both ways
without reading them, so new protocol messages need no change here. The
worker's hook calls come back through this registry's own
:class:`~rooms.hooks.HookDispatcher`, in order, to the server's
:class:`~rooms.RoomHooks`.

Admission: the web process refuses a new room when ``max_rooms`` workers run
or the machine's CPU (this process plus every worker, as each reports) is at
its budget; inside a room the worker's own registry decides as ever, with a
CPU probe that adds what the others take. A room whose worker crashed ends
alone: its participants are told to come back (1012), come back to a fresh
worker, and the crash is a log line and :attr:`restarts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from rooms.config import RoomConfig
from rooms.errors import ProtocolError, RoomError, UnknownRoom, UserError
from rooms.hooks import Clock, HookDispatcher, NoHooks, RoomHooks, utc_now
from rooms.identity import ParticipantIdentity
from rooms.load import LOAD_SAMPLE_S, CpuProbe, ProcessCpu, Sampler
from rooms.permissions import Action, may
from rooms.protocol import messages as msg
from rooms.protocol import notices as nt
from rooms.protocol.signalling import SignallingSocket
from rooms.state import RoomState
from rooms.stats import RegistryStats
from rooms.workers import wire
from rooms.workers.link import WORKER_COMMAND, Channel, RoomWorker, WorkerFailed
from rooms.workers.ports import PortRange

logger = logging.getLogger("rooms.workers")
CALL_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 5.0
WORKER_SILENT_S = 10.0  # a worker silent this long (it reports every second) is killed
RETRY_AFTER_FAILURE_S = 2.0  # a room whose worker would not start is not retried sooner


class ProcessRoomRegistry:
    def __init__(
        self,
        config: RoomConfig | None = None,
        *,
        hooks: RoomHooks | None = None,
        clock: Clock = utc_now,
        cpu: CpuProbe | None = None,
        media_ports: PortRange | None = None,
        host_addresses: Sequence[str] = (),
        command: Sequence[str] = WORKER_COMMAND,
        start_timeout: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        silent_after_s: float = WORKER_SILENT_S,
    ) -> None:
        self.config = config or RoomConfig()
        self._hooks = HookDispatcher(hooks or NoHooks())
        self._clock = clock
        self.cpu = cpu or ProcessCpu()  # this process's own share; workers report theirs
        self.media_ports = media_ports
        self.host_addresses = tuple(host_addresses)
        self.command = tuple(command)
        self.start_timeout = start_timeout
        self.silent_after_s = silent_after_s
        self.hung = 0  # workers killed for going silent
        self._sampled_at = time.monotonic()
        self._monotonic = monotonic
        self.cpu_load = 0.0
        self.refused: Counter[str] = Counter()
        self.restarts = 0
        self._workers: dict[str, RoomWorker] = {}
        self._restoring: dict[str, RoomState] = {}  # handed to the room's next worker
        self._starting: dict[str, asyncio.Task[RoomWorker]] = {}
        self._failed_at: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._sampler = Sampler(self._sample)
        self.closed = False

    # -- the rooms -------------------------------------------------------------------------

    def is_live(self, room_id: str) -> bool:
        worker = self._workers.get(room_id)
        if worker is None or not worker.alive:
            return False
        return bool(worker.present) or bool(worker.stats and worker.stats.per_room)

    def room_ids(self) -> list[str]:
        return sorted(self._workers)

    def worker_pid(self, room_id: str) -> int | None:
        worker = self._workers.get(room_id)
        return None if worker is None else worker.process.pid

    def worker_pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers.values()]

    async def _worker_for(self, room_id: str) -> RoomWorker:
        """The room's running worker, started if needed (within the limits)."""
        if self.closed:
            raise UserError("the server is shutting down", code="shutting-down")
        worker = self._workers.get(room_id)
        if worker is not None and worker.alive and not worker.stopping:
            return worker
        starting = self._starting.get(room_id)
        if starting is None:
            if len(self._workers) + len(self._starting) >= self.config.max_rooms:
                raise UserError("too many rooms are open", code="too-many-rooms")
            self.cpu_load = self._machine_load()
            if self.cpu_load >= self.config.load.cpu_budget:
                raise UserError("the server is at capacity; try again later", code="server-busy")
            failed = self._failed_at.get(room_id)
            if failed is not None and self._monotonic() - failed < RETRY_AFTER_FAILURE_S:
                raise WorkerFailed("the room is unavailable; try again shortly")
            starting = asyncio.create_task(self._start(room_id), name=f"start-room-{room_id}")
            self._starting[room_id] = starting
        return await asyncio.shield(starting)

    async def _start(self, room_id: str) -> RoomWorker:
        try:
            now = self._clock()
            spec = wire.WorkerSpec(
                room_id=room_id, config=self.config,
                media_ports=(self.media_ports.first, self.media_ports.last)
                if self.media_ports else None,
                host_addresses=self.host_addresses,
                clock_offset_s=(now - datetime.now(UTC)).total_seconds(),
                restore=restoring.to_json() if (restoring := self._restoring.pop(room_id, None))
                else None)
            try:
                worker = await RoomWorker.start(spec, hooks=self._hooks, clock=self._clock,
                                                command=self.command,
                                                start_timeout=self.start_timeout)
            except WorkerFailed:
                self._failed_at[room_id] = self._monotonic()
                raise
            self._failed_at.pop(room_id, None)
            worker.on_stats = self._idle_check
            self._workers[room_id] = worker
            self._start_sampling()
            self.run_in_background(self._watch(worker))
            return worker
        finally:
            self._starting.pop(room_id, None)

    async def _watch(self, worker: RoomWorker) -> None:
        await worker.run()
        if self._workers.get(worker.room_id) is worker:
            del self._workers[worker.room_id]
        if worker.crashed and not (worker.stopping and self.closed):
            self.restarts += 1
            logger.warning("room %s: worker %d ended (exit code %s); its participants rejoin"
                           " a fresh one", worker.room_id, worker.process.pid,
                           worker.process.returncode)

    def _idle_check(self, worker: RoomWorker) -> None:
        """A worker whose room has closed and who serves nobody is told to stop."""
        stats = worker.stats
        if (stats is not None and worker.served and not stats.per_room and not worker.channels
                and not worker.stopping and not self.closed):
            if self._workers.get(worker.room_id) is worker:
                del self._workers[worker.room_id]  # the next participant gets a fresh one
            worker.stop()

    # -- load ------------------------------------------------------------------------------

    def _machine_load(self) -> float:
        return self.cpu.load() + sum(w.stats.cpu_load for w in self._workers.values() if w.stats)

    def _start_sampling(self) -> None:
        if not self.closed:
            self._sampler.start()

    def _sample(self) -> None:
        """Keep each worker told what everyone else takes (its admission adds its own),
        and kill the workers that stopped answering."""
        self._watchdog()
        own = self.cpu.load()
        loads = {room: (w.stats.cpu_load if w.stats else 0.0)
                 for room, w in self._workers.items()}
        self.cpu_load = own + sum(loads.values())
        for room, worker in list(self._workers.items()):
            worker.post({"t": "load", "others": self.cpu_load - loads[room]})

    def _watchdog(self) -> None:
        """A worker that has said nothing for ``silent_after_s`` (it reports every second)
        is hung: stopped, deadlocked, or its loop blocked. It is killed, and its room ends as
        after a crash: its participants are told 1012 and come back to a fresh worker.

        If this process itself was stalled (its sampler late), nobody is judged this time.
        """
        now = time.monotonic()
        stalled = now - self._sampled_at > 3 * LOAD_SAMPLE_S
        self._sampled_at = now
        for worker in list(self._workers.values()):
            if stalled:
                worker.heard_at = max(worker.heard_at, now)
            elif (not worker.hung and not worker.stopping
                  and now - worker.heard_at > self.silent_after_s):
                worker.hung = True
                self.hung += 1
                logger.error("room %s: worker %d stopped answering (silent %.1f s); killing it",
                             worker.room_id, worker.process.pid, now - worker.heard_at)
                self.run_in_background(worker.kill())

    # -- participants ------------------------------------------------------------------------

    async def serve(
        self, ws: SignallingSocket, room_id: str, identity: ParticipantIdentity
    ) -> None:
        """Bridge one participant's socket to the room's worker until either side ends it.

        The worker is found (or started) on the first text frame; while that is
        refused each message gets the refusal as an ``error`` notice, as the engine's
        own ``join`` refusals do, and the page asks again later.
        """
        worker: RoomWorker | None = None
        first: str | None = None
        while worker is None:
            frame = await ws.receive()
            if frame.type == aiohttp.WSMsgType.BINARY:
                await _send_error(ws, ProtocolError("binary frames are not part of the protocol"),
                                  None)
                continue
            if frame.type != aiohttp.WSMsgType.TEXT:
                return
            try:
                worker = await self._worker_for(room_id)
                first = frame.data
            except UserError as error:
                self.refused[error.code] += 1
                if not await _refuse(ws, error, frame.data):
                    await ws.close()
                    return
        channel = worker.open(identity)
        writer = asyncio.create_task(_write(ws, channel), name=f"ws-writer-{identity.key}")
        code: int | None = None
        try:
            await worker.send({"t": "text", "ch": channel.number, "data": first})
            while not channel.ended:
                frame = await ws.receive()
                if frame.type == aiohttp.WSMsgType.TEXT:
                    await worker.send({"t": "text", "ch": channel.number, "data": frame.data})
                elif frame.type == aiohttp.WSMsgType.BINARY:
                    await worker.send({"t": "binary", "ch": channel.number})
                else:
                    if frame.type == aiohttp.WSMsgType.CLOSE:
                        code = int(frame.data)
                    break
        finally:
            worker.post({"t": "closed", "ch": channel.number, "code": code})
            await asyncio.shield(self.run_in_background(self._finish(worker, channel, writer)))

    async def _finish(self, worker: RoomWorker, channel: Channel,
                      writer: asyncio.Task[None]) -> None:
        """Wait (a while) for the worker to close the channel, then close the socket."""
        try:
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT_S)
        except TimeoutError:
            channel.close(aiohttp.WSCloseCode.GOING_AWAY, "")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer, CLOSE_TIMEOUT_S)
        worker.forget(channel)
        if worker.stats is not None:
            self._idle_check(worker)

    def run_in_background(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- entry points ---------------------------------------------------------------------

    def _live(self, room_id: str) -> RoomWorker:
        worker = self._workers.get(room_id)
        if worker is None or not self.is_live(room_id):
            raise UnknownRoom(f"no live room {room_id!r}")
        return worker

    async def call(self, room_id: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the entry point ``name`` of the room's registry in its worker; its result as
        JSON (dataclasses by field), or the ``RoomError`` it raised."""
        if name not in wire.ENTRY_POINTS:
            raise ValueError(f"{name!r} is not an entry point (rooms.workers.wire.ENTRY_POINTS)")
        future = self._live(room_id).call(name, args, kwargs)
        try:
            return await asyncio.wait_for(future, CALL_TIMEOUT_S)
        except TimeoutError:
            raise RoomError(f"room {room_id!r} did not answer {name}",
                            code="internal-error") from None

    def post(self, room_id: str, name: str, *args: Any, **kwargs: Any) -> None:
        """:meth:`call` without waiting, for the synchronous entry points; in order with
        every other frame to the worker, and a refusal the worker sends back is logged."""
        if name not in wire.ENTRY_POINTS:
            raise ValueError(f"{name!r} is not an entry point (rooms.workers.wire.ENTRY_POINTS)")
        future = self._live(room_id).call(name, args, kwargs)
        future.add_done_callback(lambda f: _log_refusal(room_id, name, f))

    def set_spotlight(self, room_id: str, participant_key: str | None) -> None:
        worker = self._live(room_id)
        if participant_key is not None:
            identity = worker.present.get(participant_key)
            if identity is None:
                raise UserError(f"no participant {participant_key!r}", code="unknown-participant")
            if not may(identity.role, Action.PUBLISH):
                raise UserError(f"{participant_key!r} does not publish media",
                                code="not-a-publisher")
        self.post(room_id, "set_spotlight", participant_key)

    def add_marker(self, room_id: str, label: str, data: dict[str, Any] | None = None) -> None:
        self.post(room_id, "add_marker", label, data)

    def start_recording(self, room_id: str) -> None:
        self.post(room_id, "start_recording")

    def stop_recording(self, room_id: str) -> None:
        self.post(room_id, "stop_recording")

    async def room_state(self, room_id: str) -> RoomState:
        return RoomState.from_json(await self.call(room_id, "state_json"))

    def restore(self, room_id: str, state: RoomState) -> None:
        if room_id in self._workers or room_id in self._starting:
            raise UserError("the room is live; its state is its own", code="room-live")
        self._restoring[room_id] = state

    async def present(self, room_id: str, presenter: str, title: str, pages: list[str]) -> None:
        await self.call(room_id, "present", presenter, title, list(pages))

    async def close_room(self, room_id: str) -> None:
        with contextlib.suppress(UnknownRoom):
            await self.call(room_id, "close_room")

    # -- numbers and the end -----------------------------------------------------------------

    def stats(self) -> RegistryStats:
        reports = [w.stats for w in self._workers.values() if w.stats is not None]
        refused = Counter(self.refused)
        for report in reports:
            refused.update(report.refused)
        per_room = tuple(sorted((room for report in reports for room in report.per_room),
                                key=lambda room: room.room_id))
        return RegistryStats(
            rooms=len(per_room),
            participants=sum(room.participants for room in per_room),
            hook_calls_dropped=self._hooks.dropped
            + sum(report.hook_calls_dropped for report in reports),
            cpu_load=self.cpu_load,
            refused=dict(refused),
            per_room=per_room,
            workers=len(self._workers),
            worker_restarts=self.restarts,
            workers_hung=self.hung,
        )

    async def close(self) -> None:
        """Close every room (their leaving reaches the hooks), stop every worker, then the hooks."""
        self.closed = True
        await self._sampler.stop()
        for starting in list(self._starting.values()):
            with contextlib.suppress(Exception):
                worker = await starting
                worker.stop()
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            worker.stop()
        await asyncio.gather(*(self._stopped(w) for w in workers), return_exceptions=True)
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self._hooks.close()

    async def _stopped(self, worker: RoomWorker) -> None:
        try:
            await asyncio.wait_for(worker.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            logger.warning("room %s: worker %d did not stop; killed", worker.room_id,
                           worker.process.pid)
            await worker.kill()


async def _write(ws: SignallingSocket, channel: Channel) -> None:
    """What the worker says to the client, in order; its close closes the socket."""
    code: int = aiohttp.WSCloseCode.OK
    reason = ""
    try:
        while True:
            item = await channel.outgoing.get()
            if isinstance(item, tuple):
                code, reason = item
                break
            await ws.send_str(item)
    except (ConnectionError, RuntimeError):
        logger.debug("socket of %s closed while writing", channel.identity.key)
    finally:
        channel.ended = True
        await ws.close(code=code, message=reason.encode())


async def _refuse(ws: SignallingSocket, error: UserError, text: str) -> bool:
    """Answer a message that found no room as the engine answers a refused ``join``;
    False when it was ``leave`` (the socket is done)."""
    request = None
    try:
        message = msg.parse_client_message(text)
    except RoomError as parse_error:
        await _send_error(ws, parse_error, None)
        return True
    if isinstance(message, msg.Leave):
        return False
    request = message.type
    if not isinstance(message, msg.Join):
        await _send_error(ws, ProtocolError(f"send join before {request}", code="not-joined"),
                          request)
        return True
    await _send_error(ws, error, request)
    return True


async def _send_error(ws: SignallingSocket, error: RoomError, request: str | None) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(
            nt.ErrorNotice(code=error.code, message=error.message, request=request).to_json())


def _log_refusal(room_id: str, name: str, future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        logger.warning("room %s refused %s: %s", room_id, name, error)


__all__ = ["ProcessRoomRegistry"]
