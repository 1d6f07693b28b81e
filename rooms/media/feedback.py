"""What receivers tell the shared encoder through RTCP.

aiortc's sender reacts to PLI/FIR only on its own encode path (a private
flag), and to REMB by retuning its own encoder; a sender that forwards
pre-encoded packets has neither. :func:`observe_sender` wraps one sender's
RTCP handler to pass keyframe requests, bandwidth estimates (REMB) and the
loss its receiver reports on to the shared encoder, then lets aiortc handle
the packet as usual. What the wall makes of them: :mod:`rooms.media.adaptation`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

logger = logging.getLogger(__name__)


def observe_sender(
    sender: RTCRtpSender,
    *,
    on_keyframe_request: Callable[[], None],
    on_bandwidth: Callable[[int], None],
    on_loss: Callable[[float], None] | None = None,
) -> None:
    """Report PLI/FIR, REMB and loss arriving for ``sender``, then handle them as aiortc does."""
    original = sender._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket) and on_loss is not None:
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    on_loss(report.fraction_lost / 256)
        elif isinstance(packet, RtcpPsfbPacket):
            if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                on_keyframe_request()
            elif packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, _ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    logger.debug("ignoring application feedback that is not REMB")
                else:
                    on_bandwidth(int(bitrate))
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


class KeyframeLimiter:
    """At most one keyframe per ``min_interval`` seconds; later requests wait, never vanish."""

    def __init__(self, min_interval: float = 0.5) -> None:
        self.min_interval = min_interval
        self._requested = False
        self._urgent = False
        self._last: float | None = None
        self.requests = 0

    def request(self, *, urgent: bool = False) -> None:
        """Ask for a keyframe; ``urgent`` (rare, server-side needs) skips the rate limit."""
        self.requests += 1
        self._requested = True
        self._urgent = self._urgent or urgent

    def take(self, now: float) -> bool:
        """Whether the frame encoded at ``now`` should be a keyframe."""
        if not self._requested:
            return False
        if not self._urgent and self._last is not None and now - self._last < self.min_interval:
            return False
        self.keyframe_sent(now)
        return True

    def keyframe_sent(self, now: float) -> None:
        """An unrequested keyframe (e.g. a new encoder) satisfies waiting requests."""
        self._requested = self._urgent = False
        self._last = now
