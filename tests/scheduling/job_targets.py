"""Job callables the scheduler tests name by text, as the server's will be named."""

from __future__ import annotations

RUNS: list[tuple[str | int, str]] = []
DAILY_RUNS: list[str] = []


async def record_run(*, session_id: str | int, kind: str) -> None:
    RUNS.append((session_id, kind))


async def record_daily() -> None:
    DAILY_RUNS.append("supervision")
