"""The stamp survives what the wall does to a picture: VP8, scaling into a tile, VP8 again."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from bench import clip, pixelcode
from bench.receivers import Box, fit
from rooms.layout import TileInfo, build_layout
from rooms.media.encoders import Vp8Encoder
from rooms.media.wall import WallSettings


def test_paint_and_read_back_every_bit() -> None:
    luma = np.full((480, 640), 90, dtype=np.uint8)
    for stamp in [pixelcode.Stamp(0, 0), pixelcode.Stamp(2**32 - 1, 255),
                  pixelcode.Stamp(123_456_789, 14)]:
        pixelcode.paint(luma, stamp)
        assert pixelcode.read(luma) == stamp


def test_a_misread_stamp_fails_its_check() -> None:
    luma = np.full((480, 640), 90, dtype=np.uint8)
    pixelcode.paint(luma, pixelcode.Stamp(77, 3))
    luma[:40, :40] = 255 - luma[:40, :40]  # flip the first block
    assert pixelcode.read(luma) is None
    for flat in (16, 235):
        assert pixelcode.read(np.full((480, 640), flat, dtype=np.uint8)) is None


def test_stamps_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        pixelcode.paint(np.zeros((480, 640), np.uint8), pixelcode.Stamp(2**32, 0))


def test_round_trip_through_a_15_tile_wall() -> None:
    """Publisher's VP8 -> decode -> scale into the smallest tile -> the wall's VP8 -> read."""
    frames = clip.encode_video(sender=9, frames=12)
    layout = build_layout(
        [TileInfo(participant_id=str(i), display_name=str(i)) for i in range(15)],
        width=1280, height=720,
    )
    tile = layout.tiles[-1].rect
    place = fit(Box(tile.x, tile.y, tile.w, tile.h), clip.WIDTH / clip.HEIGHT)
    settings = WallSettings()
    wall = Vp8Encoder(width=1280, height=720, fps=25, bitrate=settings.start_bitrate,
                      cpu_used=settings.cpu_used)
    camera = av.CodecContext.create("vp8", "r")
    viewer = av.CodecContext.create("vp8", "r")
    canvas = np.full((720 * 3 // 2, 1280), 128, dtype=np.uint8)
    canvas[:720] = 16
    read = []
    for index, encoded in enumerate(frames):
        (picture,) = camera.decode(av.Packet(encoded.data))
        scaled = picture.reformat(width=int(place.w), height=int(place.h), format="yuv420p")
        plane = scaled.planes[0]
        luma = np.frombuffer(memoryview(plane), dtype=np.uint8)
        luma = luma.reshape(plane.height, plane.line_size)[:, : plane.width]
        x, y = int(place.x), int(place.y)
        canvas[y : y + luma.shape[0], x : x + luma.shape[1]] = luma
        frame = av.VideoFrame.from_ndarray(canvas, format="yuv420p")
        frame.pts = index * 3600
        frame.time_base = Fraction(1, 90000)
        for packet in wall.encode(frame, keyframe=index == 0):
            for shown in viewer.decode(packet):
                read.append(pixelcode.read(shown.to_ndarray()[:720], place.x, place.y,
                                           place.w, place.h))
    assert place.w < 260  # a third of the camera's width: the code must survive that
    assert read == [pixelcode.Stamp(counter=i, sender=9) for i in range(len(frames))]
