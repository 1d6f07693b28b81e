"""From what the load clients logged to the numbers in the report."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from typing import Any

from bench.clip import FRAMES


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def site_fps(peers: Sequence[dict[str, Any]], duration: float) -> list[float]:
    """Per receiving site: the frame rate of its slowest video stream."""
    out = []
    for peer in peers:
        rates = [f / duration for f in peer["video_frames"]]
        if "decoded_frames" in peer:
            rates.append(peer["decoded_frames"] / duration)
        if rates:
            out.append(min(rates))
    return out


def downlink_bps(peers: Sequence[dict[str, Any]], duration: float) -> list[float]:
    """Per site: bits per second that reached its DTLS transports (media and RTCP)."""
    return [8 * p["rx_bytes"] / duration for p in peers if p["video_streams"]]


def latencies(peers: Sequence[dict[str, Any]], start: float | None = None,
              end: float | None = None) -> dict[str, Any]:
    """Glass-to-glass delay of every picture that a sampler saw first in a tile.

    A stamp names (sender, counter); the frame is the sender's latest frame
    ``n`` with ``n % FRAMES == counter`` sent before it was seen.
    """
    sent: dict[tuple[str, int], tuple[int, list[float]]] = {
        (p["room"], p["sender"]): (p["sent_from"], p["sent"]) for p in peers if "sent" in p
    }
    delays: list[float] = []
    shown: dict[tuple[str, int], set[int]] = {}
    for peer in peers:
        for at, sender, counter in peer.get("stamps", []):
            if (start is not None and at < start) or (end is not None and at >= end):
                continue
            log = sent.get((peer["room"], sender))
            if log is None:
                continue
            first, times = log
            last = bisect.bisect_right(times, at) - 1 + first  # latest n sent before `at`
            if last < first:
                continue
            n = last - ((last - counter) % FRAMES)
            if n < first:
                continue
            frames = shown.setdefault((peer["room"], sender), set())
            if n in frames:
                continue  # the same picture again: the wall repeats a tile until it changes
            frames.add(n)
            delays.append(at - times[n - first])
    return {
        "samples": len(delays),
        "p50_ms": 1000 * percentile(delays, 50),
        "p95_ms": 1000 * percentile(delays, 95),
        "max_ms": 1000 * max(delays) if delays else float("nan"),
        "pictures_per_publisher": {f"{r}/{s}": len(v) for (r, s), v in sorted(shown.items())},
    }


def summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"min": float("nan"), "median": float("nan"), "max": float("nan")}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}
