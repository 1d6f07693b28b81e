"""A room's worker process: ``python -m rooms.workers.main FD``.

``FD`` is this process's end of a Unix stream socket to the web process
(:mod:`rooms.workers.wire`). The worker reads its :class:`WorkerSpec`, runs a
one-room :class:`~rooms.RoomRegistry` on an event loop that keeps media in the
configured port range, serves each participant the web process bridges to it
with the ordinary :func:`~rooms.protocol.signalling.serve_socket` over a
stand-in socket (:class:`ParentSocket`), and sends the room's hook calls and
numbers back. When the socket ends (the web process died) the worker closes
its room and exits: no orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import pickle
import socket
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import aioice.ice

from rooms.errors import RoomError, UserError
from rooms.events import RoomEvent
from rooms.identity import ParticipantIdentity
from rooms.load import ProcessCpu
from rooms.protocol.signalling import serve_socket
from rooms.registry import RoomRegistry
from rooms.workers import wire
from rooms.workers.ports import PortRange, RangedEventLoop

logger = logging.getLogger("rooms.worker")
STATS_INTERVAL_S = 1.0
CLOSE_TIMEOUT_S = 10.0


class Link:
    """This worker's end of the socket: ordered frames out, flushed as they go."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.broken = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            self._writer.write(wire.frame(message))
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            self.broken = True

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.close()
            await self._writer.wait_closed()


class ForwardingHooks:
    """:class:`~rooms.RoomHooks` that hand every call to the web process, in order."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._worker.link.send({"t": "join", "identity": wire.identity_to_wire(identity),
                                      "at": at.isoformat()})
        await self._worker.send_stats()  # the room is live as of now

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        await self._worker.link.send({"t": "leave", "identity": wire.identity_to_wire(identity),
                                      "at": at.isoformat()})
        await self._worker.send_stats()

    async def on_event(self, room_id: str, event: RoomEvent) -> None:
        await self._worker.link.send({"t": "event", "event": wire.event_to_wire(event)})


class SharedCpu:
    """The machine's load as admission sees it: this worker's, plus what the web process
    says everyone else (itself and the other workers) takes."""

    def __init__(self) -> None:
        self.own = ProcessCpu()
        self.others = 0.0

    def load(self) -> float:
        return self.own.load() + self.others


class ParentSocket:
    """The participant's WebSocket as the signalling code sees it, one channel of the link."""

    def __init__(self, link: Link, channel: int) -> None:
        self._link = link
        self._channel = channel
        self._incoming: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self.closed = False

    def feed(self, message: aiohttp.WSMessage) -> None:
        self._incoming.put_nowait(message)

    async def receive(self) -> aiohttp.WSMessage:
        return await self._incoming.get()

    async def send_str(self, data: str) -> None:
        if self.closed:
            raise ConnectionResetError("the participant's socket is closed")
        await self._link.send({"t": "text", "ch": self._channel, "data": data})

    async def close(self, *, code: int = aiohttp.WSCloseCode.OK, message: bytes = b"") -> bool:
        if self.closed:
            return False
        self.closed = True
        await self._link.send({"t": "close", "ch": self._channel, "code": int(code),
                               "reason": message.decode(errors="replace")})
        self.feed(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None))
        return True


class Worker:
    def __init__(self, spec: wire.WorkerSpec, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.spec = spec
        self.link = Link(writer)
        self._reader = reader
        self._offset = timedelta(seconds=spec.clock_offset_s)
        self.cpu = SharedCpu()
        self.registry = RoomRegistry(spec.config, hooks=ForwardingHooks(self), clock=self.clock,
                                     cpu=self.cpu)
        if spec.restore is not None:  # the room moved here: its state waits for its first join
            self.registry.restore_json(spec.room_id, spec.restore)
        self._channels: dict[int, ParentSocket] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def clock(self) -> datetime:
        """The web process's clock: UTC now, plus the offset it says its clock has."""
        return datetime.now(UTC) + self._offset

    async def send_stats(self) -> None:
        stats = self.registry.stats()
        own = self.cpu.own.load()
        stats = dataclasses.replace(
            stats, cpu_load=own,
            per_room=tuple(dataclasses.replace(r, process_cpu=own) for r in stats.per_room))
        await self.link.send({"t": "stats", "stats": wire.to_wire(stats)})

    async def _report(self) -> None:
        while True:
            await self.send_stats()
            await asyncio.sleep(STATS_INTERVAL_S)

    async def run(self) -> None:
        await self.link.send({"t": "ready", "pid": os.getpid()})
        reporter = asyncio.create_task(self._report())
        told_to_stop = False
        try:
            while (message := await wire.read_message(self._reader)) is not None:
                if message["t"] == "stop":
                    told_to_stop = True
                    break
                await self._handle(message)
        except wire.WireError:
            logger.exception("malformed frame from the web process; closing the room")
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            try:
                await asyncio.wait_for(self._close(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                logger.warning("room %s took over %.0f s to close", self.spec.room_id,
                               CLOSE_TIMEOUT_S)
            if told_to_stop:
                await self.send_stats()
                await self.link.send({"t": "bye"})
            await self.link.close()

    async def _close(self) -> None:
        await self.registry.close()  # dismisses everyone; the hooks send their leaving
        for channel in self._channels.values():
            channel.feed(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None))
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind in ("text", "binary", "closed"):
            channel = self._channels.get(wire.field(message, "ch", int))
            if channel is not None:  # a channel that has already ended: nothing to do
                channel.feed(_ws_message(message))
        elif kind == "open":
            self._open(wire.field(message, "ch", int),
                       wire.identity_from_wire(message.get("identity")))
        elif kind == "call":
            await self._call(message)
        elif kind == "clock":
            self._offset = timedelta(seconds=wire.field(message, "offset", (int, float)))
        elif kind == "load":
            self.cpu.others = float(wire.field(message, "others", (int, float)))
        else:
            raise wire.WireError(f"unknown frame {kind!r}")

    def _open(self, number: int, identity: ParticipantIdentity) -> None:
        if number in self._channels:
            raise wire.WireError(f"channel {number} is already open")
        channel = self._channels[number] = ParentSocket(self.link, number)
        task = asyncio.create_task(
            serve_socket(channel, self.registry, self.spec.room_id, identity),
            name=f"participant-{identity.key}")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._channels.get(number) is channel:
                del self._channels[number]

        task.add_done_callback(done)

    async def _call(self, message: dict[str, Any]) -> None:
        call_id = wire.field(message, "id", int)
        name = wire.field(message, "name", str)
        args = message.get("args", [])
        kwargs = message.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise wire.WireError("a call's args are a list and its kwargs an object")
        try:
            if name not in wire.ENTRY_POINTS:
                raise UserError(f"{name!r} is not an entry point of a room", code="unknown-call")
            result = getattr(self.registry, name)(self.spec.room_id, *args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
        except RoomError as error:
            await self.link.send({"t": "error", "id": call_id,
                                  "error": wire.error_to_wire(error)})
        except Exception:
            logger.exception("entry point %s failed", name)
            await self.link.send({"t": "error", "id": call_id, "error": wire.error_to_wire(
                RoomError("internal error", code="internal-error"))})
        else:
            await self.link.send({"t": "result", "id": call_id, "value": wire.to_wire(result)})


def _ws_message(message: dict[str, Any]) -> aiohttp.WSMessage:
    kind = message["t"]
    if kind == "text":
        return aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, wire.field(message, "data", str), None)
    if kind == "binary":
        return aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"", None)
    code = message.get("code")
    if code is None:  # the socket ended without the client's close frame
        return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None)
    return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, wire.field(message, "code", int), "")


def _read_spec(sock: socket.socket) -> wire.WorkerSpec:
    """The first frame, read before the event loop starts: the pickled spec."""
    head = _read_exactly(sock, 4)
    payload = _read_exactly(sock, int.from_bytes(head, "big"))
    spec = pickle.loads(payload)  # noqa: S301 (from our own parent, over its own socket)
    if not isinstance(spec, wire.WorkerSpec):
        raise SystemExit("the first frame is not a WorkerSpec")
    return spec


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes and not one more: what follows belongs to the event loop's reader."""
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise SystemExit("the web process closed the socket before sending the room")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


async def _serve(sock: socket.socket, spec: wire.WorkerSpec) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    await Worker(spec, reader, writer).run()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        raise SystemExit("usage: python -m rooms.workers.main FD (started by the web process)")
    sock = socket.socket(fileno=int(args[0]))
    spec = _read_spec(sock)
    sock.setblocking(False)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s room-worker[{spec.room_id}] %(name)s: %(message)s")
    logging.getLogger("aioice").setLevel(logging.WARNING)  # a line per ICE check otherwise
    if spec.host_addresses:
        addresses = list(spec.host_addresses)
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: addresses
    ports = PortRange(*spec.media_ports) if spec.media_ports else None
    started = time.monotonic()
    with asyncio.Runner(loop_factory=(lambda: RangedEventLoop(ports)) if ports else None) as run:
        run.run(_serve(sock, spec))
    logger.info("room %s closed after %.0f s", spec.room_id, time.monotonic() - started)
    # Whatever a media thread may still be doing, the room is over: never linger as an orphan.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
