"""Recording: the wall and the full mix into WebM, without re-encoding.

The wall's VP8 packets and the shared Opus mix are already encoded, so the
recorder only remuxes them: it starts at a keyframe, rebases both streams'
timestamps to that moment, and writes Matroska's WebM profile with PyAV.
Beside the file goes a JSON index of what happened, each entry with its
offset in seconds from the start of the file, so a player can jump to
"floor given to site X" or a server marker such as "question 12 answered".

While recording, each event is also appended (and synced) to a journal
beside the file, ``<name>.events.jsonl``; closing writes the index and drops
the journal. After a crash the WebM is readable up to its last written
cluster, and :func:`recover_indexes` (run when the registry starts) turns a
journal left behind into the index, marked ``"recovered": true``, and remuxes
the file so that it gets the Cues and Duration a browser needs to seek.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from rooms.events import Marker, RoomEvent
from rooms.media.encoders import AUDIO_RATE, AUDIO_TIME_BASE, VIDEO_TIME_BASE

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
        self.journal_path = self.path.with_suffix(".events.jsonl")
        # Clusters of at most a second, flushed to disk as they close: a crash loses at
        # most that second of media (Matroska's defaults hold up to 5 s in memory).
        self._container = av.open(str(self.path), "w", format="webm", container_options={
            "cluster_time_limit": "1000", "flush_packets": "1"})
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
        self._journal = self.journal_path.open("a", encoding="utf-8")
        # Held while recording (the kernel lets go when the process dies): recovery in
        # another server process on the same folder leaves a live journal alone.
        fcntl.flock(self._journal.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._journal_line({"room_id": room_id, "file": self.path.name,
                            "started_at": self.started_at.isoformat()})

    def _journal_line(self, entry: dict[str, Any]) -> None:
        if self._journal.closed:
            return
        try:
            self._journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())
        except OSError:
            logger.exception("could not journal an event of recording %s", self.path)

    def _offset(self, at: float, media_start: float | None) -> float:
        return round(max(0.0, at - media_start) if media_start else 0.0, 3)

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
        at, data = self._monotonic(), event.to_dict()
        self._events.append((at, data))
        self._journal_line({"offset": self._offset(at, self._media_start), **data})

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
            entries = [{"offset": self._offset(at, media_start), **data}
                       for at, data in self._events]
            _write_index(self.index_path, {
                "room_id": self.room_id,
                "file": self.path.name,
                "started_at": self.started_at.isoformat(),
                "duration": round(self.duration, 3),
                "events": entries,
            })
            self._journal.close()
            self.journal_path.unlink(missing_ok=True)
        return RecordingInfo(
            path=self.path,
            index_path=self.index_path,
            started_at=self.started_at,
            duration=self.duration,
            events=len(self._events),
        )


def _write_index(path: Path, index: dict[str, Any]) -> None:
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(path)


def _video_seconds(path: Path) -> float | None:
    """How much video an unfinished WebM holds: the last video packet's time."""
    try:
        with av.open(str(path)) as container:
            last = 0.0
            for packet in container.demux(video=0):
                if packet.pts is not None and packet.time_base is not None:
                    last = max(last, float(packet.pts * packet.time_base))
            return round(last, 3)
    except (av.FFmpegError, OSError, IndexError):
        return None


def remux_with_cues(path: Path) -> bool:
    """Copy an unfinished WebM's packets into a finished one, in place.

    A file the server could not close has no Cues (the seek table Matroska writes at the
    end) and no Duration, so a browser cannot seek in it without reading it all. Copying
    the packets (no re-encode) through the muxer writes both; the copy replaces the
    original only once it is complete.
    """
    partial = path.with_name(path.name + ".part")
    try:
        with av.open(str(path)) as source, av.open(
                str(partial), "w", format="webm") as target:
            streams = {}
            for stream in source.streams:
                if stream.type in ("video", "audio"):
                    streams[stream.index] = target.add_stream_from_template(stream)
            for packet in source.demux(*[s for s in source.streams if s.index in streams]):
                if packet.dts is None or packet.size == 0:
                    continue  # the flush packet at the end of each stream
                packet.stream = streams[packet.stream_index]
                target.mux(packet)
        partial.replace(path)
        return True
    except (av.FFmpegError, OSError, IndexError, ValueError):
        logger.exception("could not remux the unfinished recording %s", path)
        partial.unlink(missing_ok=True)
        return False


def recover_indexes(directory: Path) -> list[Path]:
    """Write the index of every recording whose server stopped before closing it."""
    recovered: list[Path] = []
    if not directory.is_dir():
        return recovered
    for journal in sorted(directory.glob("*.events.jsonl")):
        index_path = journal.with_name(journal.name.removesuffix(".events.jsonl") + ".json")
        with journal.open(encoding="utf-8", errors="replace") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a recording in progress, in a server that is running
            text = handle.read()
        lines: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the line being written when the server stopped
        if not lines or "room_id" not in lines[0]:
            logger.warning("recording journal %s has no header; left as it is", journal)
            continue
        header, events = lines[0], lines[1:]
        media = directory / str(header.get("file", ""))
        if media.is_file():
            remux_with_cues(media)
        _write_index(index_path, {
            "room_id": header["room_id"],
            "file": media.name,
            "started_at": header.get("started_at"),
            "duration": _video_seconds(media) if media.is_file() else None,
            "events": events,
            "recovered": True,
        })
        journal.unlink()
        logger.warning("recovered the index of recording %s (the server stopped during it)",
                       media.name)
        recovered.append(index_path)
    return recovered
