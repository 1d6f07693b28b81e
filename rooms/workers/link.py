"""The web process's handle on one room's worker: its process, its socket, its channels.

:meth:`RoomWorker.start` spawns ``python -m rooms.workers.main`` with one end
of a Unix socket pair, sends the :class:`~rooms.workers.wire.WorkerSpec` and
waits for ``ready``. :meth:`RoomWorker.run` then reads what the worker says
until its socket ends: hook calls go to the web process's hook dispatcher (in
order), text frames and closes to the participant channels, results to the
pending calls, stats to :attr:`RoomWorker.stats`. A worker that ends without
``bye`` has crashed: everyone still in its room is recorded as having left
(at the web process's clock) and every channel is closed with 1012
("room-restarting"), which pages take as "come back". A worker that goes silent
(it sends its stats every second) is killed by the registry's watchdog and ends the same
way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from rooms.errors import UnknownRoom, UserError
from rooms.hooks import HookDispatcher
from rooms.identity import ParticipantIdentity
from rooms.stats import RegistryStats
from rooms.workers import wire

logger = logging.getLogger("rooms.workers")

CLOSE_RESTARTING = aiohttp.WSCloseCode.SERVICE_RESTART  # 1012: the page comes back
CLOSE_RESTARTING_REASON = "room-restarting"
WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "rooms.workers.main")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder above rooms/


class WorkerFailed(UserError):
    """The room's worker process could not be started, or broke: the room is unavailable."""

    default_code = "room-unavailable"


@dataclass(eq=False)
class Channel:
    """One participant's socket as the worker sees it: what goes out to the client."""

    number: int
    identity: ParticipantIdentity
    outgoing: asyncio.Queue[str | tuple[int, str]]  # text frames, then (close code, reason)
    ended: bool = False  # the worker (or its end) closed it

    def close(self, code: int, reason: str) -> None:
        if not self.ended:
            self.ended = True
            with contextlib.suppress(asyncio.QueueFull):  # a full queue: the client is gone
                self.outgoing.put_nowait((code, reason))


@dataclass(eq=False)
class RoomWorker:
    room_id: str
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    hooks: HookDispatcher
    clock: Callable[[], datetime]
    clock_offset_s: float = 0.0
    max_outgoing: int = 1024
    channels: dict[int, Channel] = field(default_factory=dict)
    present: dict[str, ParticipantIdentity] = field(default_factory=dict)
    stats: RegistryStats | None = None
    stopping: bool = False
    served: bool = False  # a participant has been bridged to it (a fresh one is not idle)
    said_bye: bool = False
    crashed: bool = False
    hung: bool = False  # killed for going silent (see ProcessRoomRegistry's watchdog)
    heard_at: float = field(default_factory=time.monotonic)  # its latest frame (stats: 1 s)
    _calls: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _next_channel: int = 0
    _next_call: int = 0
    on_stats: Callable[[RoomWorker], None] | None = None

    # -- starting ----------------------------------------------------------------------

    @classmethod
    async def start(
        cls, spec: wire.WorkerSpec, *, hooks: HookDispatcher, clock: Callable[[], datetime],
        command: Sequence[str] = WORKER_COMMAND, start_timeout: float = 30.0,
    ) -> RoomWorker:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        try:
            process = await asyncio.create_subprocess_exec(
                *command, str(child.fileno()), pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL, env=env,
                start_new_session=True)  # a Ctrl-C in the terminal is the web process's to handle
        except OSError as exc:
            parent.close()
            raise WorkerFailed(f"could not start the room's worker: {exc}") from None
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = cls(spec.room_id, process, reader, writer, hooks, clock,
                     clock_offset_s=spec.clock_offset_s,
                     max_outgoing=4 * spec.config.max_outbox)
        try:
            writer.write(wire.pack(pickle.dumps(spec)))
            await writer.drain()
            hello = await asyncio.wait_for(wire.read_message(reader), start_timeout)
            if hello is None or hello["t"] != "ready":
                raise wire.WireError(f"expected ready, got {hello and hello['t']!r}")
        except (TimeoutError, wire.WireError, ConnectionError) as exc:
            await worker.kill()
            code = process.returncode
            logger.error("room %s: the worker did not start (%s; exit code %s)",
                         spec.room_id, exc or "timed out", code)
            raise WorkerFailed(
                f"the room's worker did not start (exit code {code})") from None
        worker.heard_at = time.monotonic()  # a slow start is not silence
        logger.info("room %s: worker %d started", spec.room_id, process.pid)
        return worker

    # -- sending -----------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self.crashed and not self.said_bye and not self.writer.is_closing()

    def post(self, message: dict[str, Any]) -> None:
        """Queue a frame for the worker (in order with every other); dropped once it is gone."""
        if not self.alive:
            return
        now = self.clock()
        offset = (now - datetime.now(now.tzinfo)).total_seconds()
        if abs(offset - self.clock_offset_s) > 0.5:  # a test's clock moved: say so first
            self.clock_offset_s = offset
            self.writer.write(wire.frame({"t": "clock", "offset": offset}))
        self.writer.write(wire.frame(message))

    async def send(self, message: dict[str, Any]) -> None:
        """:meth:`post`, then wait while the socket's buffer is full."""
        self.post(message)
        if self.alive:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.writer.drain()

    def open(self, identity: ParticipantIdentity) -> Channel:
        self._next_channel += 1
        self.served = True
        channel = Channel(self._next_channel, identity, asyncio.Queue(self.max_outgoing))
        if not self.alive:  # it ended just now: come back to a fresh one
            channel.close(CLOSE_RESTARTING, CLOSE_RESTARTING_REASON)
            return channel
        self.channels[channel.number] = channel
        self.post({"t": "open", "ch": channel.number,
                   "identity": wire.identity_to_wire(identity)})
        return channel

    def forget(self, channel: Channel) -> None:
        if self.channels.get(channel.number) is channel:
            del self.channels[channel.number]

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        """Call ``name`` on the worker's registry; the future has its result or RoomError."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self.alive:
            future.set_exception(UnknownRoom(f"no live room {self.room_id!r}"))
            return future
        self._next_call += 1
        self._calls[self._next_call] = future
        self.post({"t": "call", "id": self._next_call, "name": name,
                   "args": [wire.to_wire(a) for a in args],
                   "kwargs": {k: wire.to_wire(v) for k, v in kwargs.items()}})
        return future

    def stop(self) -> None:
        """Ask the worker to close its room and exit."""
        self.stopping = True
        self.post({"t": "stop"})

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.writer.close()

    # -- reading -----------------------------------------------------------------------

    async def run(self) -> None:
        """Read the worker until its socket ends; then settle what it leaves behind."""
        try:
            while (message := await wire.read_message(self.reader)) is not None:
                self.heard_at = time.monotonic()
                self._handle(message)
        except wire.WireError as exc:
            logger.error("room %s: malformed frame from worker %d (%s); stopping it",
                         self.room_id, self.process.pid, exc)
            await self.kill()
        except (ConnectionError, OSError) as exc:
            logger.warning("room %s: lost the worker's socket (%s)", self.room_id, exc)
        finally:
            self._ended()
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.writer.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5.0)
            except TimeoutError:
                await self.kill()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind in ("text", "close"):
            channel = self.channels.get(wire.field(message, "ch", int))
            if channel is None or channel.ended:
                return  # the client went first
            if kind == "close":
                channel.close(wire.field(message, "code", int), wire.field(message, "reason", str))
                return
            try:
                channel.outgoing.put_nowait(wire.field(message, "data", str))
            except asyncio.QueueFull:  # the client stopped reading its socket
                logger.warning("%s is not reading its notices; disconnecting",
                               channel.identity.key)
                channel.close(aiohttp.WSCloseCode.POLICY_VIOLATION, "too slow")
        elif kind == "join":
            identity = wire.identity_from_wire(message.get("identity"))
            self.present[identity.key] = identity
            self.hooks.joined(self.room_id, identity, _time(message))
        elif kind == "leave":
            identity = wire.identity_from_wire(message.get("identity"))
            self.present.pop(identity.key, None)
            self.hooks.left(self.room_id, identity, _time(message))
        elif kind == "event":
            self.hooks.event(self.room_id, wire.event_from_wire(message.get("event")))
        elif kind in ("result", "error"):
            future = self._calls.pop(wire.field(message, "id", int), None)
            if future is None:
                raise wire.WireError("a reply to no call")
            if not future.done():
                if kind == "result":
                    future.set_result(message.get("value"))
                else:
                    future.set_exception(wire.error_from_wire(message.get("error")))
        elif kind == "stats":
            self.stats = wire.stats_from_wire(message.get("stats"))
            if self.on_stats is not None:
                self.on_stats(self)
        elif kind == "bye":
            self.said_bye = True
        else:
            raise wire.WireError(f"unknown frame {kind!r}")

    def _ended(self) -> None:
        if not self.said_bye:
            self.crashed = True
        at = self.clock()
        for identity in list(self.present.values()):  # the gap starts now
            self.hooks.left(self.room_id, identity, at)
        self.present.clear()
        for channel in list(self.channels.values()):
            channel.close(CLOSE_RESTARTING, CLOSE_RESTARTING_REASON)
        for future in self._calls.values():
            if not future.done():
                future.set_exception(UnknownRoom(f"the worker of room {self.room_id!r} ended"))
        self._calls.clear()


def _time(message: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(wire.field(message, "at", str))
    except ValueError:
        raise wire.WireError("not a time") from None
