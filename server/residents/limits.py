"""Rate limits on the residents' anonymous endpoints: token buckets per client address and
per site.

On one machine the buckets live in the process (a restart forgets them). In a cluster
(``YIZHAN_REDIS_URL``) every node takes from the same buckets in Redis
(:attr:`ResidentLimits.shared`, the cluster's store), so three nodes behind a load
balancer let in what one would; if Redis cannot be asked, each node falls back to its own
buckets rather than refuse residents. The client address is the one the sign-in backoff
uses (behind a proxy: the trusted X-Forwarded-For hop). Old buckets are dropped once full.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from server.core.clock import Clock
from server.core.errors import N_, DomainError

log = logging.getLogger("yizhan.residents")


class SharedBuckets(Protocol):
    """Token buckets every process of the app takes from (the cluster's Redis)."""

    async def take_token(self, bucket: str, *, capacity: int, per_s: float,
                         now: float) -> tuple[bool, float]: ...


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

    name: str
    capacity: int
    per_s: float
    message: str
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def refused(self, tokens: float) -> RateLimited:
        rate = self.capacity / self.per_s
        return RateLimited(self.message, retry_after=math.ceil((1 - tokens) / rate))

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
            raise self.refused(bucket.tokens)
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
        self.per_address = TokenBuckets("filings-address", per_address, 3600.0, TOO_MANY_HERE)
        self.per_site = TokenBuckets("filings-site", per_site, 3600.0, TOO_MANY_SITE)
        self.lookups = TokenBuckets("lookups-address", lookups, 600.0, TOO_MANY_LOOKUPS)
        self.shared: SharedBuckets | None = None  # set while the app is a cluster's node

    def _now(self) -> float:
        return self.clock().timestamp()

    async def _take(self, buckets: TokenBuckets, key: str, now: float) -> None:
        if self.shared is not None:
            try:
                taken, left = await self.shared.take_token(
                    f"{buckets.name}:{key}", capacity=buckets.capacity, per_s=buckets.per_s,
                    now=now)
            except Exception as exc:
                log.warning("shared rate limit %s unavailable (%r); counting here",
                            buckets.name, exc)
            else:
                if not taken:
                    raise buckets.refused(left)
                return
        buckets.take(key, now)

    async def submit(self, address: str | None, site_id: int) -> None:
        now = self._now()
        await self._take(self.per_address, address or "?", now)
        await self._take(self.per_site, str(site_id), now)

    async def lookup(self, address: str | None) -> None:
        await self._take(self.lookups, address or "?", self._now())


RESIDENT_LIMITS = web.AppKey("resident_limits", ResidentLimits)
