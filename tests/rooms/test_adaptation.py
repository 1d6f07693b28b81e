"""The two-encode policy with a fake clock: thresholds, hysteresis, trials, bitrates."""

from __future__ import annotations

from rooms.media.adaptation import Adaptation, AdaptationSettings, Bounds, Tier

SETTINGS = AdaptationSettings()  # the documented defaults
FULL = Bounds(min_bps=300_000, max_bps=2_500_000, start_bps=1_200_000)
SMALL = Bounds(min_bps=100_000, max_bps=500_000, start_bps=300_000)


class Link:
    """One receiver: what the server sent it so far, what it says back."""

    def __init__(self, adaptation: Adaptation, name: str) -> None:
        self.adaptation = adaptation
        self.name = name
        self.sent = 0
        adaptation.add(name)


def run(adaptation: Adaptation, links: list[Link], *, seconds: float, start: float,
        sent_bps: dict[str, int], remb: dict[str, int] | None = None,
        loss: dict[str, float] | None = None, step: float = 1.0) -> list[tuple[float, str, Tier]]:
    """Feed feedback every ``step`` seconds; returns the moves with their times."""
    moves: list[tuple[float, str, Tier]] = []
    now = start
    while now < start + seconds - 1e-9:
        now += step
        for link in links:
            link.sent += int(sent_bps.get(link.name, 0) * step / 8)
            if remb and link.name in remb:
                adaptation.report_remb(link.name, remb[link.name], now)
            if loss and link.name in loss:
                adaptation.report_loss(link.name, loss[link.name], now)
        sent: dict[object, int] = {link.name: link.sent for link in links}
        moves += [(now, str(who), tier) for who, tier in adaptation.update(now, sent)]
    return moves


def test_the_lowest_fresh_estimate_within_bounds() -> None:
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    assert a.bitrate(Tier.FULL, 0.0) == 1_200_000  # nobody has said anything yet
    for name in "abc":
        a.add(name)
    a.report_remb("a", 1_500_000, 0.0)
    a.report_remb("b", 800_000, 1.0)
    assert a.bitrate(Tier.FULL, 2.0) == 800_000
    a.report_remb("c", 50_000, 2.0)
    assert a.bitrate(Tier.FULL, 2.0) == 300_000  # clamped: the floor of the full encode
    a.forget("c")
    a.report_remb("a", 9_000_000, 7.0)
    assert a.bitrate(Tier.FULL, 7.0) == 2_500_000  # "b" is stale by now; capped at the max
    assert a.bitrate(Tier.SMALL, 7.0) == 300_000  # an encode without receivers: its start


def test_loss_moves_a_receiver_after_three_seconds_and_spares_the_others() -> None:
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    good, bad = Link(a, "good"), Link(a, "bad")
    sent = {"good": 1_200_000, "bad": 1_200_000}
    moves = run(a, [good, bad], seconds=2, start=0, sent_bps=sent,
                remb={"good": 1_800_000, "bad": 1_800_000}, loss={"bad": 0.2})
    assert moves == []
    # While "bad" is congested the full encode follows only the calm receiver.
    assert a.bitrate(Tier.FULL, 2.0) == 1_800_000
    moves = run(a, [good, bad], seconds=3, start=2, sent_bps=sent,
                remb={"good": 1_800_000, "bad": 1_800_000}, loss={"bad": 0.2})
    assert moves == [(4.0, "bad", Tier.SMALL)]  # congested since t=1, three seconds on
    assert (a.tier("good"), a.tier("bad")) == (Tier.FULL, Tier.SMALL)
    assert (a.receivers(Tier.FULL), a.receivers(Tier.SMALL)) == (1, 1)
    # On the small encode its loss cuts that encode's bitrate (less half the loss).
    assert a.bitrate(Tier.SMALL, 5.0) == int(300_000 * 0.9)
    assert a.bitrate(Tier.FULL, 5.0) == 1_800_000


def test_a_low_remb_is_congestion_only_below_what_is_sent() -> None:
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    still, busy = Link(a, "still"), Link(a, "busy")
    # A still wall: 60 kbit/s arrive and the REMB says 80: no evidence of anything.
    # A busy wall: 1.2 Mbit/s sent, the REMB says 400: a congested link.
    moves = run(a, [still, busy], seconds=6, start=0,
                sent_bps={"still": 60_000, "busy": 1_200_000},
                remb={"still": 80_000, "busy": 400_000})
    assert [(who, tier) for _, who, tier in moves] == [("busy", Tier.SMALL)]
    # A REMB above the weak threshold is never congestion, whatever is sent.
    b = Adaptation(SETTINGS, full=FULL, small=SMALL)
    fine = Link(b, "fine")
    assert run(b, [fine], seconds=10, start=0, sent_bps={"fine": 2_000_000},
               remb={"fine": 600_000}) == []


def test_a_still_wall_does_not_talk_the_encoder_down() -> None:
    """While the wall is a still picture the encoder sends far under its target, and every
    receiver's REMB (at most about 1.5x what it sees) is low: that lowers nothing. Once the
    wall moves and a receiver reports less than it is sent, the REMB counts again."""
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    links = [Link(a, name) for name in "ab"]
    run(a, links, seconds=1, start=0, sent_bps={"a": 1_200_000, "b": 1_200_000})
    assert a.bitrate(Tier.FULL, 1.0) == 1_200_000
    run(a, links, seconds=6, start=1, sent_bps={"a": 150_000, "b": 150_000},
        remb={"a": 225_000, "b": 240_000})
    assert a.bitrate(Tier.FULL, 7.0) == 1_200_000  # kept: nothing was tested at 1.2 Mbit/s
    run(a, links, seconds=2, start=7, sent_bps={"a": 1_150_000, "b": 1_150_000},
        remb={"a": 1_700_000, "b": 900_000})
    assert a.bitrate(Tier.FULL, 9.0) == 900_000  # "b" is sent 1.15 and says 0.9: it counts
    run(a, links, seconds=2, start=9, sent_bps={"a": 860_000, "b": 860_000},
        remb={"a": 1_290_000, "b": 700_000})
    assert a.bitrate(Tier.FULL, 11.0) == 700_000  # sent near the target: a tested estimate


def test_trials_back_on_the_full_encode_back_off_when_they_fail() -> None:
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    link = Link(a, "r")
    run(a, [link], seconds=4, start=0, sent_bps={"r": 1_200_000}, loss={"r": 0.3})
    assert a.tier("r") is Tier.SMALL
    # Calm on the small encode: back on trial after up_after (15 s), not before.
    moves = run(a, [link], seconds=14, start=4, sent_bps={"r": 300_000}, loss={"r": 0.0})
    assert moves == []
    moves = run(a, [link], seconds=3, start=18, sent_bps={"r": 300_000}, loss={"r": 0.0})
    assert [tier for _, _, tier in moves] == [Tier.FULL]
    trial = moves[0][0]
    # The trial fails within up_after: down again, and the next wait is doubled.
    moves = run(a, [link], seconds=5, start=trial, sent_bps={"r": 1_200_000}, loss={"r": 0.3})
    assert [tier for _, _, tier in moves] == [Tier.SMALL]
    down = moves[0][0]
    moves = run(a, [link], seconds=29, start=down, sent_bps={"r": 300_000}, loss={"r": 0.0})
    assert moves == []
    moves = run(a, [link], seconds=3, start=down + 29, sent_bps={"r": 300_000},
                loss={"r": 0.0})
    assert [tier for _, _, tier in moves] == [Tier.FULL]
    # A trial that holds resets the wait: the next fall costs only 15 s again.
    calm_trial = moves[0][0]
    run(a, [link], seconds=20, start=calm_trial, sent_bps={"r": 1_200_000}, loss={"r": 0.0})
    moves = run(a, [link], seconds=4, start=calm_trial + 20, sent_bps={"r": 1_200_000},
                loss={"r": 0.3})
    assert [tier for _, _, tier in moves] == [Tier.SMALL]
    down = moves[0][0]
    moves = run(a, [link], seconds=17, start=down, sent_bps={"r": 300_000}, loss={"r": 0.0})
    assert [tier for _, _, tier in moves] == [Tier.FULL]


def test_audio_only_receivers_count_for_nothing() -> None:
    a = Adaptation(SETTINGS, full=FULL, small=SMALL)
    Link(a, "paused")
    a.report_remb("paused", 350_000, 0.0)
    a.set_active("paused", False)
    assert a.bitrate(Tier.FULL, 0.5) == 1_200_000
    assert a.receivers(Tier.FULL) == 0
    for now in range(1, 11):
        a.report_loss("paused", 0.5, float(now))
        assert a.update(float(now), {"paused": 0}) == []
    assert a.tier("paused") is Tier.FULL
    assert a.tier("unknown") is Tier.FULL
