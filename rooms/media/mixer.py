"""The room's audio: one mix every 20 ms, with mix-minus, encoded as few times as possible.

Each publisher's audio is decoded as it arrives (:class:`rooms.media.inbound.AudioInput`,
straight to mono) and goes through a short jitter buffer. Every
tick the mixer takes 20 ms from each, measures its level, and sums the
publishers that are *audible*: not muted (enforced here, whatever the
client does) and above a noise gate. Everyone who is not audible hears the
same full mix, encoded once; each audible publisher hears the mix minus
their own voice, encoded for them alone. Muted publishers are never mixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from rooms.media.encoders import AUDIO_FRAME_SAMPLES, AUDIO_RATE, OpusEncoder, Samples
from rooms.media.fanout import AudioPacketTrack, PacketListener
from rooms.media.inbound import AudioInput
from rooms.media.speaking import SILENCE_DBFS, LevelDetector, rms_dbfs

PTIME = AUDIO_FRAME_SAMPLES / AUDIO_RATE


@dataclass(frozen=True, kw_only=True, slots=True)
class MixerSettings:
    bitrate: int = 40000
    prebuffer_frames: int = 2  # 40 ms of jitter absorbed before a source plays
    max_buffer_frames: int = 8  # beyond 160 ms, drop the oldest audio
    gate_on_dbfs: float = -55.0  # below this a publisher adds nothing to the mix
    gate_off_dbfs: float = -62.0
    gate_hold: float = 1.0
    speaking_on_dbfs: float = -38.0
    speaking_off_dbfs: float = -48.0
    speaking_hold: float = 0.6


class _Source:
    """One publisher's audio: mono 48 kHz samples waiting to be mixed."""

    def __init__(self, settings: MixerSettings) -> None:
        self._settings = settings
        self._chunks: deque[Samples] = deque()
        self._buffered = 0
        self._playing = False
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        self.gate = LevelDetector(
            on_dbfs=settings.gate_on_dbfs, off_dbfs=settings.gate_off_dbfs, hold=settings.gate_hold
        )
        self.speech = LevelDetector(
            on_dbfs=settings.speaking_on_dbfs,
            off_dbfs=settings.speaking_off_dbfs,
            hold=settings.speaking_hold,
        )
        self.input = AudioInput(self.push)

    def push(self, frame: av.AudioFrame) -> None:
        frame.pts = None  # the resampler must not try to fill gaps in aiortc's timeline
        for mono in self._resampler.resample(frame):
            samples: Samples = mono.to_ndarray().reshape(-1).astype(np.int16, copy=False)
            self._chunks.append(samples)
            self._buffered += samples.size
        limit = self._settings.max_buffer_frames * AUDIO_FRAME_SAMPLES
        while self._buffered > limit:
            self._buffered -= self._chunks.popleft().size

    def pull(self) -> Samples | None:
        """20 ms of audio, or ``None`` while (re)filling the jitter buffer."""
        need = AUDIO_FRAME_SAMPLES
        if not self._playing:
            if self._buffered < self._settings.prebuffer_frames * need:
                return None
            self._playing = True
        if self._buffered < need:
            self._playing = False
            return None
        out = np.empty(need, dtype=np.int16)
        filled = 0
        while filled < need:
            chunk = self._chunks[0]
            take = min(need - filled, chunk.size)
            out[filled : filled + take] = chunk[:take]
            filled += take
            if take == chunk.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[take:]
        self._buffered -= need
        return out


class _Listener:
    def __init__(self, track: AudioPacketTrack) -> None:
        self.track = track
        self.encoder: OpusEncoder | None = None
        self.last_own_mix = -math.inf


class AudioMixer:
    """Mixes every 20 ms once started; ``tick`` is public for tests and benchmarks."""

    own_encoder_linger = 5.0  # seconds an idle mix-minus encoder is kept for a returning talker

    def __init__(
        self,
        settings: MixerSettings | None = None,
        *,
        origin: float,
        on_speaking: Callable[[str, bool], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or MixerSettings()
        self._origin = origin
        self._on_speaking = on_speaking
        self._monotonic = monotonic
        self._sources: dict[str, _Source] = {}
        self._listeners: dict[str, _Listener] = {}
        self._muted: set[str] = set()
        self._shared = OpusEncoder(bitrate=self.settings.bitrate)
        self._full_mix_listeners: list[PacketListener] = []
        self._task: asyncio.Task[None] | None = None
        self._tick_index = 0
        self.ticks = 0
        self.encodes = 0
        self.mix_seconds = 0.0

    # -- sources and listeners ------------------------------------------------

    def attach(self, key: str) -> AudioInput:
        """Mix ``key``'s audio: feed the returned input its encoded frames (replacing an
        earlier input)."""
        self.detach(key)
        source = _Source(self.settings)
        self._sources[key] = source
        return source.input

    def detach(self, key: str, source_input: AudioInput | None = None) -> None:
        source = self._sources.get(key)
        if source is None or (source_input is not None and source.input is not source_input):
            return
        del self._sources[key]
        if source.speech.active:
            self._on_speaking(key, False)

    def push(self, key: str, frame: av.AudioFrame) -> None:
        """Feed ``key`` directly (tests, benchmarks): creates the source on first use."""
        self._sources.setdefault(key, _Source(self.settings)).push(frame)

    def subscribe(self, key: str) -> AudioPacketTrack:
        """The track ``key`` hears: the full mix, or the mix minus themselves while audible."""
        self.unsubscribe(key)
        track = AudioPacketTrack()
        self._listeners[key] = _Listener(track)
        return track

    def unsubscribe(self, key: str, track: AudioPacketTrack | None = None) -> None:
        listener = self._listeners.get(key)
        if listener is None or (track is not None and listener.track is not track):
            return
        del self._listeners[key]
        listener.track.stop()

    def set_muted(self, key: str, muted: bool) -> None:
        if muted:
            self._muted.add(key)
        else:
            self._muted.discard(key)

    def add_listener(self, listener: PacketListener) -> None:
        """Receive every full-mix packet (the recorder)."""
        self._full_mix_listeners.append(listener)

    def remove_listener(self, listener: PacketListener) -> None:
        with contextlib.suppress(ValueError):
            self._full_mix_listeners.remove(listener)

    # -- mixing -----------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Mix and send one 20 ms frame."""
        started = time.perf_counter()
        now = self._monotonic() if now is None else now
        pts = self._tick_index * AUDIO_FRAME_SAMPLES
        self._tick_index += 1
        audible: dict[str, Samples] = {}
        for key, source in list(self._sources.items()):
            samples = source.pull()
            muted = key in self._muted
            level = SILENCE_DBFS if samples is None or muted else rms_dbfs(samples)
            source.gate.update(level, now)
            if source.speech.update(level, now):
                self._on_speaking(key, source.speech.active)
            if samples is not None and not muted and source.gate.active:
                audible[key] = samples
        total = np.zeros(AUDIO_FRAME_SAMPLES, dtype=np.int32)
        for samples in audible.values():
            total += samples
        shared: list[av.Packet[Any]] | None = None
        for key, listener in list(self._listeners.items()):
            own = audible.get(key)
            if own is not None:
                if listener.encoder is None:
                    listener.encoder = OpusEncoder(bitrate=self.settings.bitrate)
                listener.last_own_mix = now
                mix = np.clip(total - own, -32768, 32767).astype(np.int16)
                packets = listener.encoder.encode(mix, pts)
                self.encodes += 1
            else:
                if listener.encoder is not None and now - listener.last_own_mix > (
                    self.own_encoder_linger
                ):
                    listener.encoder = None
                if shared is None:
                    shared = self._encode_shared(total, pts)
                packets = shared
            for packet in packets:
                listener.track.push(packet)
        if self._full_mix_listeners:
            for packet in shared if shared is not None else self._encode_shared(total, pts):
                for full_mix_listener in list(self._full_mix_listeners):
                    full_mix_listener(packet)
        self.ticks += 1
        self.mix_seconds += time.perf_counter() - started

    def _encode_shared(self, total: np.ndarray[Any, np.dtype[np.int32]], pts: int) -> list[
        av.Packet[Any]
    ]:
        self.encodes += 1
        return self._shared.encode(np.clip(total, -32768, 32767).astype(np.int16), pts)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mixer")

    async def _run(self) -> None:
        now = self._monotonic()
        self._tick_index = max(self._tick_index, round((now - self._origin) / PTIME))
        next_tick = now
        while True:
            self.tick(now)
            next_tick += PTIME
            now = self._monotonic()
            if now - next_tick > 10 * PTIME:  # the loop stalled: skip, do not burst
                skipped = int((now - next_tick) / PTIME)
                self._tick_index += skipped
                next_tick += skipped * PTIME
            await asyncio.sleep(max(0.0, next_tick - now))
            now = self._monotonic()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for key in list(self._sources):
            self.detach(key)
        for key in list(self._listeners):
            self.unsubscribe(key)
        self._full_mix_listeners.clear()

    def stats(self) -> dict[str, float]:
        return {
            "audio_sources": len(self._sources),
            "audio_listeners": len(self._listeners),
            "audio_ticks": self.ticks,
            "audio_encodes": self.encodes,
            "audio_mix_ms_avg": 1000 * self.mix_seconds / self.ticks if self.ticks else 0.0,
        }
