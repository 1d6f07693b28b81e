"""Media tests over loopback: ICE on 127.0.0.1 only, a small wall, bounded polling.

Import ``loopback_ice`` into a test module or conftest to make it apply there
(it is autouse).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aioice.ice
import pytest

from rooms.media.wall import WallSettings

WAIT = 15.0  # the longest any single expectation may take

# Small and slow enough for two busy cores; the code paths are the same as 1280x720 at 25.
TEST_WALL = WallSettings(
    width=640, height=360, fps=15, start_bitrate=500_000, min_bitrate=200_000,
    max_bitrate=800_000,
)


async def poll(condition: Callable[[], bool], *, seconds: float = WAIT) -> None:
    """Check ``condition`` every 20 ms for at most ``seconds``; fail if it never holds."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition still false after {seconds} s")


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gather only 127.0.0.1 host candidates: fast, deterministic ICE with no network."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
