"""Where each participant's tile sits on the wall, and what the page draws over it.

Pure geometry plus the metadata sent to clients: the video carries only
pictures, names and icons are drawn in HTML over the tile rectangles.
All rectangles are in canvas pixels with even coordinates (yuv420p chroma
is subsampled by two); clients receive them as fractions of the canvas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TILE_ASPECT = 16 / 9
GAP = 4  # pixels between tiles, so that neighbouring tiles stay apart


class LayoutMode(StrEnum):
    GRID = "grid"
    SPOTLIGHT = "spotlight"
    PRESENTATION = "presentation"  # a document or a shared screen large, the cameras beside it


# Below this width/height a presentation (a portrait page) stands at the left, full height,
# with the cameras in a grid to its right; wider ones (slides, screens) sit above a strip.
SIDE_BY_SIDE_BELOW = 1.2
MAX_SIDE_SHARE = 0.62  # of the canvas width a portrait presentation may take


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def fractions(self, width: int, height: int) -> dict[str, float]:
        return {
            "x": round(self.x / width, 5),
            "y": round(self.y / height, 5),
            "w": round(self.w / width, 5),
            "h": round(self.h / height, 5),
        }

    def moved(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def fit(self, aspect: float) -> Rect:
        """The largest even-sized rectangle of ``aspect`` centred inside this one."""
        w, h = self.w, self.h
        if w / h > aspect:
            w = int(h * aspect)
        else:
            h = int(w / aspect)
        w, h = _even(w), _even(h)
        return Rect(self.x + _even((self.w - w) // 2), self.y + _even((self.h - h) // 2), w, h)


def _even(value: float) -> int:
    return max(0, int(value) // 2 * 2)


def grid_shape(n: int, width: int = 1280, height: int = 720) -> tuple[int, int]:
    """Columns and rows that give ``n`` tiles of :data:`TILE_ASPECT` the most area.

    Ties go to more columns and then fewer empty cells, which yields the
    familiar 1, 2x1, 2x2, 3x2, 3x3, 4x3, 4x4 on a 16:9 canvas and keeps
    choosing sensible shapes beyond 16.
    """
    if n <= 0:
        return (0, 0)
    best: tuple[float, int, int] | None = None
    shape = (1, 1)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w, cell_h = width / cols, height / rows
        tile_w = min(cell_w, cell_h * TILE_ASPECT)
        area = tile_w * (tile_w / TILE_ASPECT)
        key = (round(area, 3), cols, -(cols * rows - n))
        if best is None or key > best:
            best, shape = key, (cols, rows)
    return shape


def _cells(
    count: int, cols: int, top: int, cell_w: float, cell_h: float, width: int
) -> list[Rect]:
    """Cells row by row; a short last row is centred."""
    cells: list[Rect] = []
    for index in range(count):
        row, col = divmod(index, cols)
        in_row = min(cols, count - row * cols)
        offset = (width - in_row * cell_w) / 2
        x0 = offset + col * cell_w
        y0 = top + row * cell_h
        cell = Rect(
            _even(x0 + GAP / 2), _even(y0 + GAP / 2), _even(cell_w - GAP), _even(cell_h - GAP)
        )
        cells.append(cell.fit(TILE_ASPECT))
    return cells


def grid_rects(n: int, width: int, height: int) -> list[Rect]:
    cols, rows = grid_shape(n, width, height)
    if n <= 0:
        return []
    cell_w, cell_h = width / cols, height / rows
    used_h = rows * min(cell_h, cell_w / TILE_ASPECT + GAP)
    top = (height - used_h) / 2
    return _cells(n, cols, int(top), cell_w, min(cell_h, cell_w / TILE_ASPECT + GAP), width)


def spotlight_rects(n: int, width: int, height: int) -> tuple[Rect, list[Rect]]:
    """One large tile above a strip of ``n - 1`` small ones (one or two rows)."""
    if n <= 1:
        return (Rect(0, 0, width, height).fit(TILE_ASPECT), [])
    strip_h, cells = _strip(n - 1, width, height)
    return (Rect(0, 0, width, _even(height - strip_h)).fit(TILE_ASPECT), cells)


def _strip(n: int, width: int, height: int, per_row: int = 6) -> tuple[float, list[Rect]]:
    """A strip of ``n`` small tiles along the bottom (one or two rows, at least ``per_row``
    cells wide): its height and cells."""
    rows = 1 if n <= per_row else 2 if n <= 16 else math.ceil(n / 8)
    per_row = max(per_row, math.ceil(n / rows))
    cell_w = width / per_row
    cell_h = cell_w / TILE_ASPECT + GAP
    strip_h = rows * cell_h
    return strip_h, _cells(n, per_row, int(height - strip_h), cell_w, cell_h, width)


def presentation_rects(n: int, width: int, height: int, aspect: float) -> tuple[Rect, list[Rect]]:
    """The presentation's area and ``n`` camera tiles around it.

    The area is where the picture is fitted (keeping its ``aspect``); a portrait page takes
    the full height at the left and the cameras share the rest in a grid, anything wider
    takes the width above a strip of cameras, as in spotlight.
    """
    if n <= 0:
        return (Rect(0, 0, width, height), [])
    if aspect < SIDE_BY_SIDE_BELOW:
        main_w = _even(min(height * aspect, width * MAX_SIDE_SHARE))
        rest = width - main_w - GAP
        # A grid of at least six cells, so that one or two cameras stay small beside the page.
        grid = grid_rects(max(n, 6), _even(rest), height)[:n]
        return (Rect(0, 0, main_w, height), [r.moved(main_w + GAP, 0) for r in grid])
    strip_h, cells = _strip(n, width, height, per_row=8)
    return (Rect(0, 0, width, _even(height - strip_h)), cells)


@dataclass(frozen=True, kw_only=True, slots=True)
class TileInfo:
    """What the page needs to draw over a tile."""

    participant_id: str
    display_name: str
    speaking: bool = False
    hand_raised: bool = False
    muted: bool = False
    camera_on: bool = True
    reconnecting: bool = False  # its connection dropped; the place is held for it


@dataclass(frozen=True, kw_only=True, slots=True)
class Tile:
    info: TileInfo
    rect: Rect


@dataclass(frozen=True, kw_only=True, slots=True)
class Layout:
    mode: LayoutMode
    width: int
    height: int
    spotlight: str | None
    tiles: tuple[Tile, ...]
    presentation: Rect | None = None  # where the document or shared screen is fitted

    def rects(self) -> dict[str, Rect]:
        return {tile.info.participant_id: tile.rect for tile in self.tiles}

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode),
            "width": self.width,
            "height": self.height,
            "spotlight": self.spotlight,
            "presentation": None if self.presentation is None
            else self.presentation.fractions(self.width, self.height),
            "tiles": [
                {
                    "participant_id": t.info.participant_id,
                    "display_name": t.info.display_name,
                    **t.rect.fractions(self.width, self.height),
                    "speaking": t.info.speaking,
                    "hand_raised": t.info.hand_raised,
                    "muted": t.info.muted,
                    "camera_on": t.info.camera_on,
                    "reconnecting": t.info.reconnecting,
                }
                for t in self.tiles
            ],
        }


def build_layout(
    infos: Sequence[TileInfo], *, width: int, height: int, spotlight: str | None = None,
    presentation: float | None = None,
) -> Layout:
    """Grid of ``infos`` in order, or spotlight when ``spotlight`` is one of them; with a
    ``presentation`` (its width/height) the presentation layout, the spotlight's tile first."""
    ids = [info.participant_id for info in infos]
    if presentation is not None:
        ordered = list(infos)
        if spotlight is not None and spotlight in ids:
            ordered.insert(0, ordered.pop(ids.index(spotlight)))
        main, cells = presentation_rects(len(ordered), width, height, presentation)
        return Layout(
            mode=LayoutMode.PRESENTATION, width=width, height=height,
            spotlight=spotlight if spotlight in ids else None,
            tiles=tuple(Tile(info=i, rect=r) for i, r in zip(ordered, cells, strict=True)),
            presentation=main,
        )
    if spotlight is not None and spotlight in ids:
        main, strip = spotlight_rects(len(infos), width, height)
        first = infos[ids.index(spotlight)]
        rest = [info for info in infos if info.participant_id != spotlight]
        tiles = [Tile(info=first, rect=main)]
        tiles += [Tile(info=info, rect=rect) for info, rect in zip(rest, strip, strict=True)]
        return Layout(
            mode=LayoutMode.SPOTLIGHT, width=width, height=height, spotlight=spotlight,
            tiles=tuple(tiles),
        )
    rects = grid_rects(len(infos), width, height)
    return Layout(
        mode=LayoutMode.GRID, width=width, height=height, spotlight=None,
        tiles=tuple(Tile(info=i, rect=r) for i, r in zip(infos, rects, strict=True)),
    )
