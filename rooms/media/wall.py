"""The video wall: composite at a fixed rate, encode once, send to everyone.

A worker thread decodes the cameras' queued frames (:mod:`rooms.media.inbound`),
composes and encodes (all three mostly release the GIL in libavcodec,
libswscale and libvpx), so the event loop keeps serving RTP while a frame is
being made. Packets go to every subscriber's :class:`VideoPacketTrack` and
to packet listeners such as the recorder. With nobody watching, the wall
does no work at all: the cameras' frames are dropped undecoded, and it asks
for keyframes when someone watches again.

Receivers on weak links get a second, smaller encode of the same composed
picture (half the size, every other frame) instead of dragging the full one
down for everybody; :mod:`rooms.media.adaptation` decides who gets which and at
what bitrate. A receiver that asks for audio only is taken off both encodes
(``pause``) and comes back at a keyframe (``resume``). The frame timer
measures decode, compose and encode time per frame for admission
(:mod:`rooms.load`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import av
from av.video.reformatter import VideoReformatter

from rooms.layout import Layout
from rooms.load import FrameTimer
from rooms.media.adaptation import Adaptation, AdaptationSettings, Bounds, Tier
from rooms.media.compositor import Compositor
from rooms.media.encoders import VIDEO_TIME_BASE, Vp8Encoder
from rooms.media.fanout import Fanout, PacketListener, VideoPacketTrack
from rooms.media.feedback import KeyframeLimiter
from rooms.media.inbound import VideoInput


@dataclass(frozen=True, kw_only=True, slots=True)
class WallSettings:
    width: int = 1280
    height: int = 720
    fps: int = 25
    start_bitrate: int = 1_200_000
    min_bitrate: int = 300_000
    max_bitrate: int = 2_000_000
    # libvpx speed: higher is cheaper and blurrier (max 16). On a busy 15-tile wall at
    # 2 Mbit/s, 14 encodes in 6.0 ms what 12 does in 10.3 ms (and 8 in 14), at 43 dB PSNR
    # against 47.5 (docs/performance.md).
    cpu_used: int = 14
    threads: int = 1
    keyframe_interval: float = 0.5  # at most one requested keyframe per this many seconds
    bitrate_interval: float = 2.0  # how often REMB estimates may retune the encoder
    # The small encode for weak links: 640x360 at 12.5 fps from the defaults above.
    small_scale: int = 2  # its width and height are the wall's divided by this
    small_every: int = 2  # it takes every n-th wall frame
    small_start_bitrate: int = 300_000
    small_min_bitrate: int = 100_000
    small_max_bitrate: int = 500_000
    adaptation: AdaptationSettings = field(default_factory=AdaptationSettings)

    def small_size(self) -> tuple[int, int]:
        return (
            max(2, self.width // self.small_scale // 2 * 2),
            max(2, self.height // self.small_scale // 2 * 2),
        )


class _Encode:
    """One encode of the wall and the receivers it serves."""

    def __init__(self, tier: Tier, settings: WallSettings) -> None:
        s = settings
        self.tier = tier
        small = tier is Tier.SMALL
        self.width, self.height = s.small_size() if small else (s.width, s.height)
        self.every = max(1, s.small_every) if small else 1
        self.encoder = Vp8Encoder(
            width=self.width, height=self.height, fps=max(1, round(s.fps / self.every)),
            bitrate=s.small_start_bitrate if small else s.start_bitrate,
            cpu_used=s.cpu_used, threads=s.threads,
        )
        self.scaler = VideoReformatter() if small else None  # used in the worker thread only
        self.keyframes = KeyframeLimiter(s.keyframe_interval)
        self.fanout = Fanout()
        self.frames = 0

    def picture(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self.scaler is None:
            return frame
        scaled = self.scaler.reformat(frame, width=self.width, height=self.height,
                                      format="yuv420p", threads=1)
        scaled.pts, scaled.time_base = frame.pts, frame.time_base
        return scaled


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
        self._full = _Encode(Tier.FULL, s)
        self._small = _Encode(Tier.SMALL, s)
        self._encodes = {Tier.FULL: self._full, Tier.SMALL: self._small}
        self.keyframes = self._full.keyframes
        self.adaptation = Adaptation(
            s.adaptation,
            full=Bounds(min_bps=s.min_bitrate, max_bps=s.max_bitrate, start_bps=s.start_bitrate),
            small=Bounds(min_bps=s.small_min_bitrate, max_bps=s.small_max_bitrate,
                         start_bps=s.small_start_bitrate),
        )
        self.timer = FrameTimer(s.fps)
        self._subscribers: set[VideoPacketTrack] = set()
        self._paused: set[VideoPacketTrack] = set()
        self._index = 0
        self._listeners: list[PacketListener] = []
        self._inputs: dict[str, VideoInput] = {}
        self._dormant = False
        self._decoded_gone = 0
        self._layout_key: object = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_pts = -1
        self._next_bitrate_check = 0.0
        self.frames_encoded = 0
        self.keyframes_sent = 0
        self.bytes_encoded = 0
        self.decode_seconds = 0.0
        self.compose_seconds = 0.0
        self.encode_seconds = 0.0
        self._bytes_sent_gone = 0

    # -- what is shown ------------------------------------------------------------

    def set_layout(self, layout: Layout, presentation: str | None = None) -> None:
        """Tiles where ``layout`` puts them; the picture named ``presentation`` (a document's
        page or a shared screen) in the layout's presentation area."""
        rects = layout.rects()
        camera = {t.info.participant_id: t.info.camera_on for t in layout.tiles}
        if presentation is not None and layout.presentation is not None:
            rects[presentation] = layout.presentation
        key = (tuple(rects.items()), tuple(camera.items()))
        if key != self._layout_key:
            self._layout_key = key
            self.compositor.set_layout(rects, camera)

    def show(self, key: str, frame: av.VideoFrame) -> None:
        """A still picture (a document's page) for ``key``: scaled once, then left alone."""
        self.compositor.update(key, frame)

    def hide(self, key: str) -> None:
        self.compositor.remove(key)

    def attach(self, key: str, request_keyframe: Callable[[], None]) -> VideoInput:
        """Show ``key``'s camera in its tile: feed the returned input its encoded frames
        (``request_keyframe`` asks the publisher for one, from any thread)."""
        self.detach(key)
        source = VideoInput(request_keyframe, keyframe_interval=self.settings.keyframe_interval,
                            monotonic=self._monotonic)
        source.set_dormant(self._dormant)
        self._inputs[key] = source
        return source

    def detach(self, key: str, source: VideoInput | None = None) -> None:
        current = self._inputs.get(key)
        if current is None or (source is not None and current is not source):
            return
        del self._inputs[key]
        self._decoded_gone += current.frames_decoded
        current.close()
        self.compositor.remove(key)

    def _decode_inputs(self) -> None:
        """Decode every camera's queued frames and show the newest (wall thread)."""
        for key, source in list(self._inputs.items()):
            frame = source.decode()
            if frame is not None and self._inputs.get(key) is source:
                self.compositor.update(key, frame)

    def _set_dormant(self, dormant: bool) -> None:
        """Nobody watches: drop the cameras' frames instead of decoding them."""
        if dormant != self._dormant:
            self._dormant = dormant
            for source in list(self._inputs.values()):
                source.set_dormant(dormant)

    # -- who watches ------------------------------------------------------------

    def subscribe(self) -> VideoPacketTrack:
        """A receiver of the wall; it starts on the full encode."""
        track = VideoPacketTrack(request_keyframe=lambda: self.request_keyframe(track))
        self._subscribers.add(track)
        self._full.fanout.add(track)
        self.adaptation.add(track)
        return track

    def unsubscribe(self, track: VideoPacketTrack) -> None:
        self._bytes_sent_gone += track.bytes_sent
        self._subscribers.discard(track)
        self._paused.discard(track)
        for encode in self._encodes.values():
            encode.fanout.discard(track)
        self.adaptation.forget(track)
        track.stop()

    def _encode_of(self, track: VideoPacketTrack) -> _Encode:
        return self._encodes[self.adaptation.tier(track)]

    def request_keyframe(self, track: VideoPacketTrack | None = None) -> None:
        """A keyframe on ``track``'s encode (the full one when not said)."""
        (self._full if track is None else self._encode_of(track)).keyframes.request()

    def pause(self, track: VideoPacketTrack) -> None:
        """Audio only: send ``track`` nothing until :meth:`resume`."""
        if track not in self._subscribers or track in self._paused:
            return
        self._paused.add(track)
        self._encode_of(track).fanout.discard(track)
        self.adaptation.set_active(track, False)
        track.resync()

    def resume(self, track: VideoPacketTrack) -> None:
        """Video again, from the next keyframe of the receiver's encode."""
        if track not in self._paused:
            return
        self._paused.discard(track)
        self.adaptation.set_active(track, True)
        self._join(track, self._encode_of(track))

    def _join(self, track: VideoPacketTrack, encode: _Encode) -> None:
        for other in self._encodes.values():
            other.fanout.discard(track)
        track.resync()
        encode.fanout.add(track)
        encode.keyframes.request()

    def report_bandwidth(self, subscriber: object, bps: int) -> None:
        self.adaptation.report_remb(subscriber, bps, self._monotonic())

    def report_loss(self, subscriber: object, fraction: float) -> None:
        self.adaptation.report_loss(subscriber, fraction, self._monotonic())

    def retune(self, now: float) -> None:
        """Follow the receivers' feedback (between frames, never during one)."""
        sent: dict[object, int] = {track: track.bytes_sent for track in self._subscribers}
        for track, tier in self.adaptation.update(now, sent):
            if isinstance(track, VideoPacketTrack) and track not in self._paused:
                self._join(track, self._encodes[tier])
        for encode in self._encodes.values():
            encode.encoder.bitrate = self.adaptation.bitrate(encode.tier, now)
        if not len(self._small.fanout):
            self._small.encoder.close()  # reopened, with a keyframe, when next needed

    def add_listener(self, listener: PacketListener) -> None:
        """Receive every packet; a listener (the recorder) must start at a keyframe, now."""
        self._listeners.append(listener)
        self._full.keyframes.request(urgent=True)

    def remove_listener(self, listener: PacketListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # -- making frames ------------------------------------------------------------

    def produce(self, now: float, keyframe: bool = False) -> list[av.Packet[Any]]:
        """Compose and encode one full-size frame for time ``now``."""
        made, _ = self._make(now, [(self._full, keyframe)])
        return made[0][1]

    def _make(
        self, now: float, jobs: list[tuple[_Encode, bool]]
    ) -> tuple[list[tuple[_Encode, list[av.Packet[Any]]]], float]:
        """Compose once, encode for each job (runs in the worker thread); and the CPU time it
        took. CPU time of this thread, not elapsed time: waits for the GIL or for a busy
        machine are not work this room's wall does, and must not count against its budget."""
        cpu_started = time.thread_time()
        decoding = time.perf_counter()
        self._decode_inputs()
        started = time.perf_counter()
        frame = self.compositor.compose()
        composed = time.perf_counter()
        pts = max(self._last_pts + 1, round((now - self._origin) * VIDEO_TIME_BASE.denominator))
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        made = []
        for encode, keyframe in jobs:
            made.append((encode, encode.encoder.encode(encode.picture(frame), keyframe=keyframe)))
            encode.frames += 1
        finished = time.perf_counter()
        self.decode_seconds += started - decoding
        self.compose_seconds += composed - started
        self.encode_seconds += finished - composed
        self.frames_encoded += 1
        return made, time.thread_time() - cpu_started

    def _deliver(self, encode: _Encode, packets: list[av.Packet[Any]], now: float) -> None:
        listeners = list(self._listeners) if encode is self._full else []
        for packet in packets:
            if packet.is_keyframe:
                self.keyframes_sent += 1
                encode.keyframes.keyframe_sent(now)
            self.bytes_encoded += packet.size
            encode.fanout.publish(packet)
            for listener in listeners:
                listener(packet)

    def _watched(self, encode: _Encode) -> bool:
        return len(encode.fanout) > 0 or (encode is self._full and bool(self._listeners))

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
            index, self._index = self._index, self._index + 1
            watched = any(self._watched(encode) for encode in self._encodes.values())
            self._set_dormant(not watched)
            if not watched:
                continue
            if now >= self._next_bitrate_check:
                self._next_bitrate_check = now + self.settings.bitrate_interval
                self.retune(now)
            jobs = [(encode, encode.keyframes.take(now)) for encode in self._encodes.values()
                    if self._watched(encode) and index % encode.every == 0]
            if not jobs:
                continue
            made, seconds = await loop.run_in_executor(executor, self._make, now, jobs)
            self.timer.observe(seconds, now)
            for encode, packets in made:
                self._deliver(encode, packets, now)

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
        for key in list(self._inputs):
            self.detach(key)
        for encode in self._encodes.values():
            encode.fanout.close()
            encode.encoder.close()
        self._subscribers.clear()
        self._paused.clear()
        self._listeners.clear()

    def stats(self) -> dict[str, float]:
        frames = self.frames_encoded
        return {
            "video_subscribers": len(self._subscribers) - len(self._paused),
            "small_subscribers": len(self._small.fanout),
            "audio_only": len(self._paused),
            "frames_composited": self.compositor.frames_composited,
            "tiles_scaled": self.compositor.tiles_scaled,
            "frames_encoded": frames,
            "small_frames_encoded": self._small.frames,
            "keyframes_sent": self.keyframes_sent,
            "video_bitrate": self._full.encoder.bitrate,
            "small_video_bitrate": self._small.encoder.bitrate,
            "tier_moves": self.adaptation.moves,
            "video_bytes_encoded": self.bytes_encoded,
            "video_bytes_sent": self._bytes_sent_gone
            + sum(track.bytes_sent for track in self._subscribers),
            "frames_decoded": self._decoded_gone
            + sum(source.frames_decoded for source in list(self._inputs.values())),
            "decode_ms_avg": 1000 * self.decode_seconds / frames if frames else 0.0,
            "compose_ms_avg": 1000 * self.compose_seconds / frames if frames else 0.0,
            "encode_ms_avg": 1000 * self.encode_seconds / frames if frames else 0.0,
            "frame_ms": 1000 * self.timer.seconds,
            "frame_load": self.timer.load(self._monotonic()),
            "fps": self.timer.fps(self._monotonic()),
        }
