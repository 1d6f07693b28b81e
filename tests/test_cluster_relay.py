"""The bridge's relay between a page's socket and its room's node, over real sockets.

How the page's socket ended must reach the room as it was said: a page that closed
with 1000 or 1001 has left (its place is given up), anything else is 4000 (the place is
held for its return). The room's own close reaches the page as it was said.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestServer

from server.cluster import bridge

CHATTER_S = 0.001  # the room talks all the time: the relay is always reading both ways
BUSY_S = 0.02


@dataclass
class Rooms:
    """The far end: a room's node that echoes, chatters, and notes how each socket ended."""

    url: str = ""
    ends: list[tuple[WSMsgType, object]] = field(default_factory=list)
    closed: asyncio.Queue[None] = field(default_factory=asyncio.Queue)
    close_with: int | None = None  # the room closes each socket with this after a hello

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)

        async def chatter() -> None:
            while not ws.closed:
                await ws.send_str('{"type":"layout"}')
                await asyncio.sleep(CHATTER_S)

        talking = asyncio.create_task(chatter())
        try:
            while True:
                frame = await ws.receive()
                if frame.type == WSMsgType.TEXT:
                    await ws.send_str("echo " + frame.data)
                    if self.close_with is not None:
                        await ws.close(code=self.close_with, message=b"refused")
                    # Busy a moment between reads, as a room's node is (it hands each frame
                    # to the room's worker): a connection dropped right after the close
                    # frame would be seen before the frame is read.
                    await asyncio.sleep(BUSY_S)
                else:
                    self.ends.append((frame.type, frame.data))
                    break
        except asyncio.CancelledError:  # the connection dropped under the handler
            self.ends.append((WSMsgType.CLOSED, "dropped"))
            raise
        except Exception as exc:
            self.ends.append((WSMsgType.ERROR, repr(exc)))
        finally:
            self.closed.put_nowait(None)
            talking.cancel()
            await asyncio.gather(talking, return_exceptions=True)
        return ws


@pytest.fixture
async def edge() -> AsyncIterator[tuple[str, Rooms]]:
    """An edge node whose sockets are relayed, as a bridge does, to the room's node."""
    rooms = Rooms()
    far = web.Application()
    far.router.add_get("/room", rooms.handle)
    async with TestServer(far, host="127.0.0.1") as far_server, \
            aiohttp.ClientSession() as upstreams:

        async def handle(request: web.Request) -> web.WebSocketResponse:
            page = web.WebSocketResponse()
            await page.prepare(request)
            room = await upstreams.ws_connect(str(far_server.make_url("/room")))
            await bridge.relay(page, room)
            return page

        near = web.Application()
        near.router.add_get("/ws", handle)
        async with TestServer(near, host="127.0.0.1") as near_server:
            yield str(near_server.make_url("/ws")), rooms


async def page_says_hello(http: aiohttp.ClientSession,
                          url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url)
    await ws.send_str("hello")
    while (frame := await ws.receive(timeout=10)).data != "echo hello":
        assert frame.type == WSMsgType.TEXT
    await ws.send_str("one more")  # the page's last words: the room is busy with them
    return ws


@pytest.mark.parametrize("code", [WSCloseCode.OK, WSCloseCode.GOING_AWAY])
async def test_a_page_that_leaves_reaches_the_room_as_leaving_every_time(
        edge: tuple[str, Rooms], code: int) -> None:
    url, rooms = edge
    async with aiohttp.ClientSession() as http:
        for _ in range(40):  # the close races the room's chatter: it must win every time
            ws = await page_says_hello(http, url)
            await ws.close(code=code)
            await asyncio.wait_for(rooms.closed.get(), 10)
    assert rooms.ends == [(WSMsgType.CLOSE, code)] * 40


async def test_a_page_cut_off_keeps_its_place(edge: tuple[str, Rooms]) -> None:
    url, rooms = edge
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            ws = await page_says_hello(http, url)
            connection = ws._response.connection
            assert connection is not None and connection.transport is not None
            connection.transport.abort()  # no close frame: the link died
            await asyncio.wait_for(rooms.closed.get(), 10)
            await ws.close()
    assert rooms.ends == [(WSMsgType.CLOSE, bridge.RECONNECTING)] * 5


async def test_the_room_s_own_close_reaches_the_page_as_it_was_said(
        edge: tuple[str, Rooms]) -> None:
    url, rooms = edge
    rooms.close_with = 4503
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(url)
        await ws.send_str("hello")
        while (frame := await ws.receive(timeout=10)).type == WSMsgType.TEXT:
            pass
        assert (frame.type, frame.data, frame.extra) == (WSMsgType.CLOSE, 4503, "refused")
