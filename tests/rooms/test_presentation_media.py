"""A document's page and a shared screen in the wall that receivers decode, and in a recording."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from .client import RoomClient
from .conftest import RoomServer
from .documents import pages
from .test_wall_media import tile_colour

pytestmark = pytest.mark.media

RED, GREEN, BLUE, GREY = (210, 30, 30), (30, 190, 40), (30, 40, 210), (128, 128, 128)


def area_shows(client: RoomClient, area: dict[str, Any], rgb: tuple[int, int, int]) -> bool:
    """Whether the middle of ``area`` (fractions of the wall) in the latest decoded frame
    has the colour ``rgb``."""
    if client.latest_frame is None:
        return False
    image = client.latest_frame.to_ndarray(format="rgb24")
    return bool(np.abs(tile_colour(image, area) - rgb).max() < 40)


async def test_receivers_decode_the_document_page_in_the_presentation_area(
    room_server: RoomServer, tmp_path: Path
) -> None:
    host = await room_server.client("host", role="host", colour=GREY, receive_audio=False)
    site = await room_server.client("site", role="site", colour=GREY, receive_audio=False)
    await asyncio.gather(host.connect_media(), site.connect_media())
    await site.wait_frames(1)
    room_server.registry.present_document(
        "r1", "host", "Art. 1254", pages(tmp_path / "doc", [RED, GREEN]))
    layout = await site.expect("layout", lambda n: n["mode"] == "presentation")
    area = layout["presentation"]
    assert area["h"] == 1.0 and area["w"] < 0.5  # a portrait page, full height at the left
    for client in (host, site):
        await client.until(lambda c=client: area_shows(c, area, RED))  # type: ignore[misc]
    # The camera tiles are still there, in their own places.
    image = site.latest_frame.to_ndarray(format="rgb24")  # type: ignore[union-attr]
    for tile in layout["tiles"]:
        assert np.abs(tile_colour(image, tile) - GREY).max() < 40
    await host.send("document_page", page=2)
    await site.until(lambda: area_shows(site, area, GREEN))
    stats = room_server.registry.stats().per_room[0]
    scaled = stats.tiles_scaled
    await site.wait_frames(10)  # a still page is not scaled again frame after frame
    assert room_server.registry.stats().per_room[0].tiles_scaled - scaled < 10 * 2


async def test_a_shared_screen_shows_in_the_presentation_area_and_receives_nothing(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host", colour=GREY, receive_audio=False)
    site = await room_server.client("site", role="site", receive_audio=False)
    await asyncio.gather(host.connect_media(), site.connect_media())
    screen = await room_server.client("host", role="host", join=False, colour=BLUE,
                                      receive_video=False, receive_audio=False)
    await screen.send("share_screen")
    await site.expect("room_state", lambda n: (n["presentation"] or {}).get("kind") == "screen")
    await screen.connect_media()
    await screen.wait_connected()
    layout = await site.expect("layout", lambda n: n["mode"] == "presentation")
    area = layout["presentation"]
    await site.until(lambda: area_shows(site, area, BLUE))
    assert screen.pc is not None
    (transceiver,) = screen.pc.getTransceivers()
    assert transceiver.currentDirection == "sendonly"  # the server sends the screen nothing
    assert screen.frames == 0
    await screen.close()
    grid = await site.expect("layout", lambda n: n["mode"] == "grid")
    await site.until(lambda: area_shows(site, grid["tiles"][0], GREY))


async def test_the_recording_has_the_document_in_it(
    room_server: RoomServer, tmp_path: Path
) -> None:
    host = await room_server.client("host", role="host", colour=GREY, receive_audio=False)
    await host.connect_media()
    await host.wait_frames(1)
    room_server.registry.present_document("r1", "host", "Notice", pages(tmp_path / "d", [RED]))
    layout = await host.expect("layout", lambda n: n["mode"] == "presentation")
    await host.until(lambda: area_shows(host, layout["presentation"], RED))
    room_server.registry.start_recording("r1")
    await host.wait_frames(20)
    room_server.registry.stop_recording("r1")
    (path,) = room_server.recordings.glob("r1-*.webm")
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) >= 10
    assert np.abs(tile_colour(frames[-1], layout["presentation"]) - RED).max() < 40
