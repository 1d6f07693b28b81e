"""How busy the server is, so that a newcomer never costs the running rooms their frame rate.

Two measurements, each with a budget (:class:`LoadLimits`):

* **CPU**: the process's CPU time as a share of the cores it may run on,
  sampled about once a second and smoothed over ``smoothing_s`` seconds.
  Everything a participant costs shows here: decoding its camera, its own
  mix-minus Opus encode, packetising and encrypting the wall for it.
* **Frame time**: per room, the CPU time the wall's thread spends on a frame
  (decoding the cameras, composing, both encodes) as a share of the frame
  interval, smoothed over about two seconds. A room whose wall needs 70 % of
  its interval has no room for another tile.

Admission (``RoomRegistry.join``) refuses a *new* participant with
``server-busy`` when the CPU load is at its budget, and a new publisher
with ``room-busy`` when its room's frame time is at its budget; a
participant coming back into its held place is never refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadLimits:
    cpu_budget: float = 0.8  # share of the usable cores
    frame_budget: float = 0.7  # share of a room's frame interval

    def __post_init__(self) -> None:
        if not 0 < self.cpu_budget <= 1 or not 0 < self.frame_budget <= 1:
            raise ValueError("load budgets are shares between 0 and 1")


class CpuProbe(Protocol):
    def load(self) -> float:
        """Share of the usable cores this process keeps busy (smoothed)."""
        ...


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class ProcessCpu:
    """:class:`CpuProbe` from ``time.process_time`` (all threads of this process)."""

    def __init__(
        self,
        *,
        cores: int | None = None,
        smoothing_s: float = 5.0,
        min_interval: float = 0.5,
        process_time: Callable[[], float] = time.process_time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cores = cores or usable_cores()
        self._smoothing = smoothing_s
        self._min_interval = min_interval
        self._process_time = process_time
        self._monotonic = monotonic
        self._last: tuple[float, float] | None = None  # the first reading starts the clock
        self._load = 0.0

    def load(self) -> float:
        now, cpu = self._monotonic(), self._process_time()
        if self._last is None:  # what the process did before (start-up) is not room load
            self._last = (now, cpu)
            return self._load
        elapsed = now - self._last[0]
        if elapsed >= self._min_interval:
            busy = (cpu - self._last[1]) / elapsed / self.cores
            weight = 1 - math.exp(-elapsed / self._smoothing)
            self._load += weight * (busy - self._load)
            self._last = (now, cpu)
        return self._load


class FixedLoad:
    """A probe that says what it is told: for tests and for turning the CPU check off."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def load(self) -> float:
        return self.value


class FrameTimer:
    """A wall's time per frame (smoothed) and the frame rate it actually achieves."""

    def __init__(self, fps: int, *, smoothing_frames: int = 50, window_s: float = 2.0) -> None:
        self.interval = 1.0 / fps
        self._alpha = 2 / (smoothing_frames + 1)
        self._window = window_s
        self._made: deque[float] = deque()
        self.seconds = 0.0  # smoothed decode + compose + encode CPU time of one frame

    def observe(self, seconds: float, now: float) -> None:
        self._trim(now)
        if self._made:
            self.seconds += self._alpha * (seconds - self.seconds)
        else:  # the first frame, or the first after a pause: no history worth keeping
            self.seconds = seconds
        self._made.append(now)

    def _trim(self, now: float) -> None:
        while self._made and now - self._made[0] > self._window:
            self._made.popleft()

    def load(self, now: float) -> float:
        """Frame time as a share of the frame interval; an idle wall (no frame lately) has 0."""
        self._trim(now)
        return self.seconds / self.interval if self._made else 0.0

    def fps(self, now: float) -> float:
        self._trim(now)
        return len(self._made) / self._window


LOAD_SAMPLE_S = 1.0


class Sampler:
    """Calls ``sample`` about once a second while rooms are open, so that the CPU reading
    admission and metrics use stays current; both registries keep one."""

    def __init__(self, sample: Callable[[], None], *, every: float = LOAD_SAMPLE_S) -> None:
        self._sample = sample
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="room-load")

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
