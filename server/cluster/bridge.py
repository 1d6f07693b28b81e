"""Node-to-node bridges: a participant's socket on one node, its room on another.

The node that holds the participant's WebSocket (whichever the load balancer chose)
opens a WebSocket of its own to the room's node, at the internal bridge endpoint
(``/internal/cluster/rooms/<room>/bridge``), and relays text frames both ways as they
are: a message added to the protocol later passes without a change here.

The room's node cannot check the participant's session (it never saw the request),
so the edge node vouches for the identity it decided: it signs the room, a
timestamp and the identity with HMAC-SHA256 under ``YIZHAN_CLUSTER_SECRET``. The
room's node refuses a bridge without a valid signature, or one older (or newer)
than :data:`MAX_SKEW_S`, so a captured handshake cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from rooms import ParticipantIdentity, Role
from server.core.errors import Forbidden, NotAuthenticated

log = logging.getLogger("yizhan.cluster")

IDENTITY_HEADER = "X-Yizhan-Identity"
TIMESTAMP_HEADER = "X-Yizhan-Timestamp"
SIGNATURE_HEADER = "X-Yizhan-Signature"
MAX_SKEW_S = 30.0
# Close codes a participant leaves with (as rooms/protocol/signalling.py reads them);
# any other end of the page's socket reaches the room as 4000, "reconnecting".
LEAVING = frozenset({WSCloseCode.OK, WSCloseCode.GOING_AWAY})
RECONNECTING = 4000
# The room's node went away under the bridge: the page reconnects and finds the room again.
ROOM_MOVING = WSCloseCode.SERVICE_RESTART  # 1012
CLOSE_WAIT_S = 5.0  # how long one side's end may take to arrive once the other saw it coming


def bridge_path(room_id: str) -> str:
    return f"/internal/cluster/rooms/{room_id}/bridge"


def _identity_text(identity: ParticipantIdentity) -> str:
    data = {"key": identity.key, "display_name": identity.display_name,
            "role": str(identity.role), "tags": sorted(identity.tags)}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode()


def _signature(secret: str, room_id: str, timestamp: str, identity: str) -> str:
    message = f"{room_id}\n{timestamp}\n{identity}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, room_id: str, identity: ParticipantIdentity, now: float) -> dict[str, str]:
    """The headers that vouch for ``identity`` in ``room_id`` at ``now`` (epoch seconds)."""
    text, timestamp = _identity_text(identity), f"{now:.3f}"
    return {IDENTITY_HEADER: text, TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: _signature(secret, room_id, timestamp, text)}


def verify(secret: str, room_id: str, headers: dict[str, str] | object,
           now: float) -> ParticipantIdentity:
    """The identity a bridge's headers vouch for; refuses a missing, forged or stale one."""
    get = getattr(headers, "get")  # noqa: B009 - CIMultiDictProxy or a plain dict
    text, timestamp, signature = (get(IDENTITY_HEADER), get(TIMESTAMP_HEADER),
                                  get(SIGNATURE_HEADER))
    if not (isinstance(text, str) and isinstance(timestamp, str)
            and isinstance(signature, str)):
        raise NotAuthenticated("A bridge must be signed by a node of the cluster.")
    expected = _signature(secret, room_id, timestamp, text)
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("The bridge's signature does not match.")
    try:
        at = float(timestamp)
    except ValueError:
        raise Forbidden("The bridge's timestamp is not a number.") from None
    if abs(now - at) > MAX_SKEW_S:
        raise Forbidden("The bridge's signature has expired.")
    try:
        data = json.loads(base64.urlsafe_b64decode(text.encode()))
        return ParticipantIdentity(key=str(data["key"]), display_name=str(data["display_name"]),
                                   role=Role(data["role"]), tags=frozenset(data["tags"]))
    except (ValueError, KeyError, TypeError):
        raise Forbidden("The bridge's identity does not parse.") from None


async def relay(page: web.WebSocketResponse, room: aiohttp.ClientWebSocketResponse) -> None:
    """Pass text frames both ways until either side ends; the other hears how it ended.

    The page's leaving (a close frame with 1000/1001) reaches the room as it was said;
    any other end of the page's socket as 4000, so the room holds the place. The room's
    own close (a domain refusal, a flooder's 1008, ``removed``) reaches the page as it was
    said; a room's node that vanished reaches it as 1012, and the page reconnects.

    How the page ended is noted the moment its close frame is read. The room's socket is
    then closed with a full close handshake (the room's node answers before the
    connection goes), and a pump that cannot write to the other side (it is closing) waits
    for that side's end to arrive instead of racing it.
    """
    page_said: list[int] = []  # the code of the page's own close frame, once read
    page_done, room_done = asyncio.Event(), asyncio.Event()

    async def page_to_room() -> None:
        try:
            while True:
                frame = await page.receive()
                if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if frame.type == WSMsgType.CLOSE:
                        page_said.append(int(frame.data))
                    return
                try:
                    if frame.type == WSMsgType.TEXT:
                        await room.send_str(frame.data)
                    else:
                        await room.send_bytes(frame.data)
                except (ConnectionError, RuntimeError):
                    await _within(room_done, CLOSE_WAIT_S)  # the room's end is on its way
                    return
        finally:
            page_done.set()

    async def room_to_page() -> None:
        try:
            while not page_done.is_set():  # once the page ended, only the close is left
                frame = await room.receive()
                if frame.type == WSMsgType.TEXT:
                    try:
                        await page.send_str(frame.data)
                    except (ConnectionError, RuntimeError):
                        await _within(page_done, CLOSE_WAIT_S)  # the page's end is on its way
                        return
                elif frame.type == WSMsgType.CLOSE and frame.data != WSCloseCode.ABNORMAL_CLOSURE:
                    reason = frame.extra if isinstance(frame.extra, str) else ""
                    await page.close(code=frame.data, message=reason.encode())
                    return
                elif frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                    WSMsgType.ERROR):
                    await page.close(code=ROOM_MOVING, message=b"room moving")
                    return
        finally:
            room_done.set()

    to_room, to_page = (asyncio.create_task(page_to_room()),
                        asyncio.create_task(room_to_page()))
    try:
        done, _ = await asyncio.wait([to_room, to_page], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None:
                log.info("bridge ended: %r", task.exception())
    finally:
        await _stopped(to_room)
        if not room.closed:
            # Closed while `to_page` may still wait in `receive()`: aiohttp then ends that
            # receive and waits for the room's node to answer the close frame. (Cancelling
            # the receive first marks the socket as broken, and aiohttp would then drop
            # the connection right after the frame; the room's node, still busy, could see
            # the drop before the frame and take a leave for a lost connection.)
            leaving = bool(page_said) and page_said[0] in LEAVING
            with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
                await room.close(code=page_said[0] if leaving else RECONNECTING,
                                 message=b"leave" if leaving else b"reconnecting")
        await asyncio.wait([to_page], timeout=CLOSE_WAIT_S)
        await _stopped(to_page)
        if not page.closed:
            await page.close(code=ROOM_MOVING, message=b"room moving")


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _within(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
