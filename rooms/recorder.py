"""Recording: the wall and the full mix into WebM, without re-encoding.

The wall's VP8 packets and the shared Opus mix are already encoded, so the
recorder only remuxes them: it starts at a keyframe, rebases both streams'
timestamps to that moment, and writes Matroska's WebM profile with PyAV.
Beside the file goes a JSON index of what happened, each entry with its
offset in seconds from the start of the file, so a player can jump to
"floor given to site X" or a server marker such as "question 12 answered".
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from rooms.encoders import AUDIO_RATE, AUDIO_TIME_BASE, VIDEO_TIME_BASE
from rooms.events import Marker, RoomEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingInfo:
    path: Path
    index_path: Path
    started_at: datetime
    duration: float  # seconds of video written
    events: int


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80] or "room"


class Recorder:
    def __init__(
        self,
        directory: Path,
        room_id: str,
        *,
        width: int,
        height: int,
        fps: int,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        origin: float,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.room_id = room_id
        self._clock = clock
        self._monotonic = monotonic
        self._origin = origin
        self.started_at = clock()
        stamp = self.started_at.strftime("%Y%m%dT%H%M%S")
        self.path = directory / f"{_safe(room_id)}-{stamp}.webm"
        self.index_path = self.path.with_suffix(".json")
        self._container = av.open(str(self.path), "w", format="webm")
        # The streams' encoders are opened by the muxer only to provide codec
        # parameters (Opus's header in particular); they never encode.
        video = self._container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = self._container.add_stream("libopus", rate=AUDIO_RATE)
        audio.layout = "mono"
        self._video = video
        self._audio = audio
        self._start_pts: int | None = None  # wall pts of the first keyframe
        self._last_video_pts = -1
        self._last_audio_pts = -1
        self._events: list[tuple[float, dict[str, Any]]] = []
        self._failed = False
        self.closed = False

    @property
    def _media_start(self) -> float | None:
        """The monotonic time at which the file starts, once the first keyframe came."""
        if self._start_pts is None:
            return None
        return self._origin + self._start_pts / VIDEO_TIME_BASE.denominator

    def _mux(self, packet: av.Packet[Any], stream: Any, pts: int, time_base: Fraction) -> None:
        if self._failed or self.closed:
            return
        copy = av.Packet(bytes(packet))
        copy.pts = copy.dts = pts
        copy.time_base = time_base
        copy.is_keyframe = packet.is_keyframe
        copy.stream = stream
        try:
            self._container.mux(copy)
        except (av.FFmpegError, OSError):
            logger.exception("recording %s failed; no more media will be written", self.path)
            self._failed = True

    def add_video(self, packet: av.Packet[Any]) -> None:
        if packet.pts is None:
            return
        if self._start_pts is None:
            if not packet.is_keyframe:
                return
            self._start_pts = packet.pts
        pts = packet.pts - self._start_pts
        if pts <= self._last_video_pts:
            return
        self._last_video_pts = pts
        self._mux(packet, self._video, pts, VIDEO_TIME_BASE)

    def add_audio(self, packet: av.Packet[Any]) -> None:
        if packet.pts is None or self._start_pts is None:
            return
        start = self._start_pts * AUDIO_RATE // VIDEO_TIME_BASE.denominator
        pts = packet.pts - start
        if pts < 0 or pts <= self._last_audio_pts:
            return
        self._last_audio_pts = pts
        self._mux(packet, self._audio, pts, AUDIO_TIME_BASE)

    def add_event(self, event: RoomEvent) -> None:
        self._events.append((self._monotonic(), event.to_dict()))

    def add_marker(self, label: str, data: dict[str, Any] | None = None) -> Marker:
        marker = Marker(at=self._clock(), label=label, data=dict(data or {}))
        self.add_event(marker)
        return marker

    @property
    def duration(self) -> float:
        return max(0, self._last_video_pts) / VIDEO_TIME_BASE.denominator

    def close(self) -> RecordingInfo:
        """Finish the file and write the index beside it."""
        if not self.closed:
            self.closed = True
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                logger.exception("could not finish recording %s", self.path)
            media_start = self._media_start
            entries = [
                {"offset": round(max(0.0, at - media_start) if media_start else 0.0, 3), **data}
                for at, data in self._events
            ]
            index = {
                "room_id": self.room_id,
                "file": self.path.name,
                "started_at": self.started_at.isoformat(),
                "duration": round(self.duration, 3),
                "events": entries,
            }
            partial = self.index_path.with_suffix(".json.part")
            partial.write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
            partial.replace(self.index_path)
        return RecordingInfo(
            path=self.path,
            index_path=self.index_path,
            started_at=self.started_at,
            duration=self.duration,
            events=len(self._events),
        )
