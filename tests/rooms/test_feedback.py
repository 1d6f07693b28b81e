"""RTCP feedback from subscribers reaches the shared encoder."""

from __future__ import annotations

from typing import Any, cast

from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RtcpPsfbPacket,
    RtcpRrPacket,
    pack_remb_fci,
)

from rooms.media.feedback import KeyframeLimiter, observe_sender
from rooms.media.wall import Wall, WallSettings


class FakeSender:
    """Stands in for RTCRtpSender: only the RTCP entry point matters here."""

    def __init__(self) -> None:
        self.handled: list[Any] = []

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        self.handled.append(packet)


def psfb(fmt: int, fci: bytes = b"") -> RtcpPsfbPacket:
    return RtcpPsfbPacket(fmt=fmt, ssrc=1111, media_ssrc=2222, fci=fci)


async def test_pli_fir_and_remb_are_observed_and_still_handled() -> None:
    sender = FakeSender()
    keyframes: list[None] = []
    bandwidth: list[int] = []
    observe_sender(
        cast(RTCRtpSender, sender),
        on_keyframe_request=lambda: keyframes.append(None),
        on_bandwidth=bandwidth.append,
    )
    packets = [
        psfb(RTCP_PSFB_PLI),
        psfb(RTCP_PSFB_FIR),
        psfb(RTCP_PSFB_APP, pack_remb_fci(750_000, [2222])),
        psfb(RTCP_PSFB_APP, b"not remb"),
        RtcpRrPacket(ssrc=1111),
    ]
    for packet in packets:
        await cast(Any, sender)._handle_rtcp_packet(packet)
    assert len(keyframes) == 2
    assert len(bandwidth) == 1 and abs(bandwidth[0] - 750_000) < 750_000 * 0.01
    assert sender.handled == packets  # aiortc's own handling still runs


async def test_pli_makes_the_wall_send_a_keyframe() -> None:
    wall = Wall(WallSettings(width=320, height=180, fps=10), origin=0.0)
    sender = FakeSender()
    observe_sender(
        cast(RTCRtpSender, sender),
        on_keyframe_request=wall.request_keyframe,
        on_bandwidth=lambda bps: wall.report_bandwidth(sender, bps),
    )
    kinds = []
    for i in range(1, 6):
        now = i * 0.1
        kinds.append([p.is_keyframe for p in wall.produce(now, wall.keyframes.take(now))])
    assert kinds[0] == [True] and all(k == [False] for k in kinds[1:])  # only the first
    await cast(Any, sender)._handle_rtcp_packet(psfb(RTCP_PSFB_PLI))
    now = 0.6
    packets = wall.produce(now, wall.keyframes.take(now))
    assert [p.is_keyframe for p in packets] == [True]
    await wall.close()


def test_keyframe_requests_are_rate_limited_but_never_lost() -> None:
    limiter = KeyframeLimiter(min_interval=0.5)
    assert not limiter.take(0.0)
    limiter.request()
    assert limiter.take(0.0)
    limiter.request()
    assert [limiter.take(t) for t in (0.1, 0.2, 0.4)] == [False, False, False]
    assert limiter.take(0.5)  # deferred, then honoured
    assert not limiter.take(1.5)
    limiter.request(urgent=True)
    assert limiter.take(1.6)  # the recorder does not wait


def test_unrequested_keyframe_satisfies_requests() -> None:
    limiter = KeyframeLimiter()
    limiter.request()
    limiter.keyframe_sent(3.0)
    assert not limiter.take(10.0)


async def test_remb_retunes_the_encoder_with_one_keyframe() -> None:
    wall = Wall(WallSettings(width=320, height=180, fps=10, start_bitrate=1_000_000), origin=0.0)
    track = wall.subscribe()
    wall.retune(0.0)
    wall.produce(0.1)
    track.bytes_sent += 125_000  # a second of the wall at 1 Mbit/s went to this receiver
    wall.report_bandwidth(track, 400_000)  # ... whose link carries 400 kbit/s
    assert wall.stats()["video_bitrate"] == 1_000_000
    wall.retune(1.0)
    packets = wall.produce(1.0)
    assert wall.stats()["video_bitrate"] == 400_000
    assert [p.is_keyframe for p in packets] == [True]  # a reopened encoder starts afresh
    await wall.close()
