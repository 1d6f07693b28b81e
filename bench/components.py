"""The wall's two hot spots, each fix measured beside what it replaced, in one process.

Both use a realistic wall: 15 tiles, every one changing every frame (the
clips of the load clients, decoded). CPU time per wall frame is process
time, so other load on the machine does not count.

* compose: a new libswscale context per decoded frame (``frame.reformat``,
  what the compositor did) against one kept per tile (``VideoReformatter``);
* encode: libvpx VP8 realtime at ``cpu-used`` 8 (the old default) against 12
  (the new one), with the PSNR of what a receiver decodes;
* wall compose with 14 cameras: the grid against the presentation layout with a still
  document page (scaled once per page turn, not every frame).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from bench import clip
from bench.scenarios import Options

FRAMES = 75
WALL = (1280, 720)


def _tiles(count: int) -> list[tuple[int, int, int, int]]:
    """The fitted picture rectangles of a 4x4 grid (as rooms.layout places 15 tiles)."""
    from rooms.layout import TileInfo, build_layout

    layout = build_layout([TileInfo(participant_id=str(i), display_name=str(i))
                           for i in range(count)], width=WALL[0], height=WALL[1])
    rects = [t.rect.fit(clip.WIDTH / clip.HEIGHT) for t in layout.tiles]
    return [(r.x, r.y, r.w, r.h) for r in rects]


def _decoded(count: int) -> list[list[av.VideoFrame]]:
    out = []
    for sender in range(count):
        decoder = av.CodecContext.create("vp8", "r")
        frames: list[av.VideoFrame] = []
        for encoded in clip.video_clip(sender)[:FRAMES]:
            frames.extend(decoder.decode(av.Packet(encoded.data)))
        out.append(frames)
    return out


def _compose(decoded: list[list[av.VideoFrame]], tiles: list[tuple[int, int, int, int]],
             keep_scalers: bool) -> tuple[float, list[np.ndarray[Any, Any]]]:
    canvas = np.full((WALL[1], WALL[0]), 16, dtype=np.uint8)
    scalers = [VideoReformatter() for _ in tiles]
    walls = []
    spent = 0.0
    for index in range(FRAMES):
        started = time.process_time()
        for tile, (x, y, w, h) in enumerate(tiles):
            frame = decoded[tile][index]
            if keep_scalers:
                scaled = scalers[tile].reformat(frame, width=w, height=h, format="yuv420p")
            else:
                scaled = frame.reformat(width=w, height=h, format="yuv420p")
            plane = scaled.planes[0]
            luma = np.frombuffer(memoryview(plane), dtype=np.uint8)
            canvas[y : y + h, x : x + w] = luma.reshape(h, plane.line_size)[:, :w]
        spent += time.process_time() - started
        walls.append(canvas.copy())
    return 1000 * spent / FRAMES, walls


def _encode(walls: list[np.ndarray[Any, Any]], cpu_used: int, bitrate: int) -> dict[str, float]:
    from rooms.media.encoders import Vp8Encoder

    encoder = Vp8Encoder(width=WALL[0], height=WALL[1], fps=25, bitrate=bitrate,
                         cpu_used=cpu_used)
    decoder = av.CodecContext.create("vp8", "r")
    spent, size, psnr = 0.0, 0, []
    chroma = np.full((WALL[1] // 2, WALL[0]), 128, dtype=np.uint8)
    for index, luma in enumerate(walls):
        frame = av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")
        frame.pts = index * 3600
        frame.time_base = Fraction(1, 90000)
        started = time.process_time()
        packets = encoder.encode(frame, keyframe=index == 0)
        spent += time.process_time() - started
        for packet in packets:
            size += packet.size
            for out in decoder.decode(packet):
                got = out.to_ndarray()[: WALL[1]].astype(np.float64)
                mse = float(np.mean((got - luma) ** 2))
                psnr.append(10 * np.log10(255**2 / max(mse, 1e-9)))
    return {
        "ms_per_frame": round(1000 * spent / len(walls), 2),
        "kbps": round(8 * size / (len(walls) / 25) / 1000),
        "psnr_db": round(float(np.mean(psnr[5:])), 2),
    }


def _wall_compose(decoded: list[list[av.VideoFrame]], presenting: bool,
                  runs: int = 5) -> dict[str, float]:
    """The real compositor, 14 changing cameras: the grid against the presentation layout
    with a still A4 page (its page turned once, at the middle of the run)."""
    from rooms.layout import TileInfo, build_layout
    from rooms.media.compositor import Compositor

    infos = [TileInfo(participant_id=str(i), display_name=str(i)) for i in range(14)]
    layout = build_layout(infos, width=WALL[0], height=WALL[1],
                          presentation=210 / 297 if presenting else None)
    pages = [av.VideoFrame.from_ndarray(np.full((720, 509, 3), shade, dtype=np.uint8),
                                        format="rgb24").reformat(format="yuv420p")
             for shade in (240, 200)]
    medians = []
    for _ in range(runs):
        compositor = Compositor(*WALL)
        rects = layout.rects()
        if layout.presentation is not None:
            rects["~document"] = layout.presentation
        compositor.set_layout(rects, {})
        spent = []
        for index in range(FRAMES):
            for tile in range(14):
                compositor.update(str(tile), decoded[tile][index])
            if presenting:
                compositor.update("~document", pages[index * 2 // FRAMES])
            started = time.process_time()
            compositor.compose()
            spent.append(time.process_time() - started)
        medians.append(1000 * float(np.median(spent)))
    return {"median_ms": round(float(np.median(medians)), 3),
            "min_ms": round(min(medians), 3), "max_ms": round(max(medians), 3),
            "tiles_scaled_per_frame": round(compositor.tiles_scaled / FRAMES, 2)}


async def components(opts: Options) -> dict[str, Any]:
    tiles = _tiles(opts.sites)
    decoded = _decoded(opts.sites)
    old_ms, _ = _compose(decoded, tiles, keep_scalers=False)
    new_ms, walls = _compose(decoded, tiles, keep_scalers=True)
    return {
        "compose_ms_per_frame": {"reformat_per_frame": round(old_ms, 2),
                                 "scaler_per_tile": round(new_ms, 2)},
        "encode_cpu_used_8": _encode(walls, 8, 2_000_000),
        "encode_cpu_used_12": _encode(walls, 12, 2_000_000),
        "encode_cpu_used_14": _encode(walls, 14, 2_000_000),
        "wall_compose_14_cameras": {
            "grid": _wall_compose(decoded, presenting=False),
            "presentation": _wall_compose(decoded, presenting=True),
        },
    }
