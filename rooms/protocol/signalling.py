"""The WebSocket edge: one coroutine per participant connection.

Messages are handled one at a time, in order, and the reader lets the event
loop run between two of them (frames that arrived together are otherwise
handled without a pause, and no socket's writer could send a thing until
the whole burst was done). Each is parsed into a :mod:`rooms.protocol.messages` value;
any :class:`~rooms.errors.RoomError` goes back as an ``error`` notice and
changes nothing, any other exception as ``internal-error`` (and into the log).

Each connection may send :data:`~rooms.protocol.throttle.MESSAGE_BURST` messages at
once and :data:`~rooms.protocol.throttle.MESSAGE_RATE` a second; the rest get a
``rate-limited`` error with ``retry_after`` and change nothing (``leave`` is
always obeyed). A connection that floods on regardless is closed with 1008.

Notices go out through a bounded :class:`~rooms.protocol.notice_queue.NoticeQueue`
that keeps only the newest of each state notice, so that the room's changes
never fill it; only a client that stops reading its socket lets it fill up,
and that client (no other) is disconnected.

A connection that ends with ``leave``, or that the client closes with code 1000
(normal) or 1001 (going away: its page was closed), leaves the room at once; one
that just ends (the network went away, the client was too slow, or it closed with
another code such as a page's own 4000 "reconnecting") keeps the participant's
place for a while (:meth:`Conference.disconnect`), so that it can come back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

import aiohttp
from aiohttp import web

from rooms.conference import Conference
from rooms.errors import ProtocolError, RoomError, UserError
from rooms.identity import ParticipantIdentity
from rooms.member import Member, ScreenSource
from rooms.protocol import messages as msg
from rooms.protocol import notices as nt
from rooms.protocol.notice_queue import NoticeQueue, QueueFull
from rooms.protocol.throttle import FLOOD_LIMIT, MESSAGE_BURST, MESSAGE_RATE, TokenBucket

if TYPE_CHECKING:
    from rooms.live import LiveRooms
    from rooms.registry import RoomRegistry

logger = logging.getLogger(__name__)
CLOSE_TIMEOUT = 5.0
CLOSE_FLOODING = aiohttp.WSCloseCode.POLICY_VIOLATION  # 1008
CLOSE_FLOODING_REASON = "too many messages"
# Close codes with which a client leaves (normal closure, going away); any other
# code, and a connection lost without a close frame, keeps the place for a while.
LEAVING_CLOSE_CODES = frozenset({aiohttp.WSCloseCode.OK, aiohttp.WSCloseCode.GOING_AWAY})


class SignallingSocket(Protocol):
    """What a connection needs of its socket: aiohttp's ``WebSocketResponse``, or a
    room worker's stand-in for the one the web process holds (:mod:`rooms.workers.main`)."""

    async def receive(self) -> aiohttp.WSMessage: ...

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = aiohttp.WSCloseCode.OK, message: bytes = b"") -> bool: ...


class _Stage(Enum):
    NEW = "new"
    IN_ROOM = "in_room"
    SCREEN = "screen"  # a second connection carrying the participant's screen
    DONE = "done"


class _Connection:
    """One participant's socket: reads messages, writes notices (the room's ``Outbox``)."""

    def __init__(
        self,
        ws: SignallingSocket,
        registry: RoomRegistry,
        room_id: str,
        identity: ParticipantIdentity,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ws = ws
        self._registry = registry
        self._room_id = room_id
        self._identity = identity
        self._queue = NoticeQueue(registry.config.max_outbox)
        self._messages = TokenBucket(MESSAGE_RATE, MESSAGE_BURST, clock=monotonic)
        self._refusals = TokenBucket(MESSAGE_RATE, FLOOD_LIMIT, clock=monotonic)
        self._close_code: int = aiohttp.WSCloseCode.OK
        self._close_reason = b""
        self._closing = False
        self._stage = _Stage.NEW
        self._conference: Conference | None = None
        self._member: Member | None = None
        self._screen: ScreenSource | None = None
        self._said_leave = False

    # -- Outbox ------------------------------------------------------------------------

    def send(self, notice: nt.Notice) -> None:
        if self._closing:
            return
        try:
            self._queue.put(notice)
        except QueueFull:
            # State notices are coalesced, so only events fill the queue, and
            # only while this client's own socket takes nothing.
            logger.warning("%s is not reading its notices; disconnecting", self._identity.key)
            self._queue.clear()
            self.close()

    def close(self) -> None:
        """Send what is queued, then close the socket."""
        if not self._closing:
            self._closing = True
            self._queue.close()

    async def _write(self) -> None:
        try:
            while (notice := await self._queue.get()) is not None:
                await self._ws.send_str(notice.to_json())
        except (ConnectionError, RuntimeError):
            logger.debug("socket of %s closed while writing", self._identity.key)
        finally:
            self._closing = True
            await self._ws.close(code=self._close_code, message=self._close_reason)

    # -- reading -----------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._write(), name=f"ws-writer-{self._identity.key}")
        try:
            while True:
                frame = await self._ws.receive()
                if frame.type == aiohttp.WSMsgType.TEXT:
                    await self._handle(frame.data)
                elif frame.type == aiohttp.WSMsgType.BINARY:
                    if self._within_rate(None):
                        self._error(
                            ProtocolError("binary frames are not part of the protocol"), None)
                else:
                    self._note_close(frame)
                    break
                if self._stage is _Stage.DONE or self._closing:
                    break
                # Frames that came in together are read without a pause: let
                # the writers (this socket's and everyone else's) run.
                await asyncio.sleep(0)
        finally:
            # aiohttp may cancel this handler when the client goes away; the
            # clean-up runs on regardless, in a task the registry waits for.
            self.close()
            await asyncio.shield(self._registry.run_in_background(self._finish(writer)))

    def _note_close(self, frame: aiohttp.WSMessage) -> None:
        """A client that closes its socket with 1000 or 1001 has left, as with ``leave``.

        A browser closes with 1001 (going away) when its page is closed or navigated
        away, before or instead of sending ``leave``. Only the close frame the client
        sent itself counts: a socket that ended without one (the network went away, a
        crashed browser, a ping unanswered) or that the server was closing anyway
        (a flooder, a client that stopped reading) keeps the place.
        """
        if (frame.type == aiohttp.WSMsgType.CLOSE and not self._closing
                and frame.data in LEAVING_CLOSE_CODES):
            self._said_leave = True

    async def _finish(self, writer: asyncio.Task[None]) -> None:
        await self._leave()
        try:
            await asyncio.wait_for(writer, CLOSE_TIMEOUT)
        except TimeoutError:
            logger.warning("closing the socket of %s timed out", self._identity.key)

    def _error(self, error: RoomError, request: str | None) -> None:
        self.send(nt.ErrorNotice(code=error.code, message=error.message, request=request,
                                 retry_after=error.retry_after))

    def _within_rate(self, request: str | None) -> bool:
        """Take a token for one message; if there is none, refuse it (and maybe the client)."""
        if self._messages.take():
            return True
        wait = round(max(self._messages.retry_after(), 0.001), 3)
        self.send(nt.ErrorNotice(
            code="rate-limited",
            message=f"too many messages: at most {MESSAGE_RATE:g} a second "
                    f"({MESSAGE_BURST} at once); try again in {wait:g} s",
            request=request,
            retry_after=wait,
        ))
        if not self._refusals.take():
            logger.warning("%s keeps flooding the room with messages; disconnecting",
                           self._identity.key)
            self._close_code = CLOSE_FLOODING
            self._close_reason = CLOSE_FLOODING_REASON.encode()
            self.close()
        return False

    async def _handle(self, text: str) -> None:
        request: str | None = None
        try:
            try:
                message = msg.parse_client_message(text)
            except RoomError:
                if not self._within_rate(None):
                    return
                raise
            request = message.type
            if not isinstance(message, msg.Leave) and not self._within_rate(request):
                return
            await self._dispatch(message)
        except RoomError as error:
            self._error(error, request)
        except Exception:
            logger.exception("internal error handling %s from %s", request, self._identity.key)
            self.send(
                nt.ErrorNotice(code="internal-error", message="internal error", request=request)
            )

    async def _dispatch(self, message: msg.ClientMessage) -> None:
        if isinstance(message, msg.Leave):
            self._stage = _Stage.DONE
            self._said_leave = True
            return
        if self._stage is _Stage.NEW:
            if isinstance(message, msg.ShareScreen):
                self._conference, self._screen = self._registry.share_screen(
                    self._room_id, self._identity, self)
                self._stage = _Stage.SCREEN
                return
            if not isinstance(message, msg.Join):
                raise ProtocolError(f"send join before {message.type}", code="not-joined")
            self._conference, self._member = self._registry.join(
                self._room_id, self._identity, self)
            self._stage = _Stage.IN_ROOM
            return
        if self._stage is _Stage.SCREEN:
            await self._dispatch_screen(message)
            return
        room, member = self._conference, self._member
        if room is None or member is None:
            raise ProtocolError("not in a room", code="not-joined")
        if isinstance(message, msg.Join):
            raise UserError("already in this room", code="already-joined")
        if not member.admitted:
            raise ProtocolError("wait until a host admits you", code="waiting")
        match message:
            case msg.Offer(sdp=sdp):
                answer = await room.offer(member, sdp)
                self.send(nt.AnswerNotice(sdp=answer))
            case msg.Answer():
                raise ProtocolError(
                    "the server has no offer outstanding; clients offer", code="out-of-order"
                )
            case msg.Ice():
                await room.ice(member, message)
            case _:
                room.act(member, message)

    async def _dispatch_screen(self, message: msg.ClientMessage) -> None:
        """A screen connection offers its one video and trickles ICE; nothing else."""
        conference, source = self._conference, self._screen
        if conference is None or source is None:
            raise ProtocolError("not sharing a screen", code="not-joined")
        match message:
            case msg.Offer(sdp=sdp):
                answer = await conference.screen_offer(source, sdp)
                self.send(nt.AnswerNotice(sdp=answer))
            case msg.Ice():
                await conference.screen_ice(source, message)
            case _:
                raise ProtocolError(
                    f"a screen connection sends only offer, ice and leave, not {message.type}",
                    code="screen-only")

    async def _leave(self) -> None:
        """``leave`` leaves; a socket that just went away keeps its place for a while."""
        self._stage = _Stage.DONE
        if self._conference is not None and self._screen is not None:
            conference, source = self._conference, self._screen
            self._conference = self._screen = None
            await conference.end_screen(source)
            return
        if self._conference is not None and self._member is not None:
            conference, member = self._conference, self._member
            self._conference = self._member = None
            if self._said_leave:
                await conference.leave(member)
            else:
                await conference.disconnect(member)


async def serve_socket(
    ws: SignallingSocket, registry: RoomRegistry, room_id: str, identity: ParticipantIdentity
) -> None:
    """Serve one participant in this process's ``registry`` (:func:`serve_participant`)."""
    await _Connection(ws, registry, room_id, identity).run()


async def serve_participant(
    ws: web.WebSocketResponse,
    registry: LiveRooms,
    room_id: str,
    identity: ParticipantIdentity,
) -> None:
    """Speak the room protocol on a prepared WebSocket until either side ends it.

    The server authenticates the user, builds ``identity`` (its role is
    never taken from the client), calls ``await ws.prepare(request)`` and
    then this. On return the participant has left the room and the socket
    is closed. ``registry`` serves it in this process (:class:`~rooms.RoomRegistry`)
    or bridges it to the room's worker process (:class:`~rooms.ProcessRoomRegistry`).
    """
    await registry.serve(ws, room_id, identity)
