"""Layout geometry: grid shapes, tile rectangles, spotlight."""

from __future__ import annotations

import itertools

import pytest

from rooms.layout import (
    LayoutMode,
    Rect,
    TileInfo,
    build_layout,
    grid_rects,
    grid_shape,
    presentation_rects,
    spotlight_rects,
)

W, H = 1280, 720


@pytest.mark.parametrize(
    ("n", "shape"),
    [
        (1, (1, 1)), (2, (2, 1)), (3, (2, 2)), (4, (2, 2)), (5, (3, 2)), (6, (3, 2)),
        (7, (3, 3)), (8, (3, 3)), (9, (3, 3)), (10, (4, 3)), (11, (4, 3)), (12, (4, 3)),
        (13, (4, 4)), (14, (4, 4)), (15, (4, 4)), (16, (4, 4)), (17, (5, 4)), (20, (5, 4)),
        (25, (5, 5)), (30, (6, 5)),
    ],
)
def test_grid_shape(n: int, shape: tuple[int, int]) -> None:
    assert grid_shape(n, W, H) == shape


def _inside(rect: Rect, width: int = W, height: int = H) -> bool:
    return rect.x >= 0 and rect.y >= 0 and rect.x + rect.w <= width and rect.y + rect.h <= height


def _overlap(a: Rect, b: Rect) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


@pytest.mark.parametrize("n", range(1, 17))
def test_grid_tiles_fit_do_not_overlap_and_are_even(n: int) -> None:
    rects = grid_rects(n, W, H)
    assert len(rects) == n
    for rect in rects:
        assert _inside(rect)
        assert all(v % 2 == 0 for v in (rect.x, rect.y, rect.w, rect.h))
        assert abs(rect.w / rect.h - 16 / 9) < 0.03
    for a, b in itertools.combinations(rects, 2):
        assert not _overlap(a, b)
    # every tile of a grid has the same size
    assert len({(r.w, r.h) for r in rects}) == 1


def test_grid_sizes_shrink_as_tiles_are_added() -> None:
    widths = [grid_rects(n, W, H)[0].w for n in (1, 2, 4, 6, 9, 12, 16)]
    assert widths == sorted(widths, reverse=True)
    assert grid_rects(16, W, H)[0].w >= 300  # 4x4 of about 320x180


def test_short_last_row_is_centred() -> None:
    rects = grid_rects(3, W, H)
    last = rects[2]
    assert abs((last.x + last.w / 2) - W / 2) <= 4


def test_zero_tiles() -> None:
    assert grid_rects(0, W, H) == []
    assert grid_shape(0) == (0, 0)


@pytest.mark.parametrize("n", [1, 2, 5, 7, 12, 15, 16, 20])
def test_spotlight_has_one_big_tile_and_a_strip(n: int) -> None:
    main, strip = spotlight_rects(n, W, H)
    assert len(strip) == n - 1
    assert _inside(main)
    for rect in strip:
        assert _inside(rect)
        assert rect.w * rect.h < main.w * main.h / 4
        assert rect.y >= main.y + main.h  # the strip lies below the main tile
    for a, b in itertools.combinations([main, *strip], 2):
        assert not _overlap(a, b)


def _infos(n: int) -> list[TileInfo]:
    return [TileInfo(participant_id=f"p{i}", display_name=f"Site {i}") for i in range(n)]


def test_build_layout_grid_and_spotlight() -> None:
    grid = build_layout(_infos(4), width=W, height=H)
    assert grid.mode is LayoutMode.GRID
    assert [t.info.participant_id for t in grid.tiles] == ["p0", "p1", "p2", "p3"]
    spot = build_layout(_infos(4), width=W, height=H, spotlight="p2")
    assert spot.mode is LayoutMode.SPOTLIGHT
    assert spot.tiles[0].info.participant_id == "p2"
    assert spot.tiles[0].rect.w > spot.tiles[1].rect.w * 3
    # an unknown spotlight falls back to the grid
    assert build_layout(_infos(4), width=W, height=H, spotlight="nobody").mode is LayoutMode.GRID


def test_layout_to_dict_uses_fractions() -> None:
    data = build_layout(_infos(1), width=W, height=H).to_dict()
    tile = data["tiles"][0]
    assert data["mode"] == "grid"
    assert set(tile) == {
        "participant_id", "display_name", "x", "y", "w", "h",
        "speaking", "hand_raised", "muted", "camera_on", "reconnecting",
    }
    assert 0 <= tile["x"] < 1 and 0.9 < tile["w"] <= 1


def test_rect_fit_keeps_aspect_and_centres() -> None:
    fitted = Rect(0, 0, 400, 400).fit(16 / 9)
    assert (fitted.w, fitted.h) == (400, 224)
    assert fitted.y == 88


# -- presentations ---------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 3, 7, 14, 20])
@pytest.mark.parametrize("aspect", [210 / 297, 1.0, 4 / 3, 16 / 9])
def test_presentation_area_and_camera_tiles_stay_apart(n: int, aspect: float) -> None:
    main, cells = presentation_rects(n, W, H, aspect)
    assert len(cells) == n
    assert _inside(main) and all(_inside(r) for r in cells)
    for rect in (main, *cells):
        assert rect.x % 2 == rect.y % 2 == rect.w % 2 == rect.h % 2 == 0
    for a, b in itertools.combinations([main, *cells], 2):
        assert not _overlap(a, b)
    fitted = main.fit(aspect)
    assert all(fitted.w * fitted.h > 4 * r.w * r.h for r in cells)


def test_a_portrait_page_stands_full_height_at_the_left_beside_a_camera_grid() -> None:
    main, cells = presentation_rects(14, W, H, 210 / 297)
    assert (main.x, main.y, main.h) == (0, 0, H)
    assert main.fit(210 / 297).h >= H - 2
    assert all(r.x >= main.w for r in cells)


def test_a_landscape_presentation_takes_most_of_the_picture_above_a_strip() -> None:
    main, cells = presentation_rects(14, W, H, 16 / 9)
    assert (main.x, main.y, main.w) == (0, 0, W)
    fitted = main.fit(16 / 9)
    assert fitted.w * fitted.h > 0.5 * W * H
    assert all(r.y >= main.h for r in cells)


def test_presentation_layout_keeps_the_spotlight_first_and_reports_its_area() -> None:
    infos = [TileInfo(participant_id=k, display_name=k) for k in "abc"]
    layout = build_layout(infos, width=W, height=H, spotlight="c", presentation=16 / 9)
    assert layout.mode is LayoutMode.PRESENTATION
    assert [t.info.participant_id for t in layout.tiles] == ["c", "a", "b"]
    assert layout.spotlight == "c"
    assert layout.presentation is not None
    assert layout.to_dict()["presentation"] == layout.presentation.fractions(W, H)
    grid = build_layout(infos, width=W, height=H)
    assert grid.presentation is None and grid.to_dict()["presentation"] is None
