"""A receiver on a weak link gets the small encode; the others keep the full wall."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooms.media.adaptation import AdaptationSettings, Tier

from .conftest import TEST_WALL, RoomServer, poll
from .test_audio_only import server_track

pytestmark = pytest.mark.media

QUICK = replace(
    TEST_WALL, bitrate_interval=0.3,
    adaptation=AdaptationSettings(down_after=1.0, up_after=2.0),
)


async def test_a_lossy_receiver_moves_to_the_small_encode_and_back(
    room_server: RoomServer,
) -> None:
    registry = room_server.registry
    registry.config = replace(registry.config, wall=QUICK)
    host = await room_server.client("host", role="host", colour=(220, 30, 30),
                                    receive_audio=False)
    strong = await room_server.client("strong", role="observer", receive_audio=False)
    weak = await room_server.client("weak", role="observer", receive_audio=False)
    for c in (host, strong, weak):
        await c.connect_media()
    for c in (strong, weak):
        await c.wait_frames(2)
    conference = registry.get("r1")
    assert conference is not None
    wall = conference.wall
    small = QUICK.small_size()
    assert small == (QUICK.width // 2, QUICK.height // 2)

    # The weak receiver's RTCP says it loses a third of the packets.
    weak_track = server_track(room_server, "weak")
    report_loss = wall.report_loss
    lossy = {"on": True}

    def loss(subscriber: object, fraction: float) -> None:
        report_loss(subscriber, 0.33 if subscriber is weak_track and lossy["on"] else fraction)

    wall.report_loss = loss  # type: ignore[method-assign]
    # aiortc's own receivers send REMB estimates that follow the little they get (tens of
    # kbit/s on a test wall); left in, they set the full encode's bitrate whatever the weak
    # receiver does. This test is about loss on one link, so REMB stays out of it.
    wall.report_bandwidth = lambda subscriber, bps: None  # type: ignore[method-assign]
    await poll(lambda: wall.adaptation.tier(weak_track) is Tier.SMALL)
    await weak.until(lambda: weak.latest_frame is not None
                     and (weak.latest_frame.width, weak.latest_frame.height) == small)
    await strong.wait_frames(5)
    assert strong.latest_frame is not None
    assert (strong.latest_frame.width, strong.latest_frame.height) == (QUICK.width, QUICK.height)
    stats = conference.stats()
    assert stats["small_subscribers"] == 1 and stats["video_subscribers"] == 3
    assert stats["small_frames_encoded"] > 0
    assert stats["video_bitrate"] >= QUICK.start_bitrate * 0.85  # the others keep their bitrate
    assert stats["small_video_bitrate"] <= QUICK.small_max_bitrate

    # The link recovers: after the wait it goes back on trial, to the full wall.
    lossy["on"] = False
    await poll(lambda: wall.adaptation.tier(weak_track) is Tier.FULL)
    await weak.until(lambda: weak.latest_frame is not None
                     and weak.latest_frame.width == QUICK.width)
    assert conference.stats()["small_subscribers"] == 0
