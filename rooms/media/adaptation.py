"""Which of the wall's two encodes each receiver gets, and at what bitrate.

One encode serves everybody while everybody's link carries it. A receiver
whose link is congested would drag that shared encoder down for all, so after
``down_after`` seconds of congestion it moves to a second, smaller encode
(half the size, half the frame rate) and the full encode follows only the
receivers left on it. A receiver on the small encode cannot show that its
link would now carry the full one without trying, so it goes back on trial
after ``up_after`` seconds without congestion; a trial that fails within
``up_after`` doubles the wait for the next one, up to ``max_up_after``.

Congestion is what the receiver reports through RTCP: a loss fraction of
``loss_congested`` or more in its receiver reports, or a REMB estimate under
``weak_bps`` that is also under ``congested_share`` of what it is actually
being sent, while that is at least ``evidence_bps``. REMB follows the
incoming rate, so a low REMB while the wall is a still picture is no sign of
trouble (a link is not tested by 50 kbit/s); a REMB below what is sent is.

Each encode's bitrate is the lowest fresh estimate among its receivers: the
REMB, and for a receiver losing ``loss_congested`` or more, the encode's
bitrate less half the loss (GCC's loss controller). A REMB that is under the
encode's bitrate but over what the receiver is being sent, while that is
under ``tested_share`` of the bitrate, lowers nothing: a receiver's estimator
cannot bid more than about 1.5 times what it has seen, so while the wall is
a still picture (the encoder sending far under its target) every REMB is
low, and following it would pull the target down, then take a keyframe and
two seconds for each 1.5x step back up once people move. Receivers already
found congested are left out while calm ones remain, so one bad link
degrades nobody else even in the seconds before it moves. Estimates older than
``max_age`` seconds are forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Tier(StrEnum):
    FULL = "full"
    SMALL = "small"


@dataclass(frozen=True, kw_only=True, slots=True)
class AdaptationSettings:
    weak_bps: int = 450_000
    congested_share: float = 0.75
    evidence_bps: int = 150_000
    tested_share: float = 0.75
    loss_congested: float = 0.10
    down_after: float = 3.0
    up_after: float = 15.0
    max_up_after: float = 120.0
    max_age: float = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Bounds:
    min_bps: int
    max_bps: int
    start_bps: int

    def clamp(self, bps: float) -> int:
        return int(max(self.min_bps, min(self.max_bps, bps)))


@dataclass(slots=True)
class _Receiver:
    up_after: float
    tier: Tier = Tier.FULL
    active: bool = True
    remb: int | None = None
    remb_at: float = -math.inf
    loss: float = 0.0
    loss_at: float = -math.inf
    bytes_seen: int = 0
    bytes_at: float | None = None
    rate_bps: float = 0.0
    congested_since: float | None = None
    calm_since: float | None = None
    trial_since: float | None = None


@dataclass(slots=True)
class _TierState:
    bounds: Bounds
    bitrate: int = field(init=False)

    def __post_init__(self) -> None:
        self.bitrate = self.bounds.start_bps


class Adaptation:
    def __init__(
        self, settings: AdaptationSettings, *, full: Bounds, small: Bounds
    ) -> None:
        self.settings = settings
        self._tiers = {Tier.FULL: _TierState(full), Tier.SMALL: _TierState(small)}
        self._receivers: dict[object, _Receiver] = {}
        self.moves = 0

    # -- who receives -------------------------------------------------------------

    def add(self, receiver: object) -> None:
        self._receivers[receiver] = _Receiver(up_after=self.settings.up_after)

    def forget(self, receiver: object) -> None:
        self._receivers.pop(receiver, None)

    def set_active(self, receiver: object, active: bool) -> None:
        """An inactive receiver (audio only) counts for no encode."""
        r = self._receivers.get(receiver)
        if r is not None:
            r.active = active
            r.congested_since = r.calm_since = None
            r.bytes_at = None

    def tier(self, receiver: object) -> Tier:
        r = self._receivers.get(receiver)
        return Tier.FULL if r is None else r.tier

    def receivers(self, tier: Tier) -> int:
        return sum(1 for r in self._receivers.values() if r.active and r.tier is tier)

    # -- what receivers say -------------------------------------------------------

    def report_remb(self, receiver: object, bps: int, now: float) -> None:
        r = self._receivers.get(receiver)
        if r is not None:
            r.remb, r.remb_at = bps, now

    def report_loss(self, receiver: object, fraction: float, now: float) -> None:
        r = self._receivers.get(receiver)
        if r is not None:
            r.loss, r.loss_at = fraction, now

    def _fresh(self, at: float, now: float) -> bool:
        return now - at <= self.settings.max_age

    def _congested(self, r: _Receiver, now: float) -> bool:
        s = self.settings
        if self._fresh(r.loss_at, now) and r.loss >= s.loss_congested:
            return True
        return (
            r.remb is not None
            and self._fresh(r.remb_at, now)
            and r.rate_bps >= s.evidence_bps
            and r.remb < s.weak_bps
            and r.remb < s.congested_share * r.rate_bps
        )

    def _limit(self, r: _Receiver, bitrate: int, now: float) -> float | None:
        limits: list[float] = []
        if r.remb is not None and self._fresh(r.remb_at, now):
            untested = (r.bytes_at is not None and r.remb >= r.rate_bps
                        and r.rate_bps < self.settings.tested_share * bitrate)
            limits.append(max(r.remb, bitrate) if untested else r.remb)
        if self._fresh(r.loss_at, now) and r.loss >= self.settings.loss_congested:
            limits.append(bitrate * (1 - r.loss / 2))
        return min(limits) if limits else None

    # -- decisions ----------------------------------------------------------------

    def update(self, now: float, bytes_sent: Mapping[object, int]) -> list[tuple[object, Tier]]:
        """Move receivers between the encodes; returns who moved where."""
        moves: list[tuple[object, Tier]] = []
        for key, r in self._receivers.items():
            if not r.active:
                continue
            sent = bytes_sent.get(key)
            if sent is not None:
                if r.bytes_at is not None and now > r.bytes_at:
                    r.rate_bps = 8 * max(0, sent - r.bytes_seen) / (now - r.bytes_at)
                r.bytes_seen, r.bytes_at = sent, now
            if self._congested(r, now):
                r.calm_since = None
                r.congested_since = now if r.congested_since is None else r.congested_since
            else:
                r.congested_since = None
                r.calm_since = now if r.calm_since is None else r.calm_since
            target = self._decide(r, now)
            if target is not None:
                moves.append((key, target))
        self.moves += len(moves)
        return moves

    def _decide(self, r: _Receiver, now: float) -> Tier | None:
        s = self.settings
        if (
            r.tier is Tier.FULL
            and r.congested_since is not None
            and now - r.congested_since >= s.down_after
        ):
            failed_trial = r.trial_since is not None and now - r.trial_since < s.up_after
            r.up_after = min(2 * r.up_after, s.max_up_after) if failed_trial else s.up_after
            self._move(r, Tier.SMALL, trial_since=None)
            return Tier.SMALL
        if r.tier is Tier.SMALL and r.calm_since is not None and now - r.calm_since >= r.up_after:
            self._move(r, Tier.FULL, trial_since=now)
            return Tier.FULL
        return None

    def _move(self, r: _Receiver, tier: Tier, *, trial_since: float | None) -> None:
        r.tier, r.trial_since = tier, trial_since
        r.congested_since = r.calm_since = None
        r.bytes_at = None  # the rate starts afresh on the other encode

    def bitrate(self, tier: Tier, now: float) -> int:
        """The encode's new bitrate (remembered as its current one)."""
        state = self._tiers[tier]
        calm: list[float] = []
        congested: list[float] = []
        for r in self._receivers.values():
            if not r.active or r.tier is not tier:
                continue
            limit = self._limit(r, state.bitrate, now)
            if limit is not None:
                (congested if self._congested(r, now) else calm).append(limit)
        pool = calm or congested
        state.bitrate = state.bounds.clamp(min(pool)) if pool else state.bounds.start_bps
        return state.bitrate
