"""The per-connection token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from rooms.protocol.throttle import FLOOD_LIMIT, MESSAGE_BURST, MESSAGE_RATE, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def takes(bucket: TokenBucket, count: int) -> list[bool]:
    return [bucket.take() for _ in range(count)]


def test_a_burst_passes_and_the_rest_is_refused_until_tokens_come_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, 40, clock=clock)
    assert takes(bucket, 42) == [True] * 40 + [False, False]
    assert bucket.retry_after() == pytest.approx(0.05)
    clock.now += 0.049
    assert bucket.take() is False  # refused: nothing taken, no debt either
    clock.now += 0.002
    assert bucket.retry_after() == 0.0
    assert takes(bucket, 2) == [True, False]
    clock.now += 1.0
    assert takes(bucket, 21) == [True] * 20 + [False]


def test_a_steady_sender_at_the_rate_is_never_refused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, 40, clock=clock)
    results = []
    for _ in range(1000):
        clock.now += 0.05
        results.append(bucket.take())
    assert results == [True] * 1000
    assert bucket.tokens == pytest.approx(39.0)


def test_an_idle_bucket_holds_no_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, 40, clock=clock)
    clock.now += 3600
    assert bucket.tokens == 40.0
    assert takes(bucket, 41) == [True] * 40 + [False]


def test_a_clock_that_goes_back_gives_no_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, 2, clock=clock)
    assert takes(bucket, 3) == [True, True, False]
    clock.now -= 10
    assert bucket.take() is False
    clock.now += 10.5  # only half a second after the last reading that counted
    assert bucket.take() is False
    clock.now += 0.5
    assert bucket.take() is True


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 5), (1.0, 0)])
def test_nonsense_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, burst)


def test_the_documented_limits() -> None:
    assert (MESSAGE_RATE, MESSAGE_BURST, FLOOD_LIMIT) == (20.0, 40, 200)
