"""The video wall: composite at a fixed rate, encode once, send to everyone.

A worker thread composes and encodes (both mostly release the GIL in
libswscale/libvpx), so the event loop keeps serving RTP while a frame is
being made. Packets go to every subscriber's :class:`VideoPacketTrack`
and to packet listeners such as the recorder. With nobody watching, the
wall does no work at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.compositor import Compositor
from rooms.encoders import VIDEO_TIME_BASE, Vp8Encoder
from rooms.fanout import Fanout, PacketListener, VideoPacketTrack
from rooms.feedback import BandwidthEstimates, KeyframeLimiter
from rooms.layout import Layout


@dataclass(frozen=True, kw_only=True, slots=True)
class WallSettings:
    width: int = 1280
    height: int = 720
    fps: int = 25
    start_bitrate: int = 1_200_000
    min_bitrate: int = 300_000
    max_bitrate: int = 2_500_000
    cpu_used: int = 8  # libvpx speed: higher is cheaper and blurrier (max 16)
    threads: int = 1
    keyframe_interval: float = 0.5  # at most one requested keyframe per this many seconds
    bitrate_interval: float = 2.0  # how often REMB estimates may retune the encoder


class Wall:
    def __init__(
        self,
        settings: WallSettings | None = None,
        *,
        origin: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = s = settings or WallSettings()
        self._origin = origin
        self._monotonic = monotonic
        self.compositor = Compositor(s.width, s.height)
        self._encoder = Vp8Encoder(
            width=s.width, height=s.height, fps=s.fps, bitrate=s.start_bitrate,
            cpu_used=s.cpu_used, threads=s.threads,
        )
        self.keyframes = KeyframeLimiter(s.keyframe_interval)
        self.bandwidth = BandwidthEstimates(
            min_bps=s.min_bitrate, max_bps=s.max_bitrate, default_bps=s.start_bitrate
        )
        self._fanout = Fanout()
        self._listeners: list[PacketListener] = []
        self._readers: dict[str, tuple[MediaStreamTrack, asyncio.Task[None]]] = {}
        self._layout_key: object = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_pts = -1
        self._next_bitrate_check = 0.0
        self.frames_encoded = 0
        self.keyframes_sent = 0
        self.bytes_encoded = 0
        self.compose_seconds = 0.0
        self.encode_seconds = 0.0
        self._bytes_sent_gone = 0

    # -- what is shown ------------------------------------------------------------

    def set_layout(self, layout: Layout) -> None:
        rects = layout.rects()
        camera = {t.info.participant_id: t.info.camera_on for t in layout.tiles}
        key = (tuple(rects.items()), tuple(camera.items()))
        if key != self._layout_key:
            self._layout_key = key
            self.compositor.set_layout(rects, camera)

    def attach(self, key: str, track: MediaStreamTrack) -> None:
        """Show the latest decoded frame of ``track`` in ``key``'s tile."""
        self.detach(key)
        task = asyncio.create_task(self._read(key, track), name=f"wall-read-{key}")
        self._readers[key] = (track, task)

    def detach(self, key: str, track: MediaStreamTrack | None = None) -> None:
        current = self._readers.get(key)
        if current is None or (track is not None and current[0] is not track):
            return
        del self._readers[key]
        current[1].cancel()
        self.compositor.remove(key)

    async def _read(self, key: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.compositor.update(key, frame)

    # -- who watches ------------------------------------------------------------

    def subscribe(self) -> VideoPacketTrack:
        track = VideoPacketTrack(request_keyframe=self.request_keyframe)
        self._fanout.add(track)
        return track

    def unsubscribe(self, track: VideoPacketTrack) -> None:
        self._bytes_sent_gone += track.bytes_sent
        self._fanout.discard(track)
        self.bandwidth.forget(track)
        track.stop()

    def request_keyframe(self) -> None:
        self.keyframes.request()

    def report_bandwidth(self, subscriber: object, bps: int) -> None:
        self.bandwidth.report(subscriber, bps, self._monotonic())

    def retune(self, now: float) -> None:
        """Follow the subscribers' bandwidth (between frames, never during one)."""
        self._encoder.bitrate = self.bandwidth.target(now)

    def add_listener(self, listener: PacketListener) -> None:
        """Receive every packet; a listener (the recorder) must start at a keyframe, now."""
        self._listeners.append(listener)
        self.keyframes.request(urgent=True)

    def remove_listener(self, listener: PacketListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # -- making frames ------------------------------------------------------------

    def produce(self, now: float, keyframe: bool = False) -> list[av.Packet[Any]]:
        """Compose and encode one frame for time ``now`` (runs in the worker thread)."""
        started = time.perf_counter()
        frame = self.compositor.compose()
        composed = time.perf_counter()
        pts = max(self._last_pts + 1, round((now - self._origin) * VIDEO_TIME_BASE.denominator))
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        packets = self._encoder.encode(frame, keyframe=keyframe)
        self.compose_seconds += composed - started
        self.encode_seconds += time.perf_counter() - composed
        self.frames_encoded += 1
        return packets

    def _deliver(self, packets: list[av.Packet[Any]], now: float) -> None:
        for packet in packets:
            if packet.is_keyframe:
                self.keyframes_sent += 1
                self.keyframes.keyframe_sent(now)
            self.bytes_encoded += packet.size
            self._fanout.publish(packet)
            for listener in list(self._listeners):
                listener(packet)

    def start(self) -> None:
        if self._task is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wall")
            self._task = asyncio.create_task(self._run(self._executor), name="wall")

    async def _run(self, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.settings.fps
        next_frame = self._monotonic()
        while True:
            now = self._monotonic()
            if next_frame > now:
                await asyncio.sleep(next_frame - now)
                now = self._monotonic()
            next_frame = max(next_frame + interval, now - interval)
            if not len(self._fanout) and not self._listeners:
                continue
            if now >= self._next_bitrate_check:
                self._next_bitrate_check = now + self.settings.bitrate_interval
                self.retune(now)
            keyframe = self.keyframes.take(now)
            packets = await loop.run_in_executor(executor, self.produce, now, keyframe)
            self._deliver(packets, now)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._executor is not None:
            # Wait for a frame still being made before the encoder goes away.
            await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
            self._executor = None
        for key in list(self._readers):
            self.detach(key)
        self._fanout.close()
        self._listeners.clear()
        self._encoder.close()

    def stats(self) -> dict[str, float]:
        frames = self.frames_encoded
        return {
            "video_subscribers": len(self._fanout),
            "frames_composited": self.compositor.frames_composited,
            "tiles_scaled": self.compositor.tiles_scaled,
            "frames_encoded": frames,
            "keyframes_sent": self.keyframes_sent,
            "video_bitrate": self._encoder.bitrate,
            "video_bytes_encoded": self.bytes_encoded,
            "video_bytes_sent": self._bytes_sent_gone + self._fanout.bytes_sent,
            "compose_ms_avg": 1000 * self.compose_seconds / frames if frames else 0.0,
            "encode_ms_avg": 1000 * self.encode_seconds / frames if frames else 0.0,
        }
