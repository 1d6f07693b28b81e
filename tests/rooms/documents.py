"""Documents as the server hands them to the engine: one PNG file per page."""

from __future__ import annotations

import tempfile
from pathlib import Path

import av
import numpy as np


def write_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int]) -> Path:
    """A page of one colour (``size`` is width, height)."""
    image = np.full((size[1], size[0], 3), rgb, dtype=np.uint8)
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = size[0], size[1], "rgb24"
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    path.write_bytes(b"".join(bytes(p) for p in encoder.encode(frame)))
    return path


def pages(
    folder: Path, colours: list[tuple[int, int, int]], size: tuple[int, int] = (320, 452)
) -> list[str]:
    """One page per colour, portrait A4-ish by default."""
    folder.mkdir(parents=True, exist_ok=True)
    return [str(write_png(folder / f"page-{i + 1:03d}.png", rgb, size))
            for i, rgb in enumerate(colours)]


_SHARED: list[str] = []


def shared_pages() -> list[str]:
    """Three pages in a folder that lives as long as the test process."""
    if not _SHARED:
        folder = Path(tempfile.mkdtemp(prefix="yizhan-pages-"))
        _SHARED.extend(pages(folder, [(200, 30, 30), (30, 200, 30), (30, 30, 200)]))
    return _SHARED
