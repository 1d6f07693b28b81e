"""Paints every publisher's latest picture into one wall canvas.

Cheap by construction: a source frame is scaled (libswscale, straight to
yuv420p) only when it is new, unchanged tiles are left as they are, and the
canvas lives in yuv420p planes that the encoder takes as is, with no RGB
round trip. Each tile keeps its own scaler: ``VideoFrame.reformat`` would
set up a new libswscale context for every decoded frame, which costs ten
times the scaling itself. Pictures keep their aspect ratio inside their tile.

``update`` and ``set_layout`` only swap references, so the event loop can
call them while ``compose`` runs in the wall's worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from rooms.layout import Rect

Plane = npt.NDArray[np.uint8]
BACKGROUND = (16, 128, 128)  # black, limited-range YUV
PLACEHOLDER = (40, 128, 128)  # dark grey: camera off or no picture yet


def frame_planes(frame: av.VideoFrame) -> tuple[Plane, Plane, Plane]:
    """The Y, U and V planes of a yuv420p frame, without line padding."""
    planes = []
    for plane in frame.planes:
        data = np.frombuffer(memoryview(plane), dtype=np.uint8)[: plane.line_size * plane.height]
        planes.append(data.reshape(plane.height, plane.line_size)[:, : plane.width])
    return planes[0], planes[1], planes[2]


@dataclass(frozen=True, slots=True)
class _Scene:
    rects: Mapping[str, Rect]
    camera_on: Mapping[str, bool]


_PAINTED_PLACEHOLDER = object()


class Compositor:
    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError("canvas width and height must be even")
        self.width = width
        self.height = height
        self._canvas = np.empty(width * height * 3 // 2, dtype=np.uint8)
        luma = width * height
        self._y = self._canvas[:luma].reshape(height, width)
        self._u = self._canvas[luma : luma * 5 // 4].reshape(height // 2, width // 2)
        self._v = self._canvas[luma * 5 // 4 :].reshape(height // 2, width // 2)
        self._latest: dict[str, av.VideoFrame] = {}
        self._pending: _Scene | None = _Scene({}, {})
        self._scene = _Scene({}, {})
        self._drawn: dict[str, object] = {}  # what each tile shows: a frame or the placeholder
        self._fitted: dict[str, Rect] = {}
        self._scalers: dict[str, VideoReformatter] = {}  # used in the compose thread only
        self.frames_composited = 0
        self.tiles_scaled = 0

    def set_layout(self, rects: Mapping[str, Rect], camera_on: Mapping[str, bool]) -> None:
        self._pending = _Scene(dict(rects), dict(camera_on))

    def update(self, key: str, frame: av.VideoFrame) -> None:
        """Keep ``frame`` as ``key``'s latest picture; older ones are simply dropped."""
        self._latest[key] = frame

    def remove(self, key: str) -> None:
        self._latest.pop(key, None)

    def _fill(self, rect: Rect, colour: tuple[int, int, int]) -> None:
        self._y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = colour[0]
        cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.h // 2, rect.w // 2
        self._u[cy : cy + ch, cx : cx + cw] = colour[1]
        self._v[cy : cy + ch, cx : cx + cw] = colour[2]

    def _paste(self, key: str, rect: Rect, frame: av.VideoFrame) -> None:
        fitted = rect.fit(frame.width / frame.height) if frame.height else rect
        if fitted.w < 2 or fitted.h < 2:
            return
        if self._fitted.get(key) != fitted:
            self._fill(rect, BACKGROUND)
            self._fitted[key] = fitted
        scaler = self._scalers.get(key)
        if scaler is None:
            scaler = self._scalers[key] = VideoReformatter()
        scaled = scaler.reformat(frame, width=fitted.w, height=fitted.h, format="yuv420p",
                                 threads=1)
        y, u, v = frame_planes(scaled)
        self._y[fitted.y : fitted.y + fitted.h, fitted.x : fitted.x + fitted.w] = y
        cy, cx, ch, cw = fitted.y // 2, fitted.x // 2, fitted.h // 2, fitted.w // 2
        self._u[cy : cy + ch, cx : cx + cw] = u
        self._v[cy : cy + ch, cx : cx + cw] = v
        self.tiles_scaled += 1

    def compose(self) -> av.VideoFrame:
        """Bring changed tiles up to date and return a copy of the canvas."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._scene = pending
            self._canvas[: self.width * self.height] = BACKGROUND[0]
            self._canvas[self.width * self.height :] = BACKGROUND[1]
            self._drawn.clear()
            self._fitted.clear()
            self._scalers = {k: v for k, v in self._scalers.items() if k in pending.rects}
        latest = dict(self._latest)
        for key, rect in self._scene.rects.items():
            frame = latest.get(key) if self._scene.camera_on.get(key, True) else None
            if frame is None:
                if self._drawn.get(key) is not _PAINTED_PLACEHOLDER:
                    self._fill(rect, PLACEHOLDER)
                    self._drawn[key] = _PAINTED_PLACEHOLDER
                    self._fitted.pop(key, None)
            elif self._drawn.get(key) is not frame:
                self._paste(key, rect, frame)
                self._drawn[key] = frame
        self.frames_composited += 1
        canvas = self._canvas.reshape(self.height * 3 // 2, self.width)
        return av.VideoFrame.from_ndarray(canvas, format="yuv420p")
