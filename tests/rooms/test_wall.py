"""Compositor, fan-out tracks and the wall's frame making, without a network."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from rooms.layout import TileInfo, build_layout, grid_rects
from rooms.media.compositor import PLACEHOLDER, Compositor
from rooms.media.encoders import Vp8Encoder
from rooms.media.fanout import AudioPacketTrack, Fanout, VideoPacketTrack
from rooms.media.wall import Wall, WallSettings


def solid(rgb: tuple[int, int, int], width: int = 320, height: int = 240) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.full((height, width, 3), rgb, np.uint8), format="rgb24")


def centre(image: np.ndarray[Any, Any], rect: Any) -> np.ndarray[Any, Any]:
    return np.asarray(image[rect.y + rect.h // 2, rect.x + rect.w // 2], dtype=int)


def test_compositor_paints_each_tile_and_placeholders() -> None:
    comp = Compositor(640, 360)
    rects = grid_rects(3, 640, 360)
    comp.set_layout(dict(zip("abc", rects, strict=True)), {"a": True, "b": True, "c": True})
    comp.update("a", solid((255, 0, 0)))
    comp.update("b", solid((0, 0, 255), 640, 480))
    image = comp.compose().to_ndarray(format="rgb24")
    assert np.abs(centre(image, rects[0]) - (255, 0, 0)).max() < 12
    assert np.abs(centre(image, rects[1]) - (0, 0, 255)).max() < 12
    y, u, v = PLACEHOLDER
    planes = np.array([y] * 4 + [u, v], np.uint8).reshape(3, 2)  # one 2x2 yuv420p pixel block
    grey = av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24")[0, 0]
    assert np.abs(centre(image, rects[2]) - grey).max() < 4  # no picture yet


def test_compositor_rescales_only_changed_tiles() -> None:
    comp = Compositor(640, 360)
    rects = grid_rects(2, 640, 360)
    comp.set_layout({"a": rects[0], "b": rects[1]}, {"a": True, "b": True})
    comp.update("a", solid((255, 0, 0)))
    comp.update("b", solid((0, 255, 0)))
    comp.compose()
    assert comp.tiles_scaled == 2
    comp.compose()
    assert comp.tiles_scaled == 2  # nothing new, nothing scaled
    comp.update("b", solid((0, 0, 255)))
    comp.compose()
    assert comp.tiles_scaled == 3
    comp.set_layout({"a": rects[0], "b": rects[1]}, {"a": True, "b": False})
    image = comp.compose().to_ndarray(format="rgb24")
    assert comp.tiles_scaled == 4  # a layout change repaints; b's camera is off
    assert centre(image, rects[1]).max() < 60


def test_compositor_keeps_aspect_ratio() -> None:
    comp = Compositor(640, 360)
    rect = grid_rects(1, 640, 360)[0]
    comp.set_layout({"a": rect}, {"a": True})
    comp.update("a", solid((255, 255, 255), 240, 240))  # square camera
    image = comp.compose().to_ndarray(format="rgb24")
    row = image[rect.y + rect.h // 2]
    lit = np.flatnonzero(row[:, 0] > 200)
    assert abs((lit[-1] - lit[0] + 1) - rect.h) <= 4  # as wide as tall: letterboxed


def packets(count: int, *, keyframe_every: int = 0) -> list[av.Packet[Any]]:
    encoder = Vp8Encoder(width=160, height=90, fps=10, bitrate=200_000)
    out = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((135, 160), i * 7 % 255, np.uint8), format="yuv420p")
        frame.pts, frame.time_base = i * 9000, Fraction(1, 90000)
        key = bool(keyframe_every) and i % keyframe_every == 0
        out += encoder.encode(frame, keyframe=key)
    return out


async def test_video_track_starts_at_a_keyframe_and_resyncs_after_a_drop() -> None:
    requests: list[None] = []
    track = VideoPacketTrack(request_keyframe=lambda: requests.append(None), max_pending=3)
    stream = packets(12, keyframe_every=6)
    assert [p.is_keyframe for p in stream] == [True] + [False] * 5 + [True] + [False] * 5
    for p in stream[1:4]:
        track.push(p)  # delta frames before any keyframe: useless, dropped
    track.push(stream[6])
    track.push(stream[7])
    assert await track.recv() is stream[6]
    assert requests == []  # it already had its keyframe
    assert await track.recv() is stream[7]
    for p in stream[8:12]:
        track.push(p)  # a slow subscriber: the 4th push overflows
    assert len(requests) == 1
    track.push(stream[0])
    assert await track.recv() is stream[0]  # resumes at the next keyframe only
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_video_track_asks_for_a_keyframe_when_the_sender_starts() -> None:
    requests: list[None] = []
    track = VideoPacketTrack(request_keyframe=lambda: requests.append(None))
    stream = packets(7, keyframe_every=6)
    receiving = asyncio.create_task(track.recv())
    await asyncio.sleep(0)
    assert requests == [None]
    track.push(stream[1])  # still a delta frame: skipped
    track.push(stream[6])  # the keyframe the request produced
    assert await receiving is stream[6]
    track.stop()


async def test_audio_track_drops_oldest_and_fanout_shares_packets() -> None:
    fanout = Fanout()
    tracks = [AudioPacketTrack(max_pending=2) for _ in range(3)]
    for t in tracks:
        fanout.add(t)
    stream = packets(3)
    for p in stream:
        fanout.publish(p)
    for t in tracks:
        assert [await t.recv(), await t.recv()] == stream[1:]  # the same objects for all
    tracks[0].stop()
    fanout.publish(stream[0])
    assert len(fanout) == 2
    fanout.close()


async def test_wall_layout_and_stats() -> None:
    wall = Wall(WallSettings(width=320, height=180, fps=10), origin=0.0)
    layout = build_layout(
        [TileInfo(participant_id="a", display_name="A")], width=320, height=180
    )
    wall.set_layout(layout)
    wall.compositor.update("a", solid((0, 255, 0)))
    out = wall.produce(0.5)
    assert out[0].pts == 45000 and out[0].time_base == Fraction(1, 90000)
    decoded = av.CodecContext.create("vp8", "r").decode(out[0])[0].to_ndarray(format="rgb24")
    assert decoded[90, 160, 1] > 200
    stats = wall.stats()
    assert stats["frames_encoded"] == 1 and stats["tiles_scaled"] == 1
    await wall.close()
