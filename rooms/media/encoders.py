"""The room's only encoders: one VP8 for the wall, Opus for the mixes.

Both hand out ``av.Packet`` with ``pts`` and ``time_base`` set, ready for
aiortc's ``Encoder.pack`` and for muxing into a recording.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import PictureType

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
AUDIO_FRAME_SAMPLES = 960  # 20 ms

Samples = npt.NDArray[np.int16]


class Vp8Encoder:
    """libvpx VP8 in realtime mode, with keyframes on demand.

    libvpx cannot retarget an open encoder through FFmpeg, so a bitrate change
    of more than ``retune_ratio`` reopens it; that costs one keyframe, which
    is why callers should change the bitrate rarely.
    """

    def __init__(
        self,
        *,
        width: int,
        height: int,
        fps: int,
        bitrate: int,
        cpu_used: int = 8,
        threads: int = 1,
        retune_ratio: float = 0.15,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.cpu_used = cpu_used
        self.threads = threads
        self.retune_ratio = retune_ratio
        self._bitrate = bitrate
        self._codec: av.VideoCodecContext | None = None
        self.reopened = 0

    @property
    def bitrate(self) -> int:
        return self._bitrate

    @bitrate.setter
    def bitrate(self, bps: int) -> None:
        if abs(bps - self._bitrate) > self.retune_ratio * self._bitrate:
            self._bitrate = bps
            self._codec = None

    def _open(self) -> av.VideoCodecContext:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width = self.width
        codec.height = self.height
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = Fraction(self.fps, 1)
        codec.bit_rate = self._bitrate
        codec.gop_size = 10 * 60 * self.fps  # keyframes come on demand
        codec.qmin = 4
        codec.qmax = 56
        codec.thread_count = self.threads
        rate = str(self._bitrate)
        codec.options = {
            "deadline": "realtime",
            "cpu-used": str(self.cpu_used),
            "lag-in-frames": "0",
            "error-resilient": "1",
            "static-thresh": "100",  # skip unchanged blocks: most tiles are still
            "bufsize": rate,
            "minrate": rate,
            "maxrate": rate,
            "undershoot-pct": "100",
            "overshoot-pct": "15",
        }
        codec.open()
        self.reopened += 1
        return codec

    def encode(self, frame: av.VideoFrame, *, keyframe: bool) -> list[av.Packet[Any]]:
        if self._codec is None:
            self._codec = self._open()
        if keyframe:
            frame.pict_type = PictureType.I
        packets = self._codec.encode(frame)
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        return packets

    def close(self) -> None:
        self._codec = None


class OpusEncoder:
    """Mono 48 kHz Opus, one packet per 20 ms frame, ``pts`` in samples."""

    def __init__(self, *, bitrate: int = 40000) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = AUDIO_RATE
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = bitrate
        codec.time_base = AUDIO_TIME_BASE
        codec.options = {"application": "voip"}
        self._codec: av.AudioCodecContext = codec

    def encode(self, samples: Samples, pts: int) -> list[av.Packet[Any]]:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        frame.time_base = AUDIO_TIME_BASE
        packets = self._codec.encode(frame)
        # libopus reports its look-ahead as a negative start; the RTP and
        # recording timelines want the frame's own time.
        for packet in packets:
            packet.pts = packet.dts = pts
            packet.time_base = AUDIO_TIME_BASE
        return packets
