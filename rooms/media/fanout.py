"""One encoded stream, many subscribers: tracks that hand out shared packets.

aiortc's ``RTCRtpSender`` accepts ``av.Packet`` from ``track.recv()`` and only
packetises it (``Encoder.pack``), so a packet encoded once can be sent to
every subscriber. Each subscriber keeps a short queue; a subscriber that
falls behind drops to the newest data instead of queueing stale frames.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

PacketListener = Callable[["av.Packet[Any]"], None]  # e.g. the recorder, fed every packet


class PacketTrack(MediaStreamTrack):
    """A subscriber's view of a shared encoded stream."""

    def __init__(self, *, max_pending: int) -> None:
        super().__init__()
        self._pending: deque[av.Packet[Any]] = deque()
        self._max_pending = max_pending
        self._wakeup = asyncio.Event()
        self.packets_sent = 0
        self.bytes_sent = 0
        self.packets_dropped = 0

    @property
    def pending(self) -> int:
        """Packets waiting for the sender."""
        return len(self._pending)

    def push(self, packet: av.Packet[Any]) -> None:
        if self.readyState != "live":
            return
        if len(self._pending) >= self._max_pending:
            self.packets_dropped += 1
            self._pending.popleft()
        self._pending.append(packet)
        self._wakeup.set()

    async def recv(self) -> av.Packet[Any]:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._pending:
                packet = self._pending.popleft()
                self.packets_sent += 1
                self.bytes_sent += packet.size
                return packet
            self._wakeup.clear()
            await self._wakeup.wait()

    def stop(self) -> None:
        super().stop()
        self._pending.clear()
        self._wakeup.set()


class AudioPacketTrack(PacketTrack):
    kind = "audio"

    def __init__(self, *, max_pending: int = 10) -> None:
        super().__init__(max_pending=max_pending)


class VideoPacketTrack(PacketTrack):
    """Starts at a keyframe, and after any drop waits for the next keyframe.

    A delta frame is useless without everything since the last keyframe, so
    an overflowing queue is emptied and ``request_keyframe`` is called; the
    first ``recv`` (the sender has started) asks for a keyframe too.
    """

    kind = "video"

    def __init__(self, *, request_keyframe: Callable[[], None], max_pending: int = 3) -> None:
        super().__init__(max_pending=max_pending)
        self._request_keyframe = request_keyframe
        self._need_keyframe = True
        self._started = False

    def push(self, packet: av.Packet[Any]) -> None:
        if self.readyState != "live":
            return
        if len(self._pending) >= self._max_pending:
            self.packets_dropped += len(self._pending)
            self._pending.clear()
            self._need_keyframe = True
            self._request_keyframe()
        if self._need_keyframe:
            if not packet.is_keyframe:
                self.packets_dropped += 1
                return
            self._need_keyframe = False
        self._pending.append(packet)
        self._wakeup.set()

    def resync(self) -> None:
        """Drop what is queued and wait for a keyframe (a new encode, or video resumed)."""
        self._pending.clear()
        self._need_keyframe = True

    async def recv(self) -> av.Packet[Any]:
        if not self._started:
            self._started = True
            if self._need_keyframe:
                self._request_keyframe()
        return await super().recv()


class Fanout:
    """Hands each published packet to every subscribed track."""

    def __init__(self) -> None:
        self._tracks: set[PacketTrack] = set()

    def add(self, track: PacketTrack) -> None:
        self._tracks.add(track)

    def discard(self, track: PacketTrack) -> None:
        self._tracks.discard(track)

    def publish(self, packet: av.Packet[Any]) -> None:
        for track in list(self._tracks):
            if track.readyState == "live":
                track.push(packet)
            else:
                self._tracks.discard(track)

    def __len__(self) -> int:
        return len(self._tracks)

    @property
    def bytes_sent(self) -> int:
        return sum(track.bytes_sent for track in self._tracks)

    def close(self) -> None:
        for track in list(self._tracks):
            track.stop()
        self._tracks.clear()
