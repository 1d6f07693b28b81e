"""Who is talking: audio level in dBFS with hysteresis and a hold time.

Speech is bursty; a detector that followed the level frame by frame would
flicker. It turns on at once when the level reaches ``on_dbfs``, stays on
while the level keeps above ``off_dbfs``, and turns off only after
``hold`` seconds below it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SILENCE_DBFS = -120.0


def rms_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """Root-mean-square level of 16-bit samples; full-scale square wave = 0 dBFS."""
    if samples.size == 0:
        return SILENCE_DBFS
    mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
    if mean_square <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(mean_square / 32768.0**2))


class LevelDetector:
    def __init__(self, *, on_dbfs: float, off_dbfs: float, hold: float) -> None:
        if off_dbfs > on_dbfs:
            raise ValueError("off_dbfs must not be above on_dbfs")
        self.on_dbfs = on_dbfs
        self.off_dbfs = off_dbfs
        self.hold = hold
        self.active = False
        self._last_loud = -math.inf

    def update(self, level_dbfs: float, now: float) -> bool:
        """Feed one frame's level; return whether ``active`` changed."""
        was = self.active
        if level_dbfs >= self.on_dbfs or (self.active and level_dbfs >= self.off_dbfs):
            self._last_loud = now
            self.active = True
        elif self.active and now - self._last_loud > self.hold:
            self.active = False
        return self.active != was
