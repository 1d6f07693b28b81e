"""What a load client measures of the media it receives.

aiortc decrypts, parses, reorders and decodes every packet it receives;
doing that for 15 walls (or, against Janus, 210 streams) would cost the
load generator more than the server under test. Most receivers therefore
count at the transport: :func:`count_at_transport` puts a
:class:`TransportCounter` in front of the connection's SRTP session, which
reads the clear RTP header of each packet (payload type, marker bit, SSRC),
counts bytes and frames (marker bits on video) and drops it before
decryption. RTCP still flows as usual. One receiver per room decodes fully,
and a :class:`StampReader` reads every tile's stamp for latency and loss;
:func:`count_only` spares it decoding the audio it does not need.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCPeerConnection, RTCRtpReceiver, rtcrtpreceiver

from bench import pixelcode
from rooms.layout import Rect

_original_worker = rtcrtpreceiver.decoder_worker
_counting: dict[int, FrameCounter] = {}
_lock = threading.Lock()


@dataclass
class FrameCounter:
    """Complete encoded frames that arrived, with their arrival times and sizes."""

    arrivals: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def add(self, size: int) -> None:
        self.arrivals.append(time.monotonic())
        self.sizes.append(size)

    def between(self, start: float, end: float) -> tuple[int, int]:
        """Frames and payload bytes that arrived in ``[start, end)``."""
        frames = size = 0
        for at, n in zip(list(self.arrivals), list(self.sizes), strict=False):
            if start <= at < end:
                frames += 1
                size += n
        return frames, size


def _worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue[Any],
    output_q: asyncio.Queue[Any],
    decode_error: threading.Event,
) -> None:
    with _lock:
        counter = _counting.get(id(output_q))
    if counter is None:
        _original_worker(loop, input_q, output_q, decode_error)
        return
    while (task := input_q.get()) is not None:
        _codec, encoded = task
        counter.add(len(encoded.data))
    asyncio.run_coroutine_threadsafe(output_q.put(None), loop)


def count_only(receiver: RTCRtpReceiver) -> FrameCounter:
    """Count, never decode, what ``receiver`` gets; call before its remote description."""
    counter = FrameCounter()
    track: Any = receiver.track  # aiortc's RemoteStreamTrack, whose queue the worker feeds
    with _lock:
        _counting[id(track._queue)] = counter
    return counter


class TransportCounter:
    """Packets, bytes and video frames (marker bits) per SSRC, from clear RTP headers."""

    def __init__(self, video_types: set[int]) -> None:
        self.video_types = video_types
        self.packets = 0
        self.bytes = 0
        self.frames: dict[int, int] = {}

    def count(self, data: bytes) -> None:
        self.packets += 1
        self.bytes += len(data)
        if data[1] & 0x80 and (data[1] & 0x7F) in self.video_types:
            ssrc = int.from_bytes(data[8:12], "big")
            self.frames[ssrc] = self.frames.get(ssrc, 0) + 1

    def snapshot(self) -> dict[int, int]:
        return dict(self.frames)


class _CountingSession:
    """Stands in for a connection's inbound SRTP session: counts, then drops."""

    def __init__(self, real: pylibsrtp.Session, counter: TransportCounter) -> None:
        self._real = real
        self._counter = counter

    def unprotect(self, data: bytes) -> bytes:
        self._counter.count(data)
        raise pylibsrtp.Error("counted")  # aiortc skips a packet it cannot decrypt

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return bytes(self._real.unprotect_rtcp(data))


_at_transport: dict[int, TransportCounter] = {}
_original_setup_srtp = RTCDtlsTransport._setup_srtp


def _setup_srtp(self: RTCDtlsTransport) -> None:
    _original_setup_srtp(self)
    counter = _at_transport.get(id(self))
    if counter is not None and self._rx_srtp is not None:
        self._rx_srtp = _CountingSession(self._rx_srtp, counter)  # type: ignore[assignment]


def install() -> None:
    """Patch aiortc in this (load-client) process; receivers not registered stay as they were."""
    rtcrtpreceiver.decoder_worker = _worker
    RTCDtlsTransport._setup_srtp = _setup_srtp  # type: ignore[method-assign]


def video_payload_types(sdp: str) -> set[int]:
    """Payload types of the video m-lines of a session description."""
    types: set[int] = set()
    for line in sdp.splitlines():
        if line.startswith("m=video "):
            types.update(int(pt) for pt in line.split()[3:] if pt.isdigit())
    return types


def count_at_transport(pc: RTCPeerConnection) -> TransportCounter:
    """Count, never decrypt, the RTP that ``pc`` receives; call before it connects."""
    counter = TransportCounter(video_payload_types(pc.remoteDescription.sdp))
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport is not None:
            _at_transport[id(transport)] = counter
    return counter


def received_bytes(pc: RTCPeerConnection) -> int:
    """Bytes the connection's DTLS transports have received (SRTP, SRTCP and DTLS)."""
    total = 0
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport is not None and id(transport) not in seen:
            seen.add(id(transport))
            total += int(getattr(transport, "_RTCDtlsTransport__rx_bytes", 0))
    return total


@dataclass(frozen=True, slots=True)
class Box:
    """Where one picture sits in a received frame, in pixels."""

    x: float
    y: float
    w: float
    h: float


def fit(box: Box, aspect: float) -> Box:
    """The picture of ``aspect`` centred in a tile, as the wall's compositor places it."""
    rect = Rect(round(box.x), round(box.y), round(box.w), round(box.h)).fit(aspect)
    return Box(rect.x, rect.y, rect.w, rect.h)


@dataclass
class StampReader:
    """Reads the stamps of decoded frames: ``(arrival, sender, counter)`` per picture."""

    boxes: Callable[[int, int], Sequence[Box]]
    seen: list[tuple[float, int, int]] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)
    unreadable: int = 0

    def add(self, frame: av.VideoFrame) -> None:
        at = time.monotonic()
        self.frames.append(at)
        plane = frame.planes[0]
        data = np.frombuffer(memoryview(plane), dtype=np.uint8)
        luma = data[: plane.line_size * plane.height].reshape(plane.height, plane.line_size)
        for box in self.boxes(frame.width, frame.height):
            stamp = pixelcode.read(luma, box.x, box.y, box.w, box.h)
            if stamp is None:
                self.unreadable += 1
            else:
                self.seen.append((at, stamp.sender, stamp.counter))
