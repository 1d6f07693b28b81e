"""Bar charts as inline SVG, drawn on the server: the street's PCs may have no internet, so
nothing is loaded from elsewhere, and the numbers are in the page for screen readers too.

Every chart carries its title and its unit (e.g. "单位：件") as visible text, so a printed
or copied chart still says what it counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#b3261e", "#1a4fa0", "#1b7f3b", "#a15c00")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_step(value: float, ticks: int) -> float:
    """A whole tick step (1, 2, 5, 10, 20, ...) so ``ticks`` steps reach ``value``."""
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if factor * step * ticks >= value:
                return factor * step
        step *= 10


def _nice_max(value: float, ticks: int = 4) -> float:
    return _nice_step(value, ticks) * ticks


def _heading(title: str, unit: str, width: int) -> list[str]:
    parts = [f'<text class="chart-title" x="{width / 2:.0f}" y="18" text-anchor="middle" '
             f'font-size="15" font-weight="bold" fill="#1d2433">{escape(title)}</text>']
    if unit:
        parts.append(f'<text class="chart-unit" x="{width - 4}" y="18" text-anchor="end" '
                     f'font-size="11" fill="#5b6475">{escape(unit)}</text>')
    return parts


def grouped_bars(title: str, labels: Sequence[str], series: Sequence[Series], *,
                 unit: str = "", width: int = 720, height: int = 290) -> Markup:
    """Vertical bars, one group per label, one bar per series, with a legend."""
    left, right, top, bottom = 40, 10, 58, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    group_w = plot_w / max(1, len(labels))
    bar_w = max(2.0, (group_w * 0.8) / max(1, len(series)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', *_heading(title, unit, width)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#d9dee8"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#5b6475">{peak * i / 4:g}</text>')
    for gi, label in enumerate(labels):
        x0 = left + gi * group_w + group_w * 0.1
        for si, s in enumerate(series):
            value = s.values[gi]
            h = plot_h * value / peak
            x = x0 + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f'<title>{escape(label)} · {escape(s.name)}: {value:g}</title></rect>')
        parts.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle" font-size="11" fill="#1d2433">'
                     f'{escape(label)}</text>')
    for si, s in enumerate(series):
        x = left + si * 130
        parts.append(f'<rect x="{x}" y="30" width="12" height="12" '
                     f'fill="{PALETTE[si % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="40" font-size="12" fill="#1d2433">'
                     f'{escape(s.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def horizontal_bars(title: str, labels: Sequence[str], values: Sequence[float], *,
                    unit: str = "", width: int = 720, row: int = 24) -> Markup:
    """One bar per label, longest first as given, value written at the end of the bar."""
    left, right, top = 150, 40, 32
    height = top + 8 + row * max(1, len(labels))
    peak = _nice_max(max(values, default=0))
    plot_w = width - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', *_heading(title, unit, width)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        w = plot_w * value / peak
        parts.append(f'<text x="{left - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" '
                     f'font-size="12" fill="#1d2433">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[1]}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + row * 0.65:.1f}" font-size="12" '
                     f'fill="#1d2433">{value:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
