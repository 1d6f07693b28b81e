"""Publishing tracks that replay pre-encoded packets at the real frame rate.

Every video frame handed to aiortc is logged with its send time, by its
running number ``n`` (the stamp carries ``n % FRAMES``), so that a receiver
of the wall can tell how long the frame took to get there.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import av
from aiortc.mediastreams import MediaStreamTrack

from bench.clip import AUDIO_SAMPLES, AUDIO_TIME_BASE, FPS, VIDEO_TIME_BASE, EncodedFrame

AUDIO_PTIME = 0.02
# A silent microphone under DTX: libwebrtc sends one frame of background noise every 20
# frames (400 ms) and nothing in between (MAX_CONSECUTIVE_DTX in its Opus encoder).
DTX_EVERY = 20


class ClipVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, frames: list[EncodedFrame]) -> None:
        super().__init__()
        self._frames = frames
        self._start: float | None = None
        self.sent: list[float] = []  # monotonic send time of frame n

    async def recv(self) -> av.Packet[Any]:
        n = len(self.sent)
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + n / FPS
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:  # the process stalled: do not burst a second of frames
            self._start -= delay
        frame = self._frames[n % len(self._frames)]
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = n * VIDEO_TIME_BASE.denominator // FPS
        packet.time_base = VIDEO_TIME_BASE
        packet.is_keyframe = frame.keyframe
        self.sent.append(time.monotonic())
        return packet


class ClipAudioTrack(MediaStreamTrack):
    """Replays Opus packets every 20 ms; with :attr:`dtx` set (a quiet clip, and an answer
    that asks for ``usedtx``) it sends as a browser's silent microphone does, one packet
    every 400 ms, the RTP timestamp running on through the gaps."""

    kind = "audio"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self._packets = packets
        self._start: float | None = None
        self._count = 0
        self.dtx = False

    async def recv(self) -> av.Packet[Any]:
        n = self._count
        if self.dtx:
            n = -(-n // DTX_EVERY) * DTX_EVERY  # the next frame a DTX sender transmits
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + n * AUDIO_PTIME
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            self._start -= delay
        packet = av.Packet(self._packets[n % len(self._packets)])
        packet.pts = packet.dts = n * AUDIO_SAMPLES
        packet.time_base = AUDIO_TIME_BASE
        self._count = n + 1
        return packet
