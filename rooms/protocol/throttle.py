"""How many messages one connection may send: a token bucket per connection.

A person clicking, or a page catching up after a reconnection, sends a few
messages at once and then few for a while; a stuck loop or a hostile client
sends thousands. The bucket lets the first through (``MESSAGE_BURST`` at once,
``MESSAGE_RATE`` a second for as long as it likes) and refuses the rest; a
refused message changes nothing and costs the room nothing but its ``error``.
A client whose refusals outrun ``FLOOD_LIMIT`` (forgiven at the same rate)
is not going to stop by itself, and its own connection is closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MESSAGE_RATE = 20.0  # messages a second, sustained, per connection
MESSAGE_BURST = 40  # messages at once (the page sends under ten at a time)
FLOOD_LIMIT = 200  # refused messages, forgiven at MESSAGE_RATE, before the socket is closed


class TokenBucket:
    """``burst`` tokens, one back every ``1 / rate`` seconds; each message takes one."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = max(self._at, now)

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def take(self) -> bool:
        """Take a token if there is one; ``False`` (and nothing taken) if not."""
        self._refill()
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def retry_after(self) -> float:
        """Seconds until :meth:`take` will succeed (0 when it would now)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate)
