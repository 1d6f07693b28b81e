"""What publishers send, taken from aiortc before it decodes, and decoded where it is used.

aiortc gives every received track a decoder thread: each reassembled frame is
queued to that thread, and each decoded frame comes back to the event loop as
a coroutine. A 15-site room then has 30 decoder threads taking turns at the
GIL and more than a thousand cross-thread hand-offs a second, and when the
loop falls behind, decoded frames pile up in the tracks' queues (seconds of
delay on a busy machine). The room needs neither: the wall decodes its tiles
in its own thread at its own tick (:class:`VideoInput`), the mixer decodes
audio as it arrives (:class:`AudioInput`).

:class:`EncodedTap` puts a stand-in for the receiver's decoder queue: aiortc
still does everything up to the reassembled frame (SRTP, RTCP, NACK, jitter
buffer, REMB) and hands that frame to the tap's sink on the event loop; its
decoder thread waits idle until the receiver stops. Keyframe requests go
through aiortc's own "decoder error" flag, so the receiver sends the PLI.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCRtpReceiver

# What a frame reassembled by aiortc is handed to: codec name ("vp8", "opus"...) and bytes.
Sink = Callable[[str, bytes], None]

_VIDEO_DECODERS = {"vp8": "vp8", "vp9": "vp9", "h264": "h264"}
_AUDIO_DECODERS = {"opus": ("libopus", 48000), "pcmu": ("pcm_mulaw", 8000),
                   "pcma": ("pcm_alaw", 8000)}


def video_decoder(codec: str) -> av.VideoCodecContext:
    name = _VIDEO_DECODERS.get(codec.lower())
    if name is None:
        raise ValueError(f"no decoder for video codec {codec!r}")
    context = av.CodecContext.create(name, "r")
    context.thread_count = 1  # the wall's thread is the room's decoder; no helper threads
    return context  # type: ignore[return-value]


def audio_decoder(codec: str) -> av.AudioCodecContext:
    """Mono 16-bit output: what the mixer sums (Opus downmixes itself, for free)."""
    found = _AUDIO_DECODERS.get(codec.lower())
    if found is None:
        raise ValueError(f"no decoder for audio codec {codec!r}")
    name, rate = found
    context: av.AudioCodecContext = av.CodecContext.create(name, "r")  # type: ignore[assignment]
    context.sample_rate = rate
    context.layout = "mono"
    if name == "libopus":
        context.format = "s16"
    return context


class _DecoderQueue:
    """Stands in for the receiver's ``queue.Queue``: ``put`` comes from the event loop with
    ``(codec, JitterFrame)`` or ``None`` (stop); ``get`` from aiortc's decoder thread, which
    is kept waiting until the stop and then told to end."""

    def __init__(self, tap: EncodedTap) -> None:
        self._tap = tap
        self._stopped = threading.Event()

    def put(self, item: Any) -> None:
        if item is None:
            self._stopped.set()
            return
        codec, frame = item
        sink = self._tap.sink
        if sink is not None:
            sink(codec.name, frame.data)

    def get(self) -> None:
        self._stopped.wait()


class EncodedTap:
    """Receives ``receiver``'s reassembled frames in :attr:`sink` instead of aiortc's decoder.

    Must be put in place before the receiver starts (from the peer connection's
    ``track`` event), since aiortc hands the queue to its thread at start.
    """

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self.sink: Sink | None = None
        try:
            started = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
            self._error_flag: threading.Event | None = getattr(
                receiver, "_RTCRtpReceiver__decoder_error", None)
        except AttributeError:
            raise RuntimeError("this aiortc has no decoder queue to tap (tested: 1.16)") from None
        if started is not None:
            raise RuntimeError("the receiver has started: tap it from the 'track' event")
        receiver._RTCRtpReceiver__decoder_queue = _DecoderQueue(self)  # type: ignore[attr-defined]

    def request_keyframe(self) -> None:
        """Have the receiver send a PLI with its next packet (any thread)."""
        if self._error_flag is not None:
            self._error_flag.set()


def is_vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 9.1: bit 0 of the frame tag is 0 on a key frame."""
    return bool(data) and not data[0] & 1


class VideoInput:
    """One publisher's encoded video, decoded by the wall's thread at each tick.

    ``feed`` runs on the event loop and only queues; ``decode`` runs in the wall's thread,
    decodes everything queued (a VP8 stream must be decoded whole) and returns the newest
    picture. While nobody watches the wall (``set_dormant``) frames are dropped, and the
    input waits for a keyframe, which it asks for, when it wakes. A queue that grows past
    ``max_pending`` (the wall thread starved) is dropped the same way.
    """

    def __init__(
        self,
        request_keyframe: Callable[[], None],
        *,
        max_pending: int = 50,
        keyframe_interval: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._request = request_keyframe
        self._pending: deque[tuple[str, bytes]] = deque()
        self._max_pending = max_pending
        self._interval = keyframe_interval
        self._monotonic = monotonic
        self._last_request = -float("inf")
        self._decoder: av.VideoCodecContext | None = None
        self._codec = ""
        self._need_keyframe = False
        self._dormant = False
        self.frames_decoded = 0
        self.frames_dropped = 0
        self.decode_errors = 0

    def feed(self, codec: str, data: bytes) -> None:
        if not data:
            return  # an empty packet would put the decoder into draining (end of stream)
        if self._dormant:
            self.frames_dropped += 1
            return
        if len(self._pending) >= self._max_pending:
            self.frames_dropped += len(self._pending)
            self._pending.clear()
            self._wait_for_keyframe()
        self._pending.append((codec, data))

    def set_dormant(self, dormant: bool) -> None:
        if dormant == self._dormant:
            return
        self._dormant = dormant
        if dormant:
            self.frames_dropped += len(self._pending)
            self._pending.clear()
        else:
            self._wait_for_keyframe()

    def _wait_for_keyframe(self) -> None:
        self._need_keyframe = True
        self.request_keyframe()

    def request_keyframe(self) -> None:
        now = self._monotonic()
        if now - self._last_request >= self._interval:
            self._last_request = now
            self._request()

    def decode(self) -> av.VideoFrame | None:
        """Decode what is queued; the newest picture, or ``None`` when nothing new."""
        latest: av.VideoFrame | None = None
        while self._pending:
            try:
                codec, data = self._pending.popleft()
            except IndexError:  # cleared by the event loop meanwhile
                break
            if self._need_keyframe:
                if codec.lower() == "vp8" and not is_vp8_keyframe(data):
                    self.frames_dropped += 1
                    self.request_keyframe()
                    continue
                self._need_keyframe = False
            if self._decoder is None or codec != self._codec:
                self._decoder = video_decoder(codec)
                self._codec = codec
            try:
                frames = self._decoder.decode(av.Packet(data))
            except av.FFmpegError:
                # Keep the decoder: its state still serves the next frames; ask for a keyframe.
                self.decode_errors += 1
                self.request_keyframe()
                continue
            for frame in frames:
                latest = frame
                self.frames_decoded += 1
        return latest

    def close(self) -> None:
        """Drop what is queued and anything fed later (the tap may outlive the tile)."""
        self._dormant = True
        self._pending.clear()


class AudioInput:
    """One publisher's encoded audio, decoded as it arrives into ``deliver``."""

    def __init__(self, deliver: Callable[[av.AudioFrame], None]) -> None:
        self._deliver = deliver
        self._decoder: av.AudioCodecContext | None = None
        self._codec = ""
        self.decode_errors = 0

    def feed(self, codec: str, data: bytes) -> None:
        if not data:
            return  # an empty packet would put the decoder into draining (end of stream)
        if self._decoder is None or codec != self._codec:
            self._decoder = audio_decoder(codec)
            self._codec = codec
        try:
            frames = self._decoder.decode(av.Packet(data))
        except av.FFmpegError:
            self.decode_errors += 1
            return
        for frame in frames:
            self._deliver(frame)
