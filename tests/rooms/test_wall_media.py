"""The wall over real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import numpy as np
import pytest

from .client import RoomClient
from .conftest import RoomServer, poll

pytestmark = pytest.mark.media

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "yellow": (230, 220, 30),
}


def tile_colour(image: np.ndarray[Any, Any], tile: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Median colour of the middle half of a tile (rectangles come as fractions)."""
    height, width = image.shape[:2]
    x0, x1 = tile["x"] + tile["w"] / 4, tile["x"] + 3 * tile["w"] / 4
    y0, y1 = tile["y"] + tile["h"] / 4, tile["y"] + 3 * tile["h"] / 4
    region = image[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)]
    return np.asarray(np.median(region.reshape(-1, 3), axis=0))


def colours_match(client: RoomClient, layout: dict[str, Any]) -> bool:
    assert client.latest_frame is not None
    image = client.latest_frame.to_ndarray(format="rgb24")
    return all(
        np.abs(tile_colour(image, tile) - COLOURS[tile["participant_id"]]).max() < 45
        for tile in layout["tiles"]
    )


async def test_every_receiver_finds_every_colour_in_its_tile(room_server: RoomServer) -> None:
    clients = [
        await room_server.client(
            name, role="host" if i == 0 else "site", colour=rgb, receive_audio=False
        )
        for i, (name, rgb) in enumerate(COLOURS.items())
    ]
    await asyncio.gather(*(c.connect_media() for c in clients))
    for c in clients:
        await c.wait_connected()
    for c in clients:
        layout = await c.expect("layout", lambda n: len(n["tiles"]) == len(COLOURS))
        assert layout["mode"] == "grid"
        assert [t["participant_id"] for t in layout["tiles"]] == list(COLOURS)
        await c.wait_frames(1)
        await c.until(partial(colours_match, c, layout))
    assert [s for s in clients[0].states if s != "connecting"] == ["connected"]
    stats = room_server.registry.stats().per_room[0]
    assert stats.participants == 4
    assert stats.video_subscribers == 4
    assert stats.frames_encoded > 0 and stats.video_bytes_sent > 0


async def test_newcomer_decodes_within_a_second_and_pli_forces_a_keyframe(
    room_server: RoomServer,
) -> None:
    publisher = await room_server.client("red", role="host", colour=COLOURS["red"], receive_audio=False)
    await publisher.connect_media()
    await publisher.wait_frames(3)  # the wall is running, deep into delta frames

    newcomer = await room_server.client("obs", role="observer", receive_audio=False)
    await newcomer.connect_media()
    await newcomer.wait_connected()
    await newcomer.wait_frames(1)
    assert newcomer.connected_at is not None and newcomer.first_frame_at is not None
    delay = newcomer.first_frame_at - newcomer.connected_at
    assert delay < 1.0, f"first wall frame {delay:.3f} s after connecting"

    # A PLI from the newcomer's receiver reaches the shared encoder.
    conference = room_server.registry.get("r1")
    assert conference is not None
    wall = conference.wall
    server_peer = conference._members["obs"].peer
    assert server_peer is not None
    (sender,) = [s for s in server_peer.pc.getSenders() if s.track is not None]
    assert newcomer.pc is not None
    (receiver,) = [r for r in newcomer.pc.getReceivers() if r.track.kind == "video"]
    await asyncio.sleep(wall.settings.keyframe_interval)  # let the rate limit pass
    before = wall.keyframes_sent
    await receiver._send_rtcp_pli(sender._ssrc)
    await poll(lambda: wall.keyframes_sent > before)
