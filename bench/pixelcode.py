"""A machine-readable stamp in every published picture: frame counter and sender.

The top band of each 640x480 frame holds :data:`ROWS` x :data:`COLS` black or
white blocks: a 32-bit frame counter, an 8-bit sender id and a CRC-8 over
both. Blocks are big (40x40 pixels at 640x480) so that the stamp survives
the server scaling the picture into a wall tile (about a third of its size
for 15 sites) and two VP8 encodes. A receiver decodes it from the luma plane
of the wall, in the tile's fitted picture rectangle, and looks the counter
up in the sender's log of send times: both run on one machine and one clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ROWS = 3
COLS = 16
BITS = ROWS * COLS  # 32 counter + 8 sender + 8 check
BAND_FRACTION = 0.25  # the stamp fills the top quarter of the picture
BLACK = 16
WHITE = 235

Luma = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Stamp:
    counter: int
    sender: int


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, initial 0xA5 so that a flat picture never passes)."""
    crc = 0xA5
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _bits(stamp: Stamp) -> list[int]:
    if not 0 <= stamp.counter < 2**32 or not 0 <= stamp.sender < 256:
        raise ValueError(f"stamp out of range: {stamp}")
    payload = stamp.counter.to_bytes(4, "big") + bytes([stamp.sender])
    word = int.from_bytes(payload + bytes([crc8(payload)]), "big")
    return [(word >> (BITS - 1 - i)) & 1 for i in range(BITS)]


def paint(luma: Luma, stamp: Stamp) -> None:
    """Draw ``stamp`` into the top band of a picture's luma plane, in place."""
    height, width = luma.shape
    band = int(height * BAND_FRACTION)
    for index, bit in enumerate(_bits(stamp)):
        row, col = divmod(index, COLS)
        y0, y1 = row * band // ROWS, (row + 1) * band // ROWS
        x0, x1 = col * width // COLS, (col + 1) * width // COLS
        luma[y0:y1, x0:x1] = WHITE if bit else BLACK


def _sample_points(x: float, y: float, w: float, h: float) -> tuple[
    npt.NDArray[np.intp], npt.NDArray[np.intp]
]:
    """Pixel rows and columns of a 3x3 grid in the middle of every block."""
    band = h * BAND_FRACTION
    offsets = np.array([0.3, 0.5, 0.7])
    rows = np.arange(ROWS)[:, None] + offsets[None, :]  # (ROWS, 3)
    cols = np.arange(COLS)[:, None] + offsets[None, :]  # (COLS, 3)
    ys = (y + rows * band / ROWS).astype(np.intp)
    xs = (x + cols * w / COLS).astype(np.intp)
    return ys, xs


def read(luma: Luma, x: float = 0, y: float = 0, w: float | None = None,
         h: float | None = None) -> Stamp | None:
    """The stamp of the picture at ``(x, y, w, h)`` of ``luma``, or ``None`` if unreadable."""
    height, width = luma.shape
    w = width - x if w is None else w
    h = height - y if h is None else h
    ys, xs = _sample_points(x, y, w, h)
    if ys.max() >= height or xs.max() >= width or ys.min() < 0 or xs.min() < 0:
        return None
    # values[r, c] = median of the 9 samples in block (r, c)
    samples = luma[ys[:, None, :, None], xs[None, :, None, :]]  # (ROWS, COLS, 3, 3)
    values = np.median(samples.reshape(ROWS, COLS, 9), axis=2).reshape(-1)
    bits = values > (BLACK + WHITE) / 2
    word = 0
    for bit in bits:
        word = (word << 1) | int(bit)
    raw = word.to_bytes(BITS // 8, "big")
    if crc8(raw[:5]) != raw[5]:
        return None
    return Stamp(counter=int.from_bytes(raw[:4], "big"), sender=raw[4])
