"""Rate limits on the residents' anonymous endpoints: small token buckets in memory.

Buckets live in the process (one per client address and per site), so a restart forgets
them and several processes each count their own: acceptable for one street office on one
PC, and documented in docs/residents.md. The client address is the one the sign-in backoff
uses (behind a proxy: the trusted X-Forwarded-For hop). Old buckets are dropped once full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aiohttp import web

from server.core.clock import Clock
from server.core.errors import N_, DomainError


class RateLimited(DomainError):
    """Too many requests; `retry_after` seconds until the next one is let in (HTTP 429)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, params={"minutes": max(1, math.ceil(retry_after / 60))})
        self.retry_after = retry_after


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class TokenBuckets:
    """`capacity` requests at once, refilled at `capacity` per `per_s` seconds, per key."""

    capacity: int
    per_s: float
    message: str
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def take(self, key: str, now: float) -> None:
        rate = self.capacity / self.per_s
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) > 10_000:
                self._prune(now)
            bucket = self.buckets[key] = Bucket(float(self.capacity), now)
        bucket.tokens = min(float(self.capacity), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens < 1:
            raise RateLimited(self.message, retry_after=math.ceil((1 - bucket.tokens) / rate))
        bucket.tokens -= 1

    def _prune(self, now: float) -> None:
        rate = self.capacity / self.per_s
        for key in [k for k, b in self.buckets.items()
                    if b.tokens + (now - b.at) * rate >= self.capacity]:
            del self.buckets[key]


TOO_MANY_HERE = N_("Too many submissions from this connection. Please try again in "
                   "%(minutes)s minutes.")
TOO_MANY_SITE = N_("This community has received very many submissions just now. Please try "
                   "again in %(minutes)s minutes.")
TOO_MANY_LOOKUPS = N_("Too many look-ups from this connection. Please try again in "
                      "%(minutes)s minutes.")


class ResidentLimits:
    """The app's buckets: filings per address and per site, code look-ups per address."""

    def __init__(self, clock: Clock, *, per_address: int = 10, per_site: int = 60,
                 lookups: int = 30) -> None:
        self.clock = clock
        self.per_address = TokenBuckets(per_address, 3600.0, TOO_MANY_HERE)
        self.per_site = TokenBuckets(per_site, 3600.0, TOO_MANY_SITE)
        self.lookups = TokenBuckets(lookups, 600.0, TOO_MANY_LOOKUPS)

    def _now(self) -> float:
        return self.clock().timestamp()

    def submit(self, address: str | None, site_id: int) -> None:
        now = self._now()
        self.per_address.take(address or "?", now)
        self.per_site.take(str(site_id), now)

    def lookup(self, address: str | None) -> None:
        self.lookups.take(address or "?", self._now())


RESIDENT_LIMITS = web.AppKey("resident_limits", ResidentLimits)
