"""Helpers for the recording tests: a real WebM written by the engine's recorder, its
index with the events a test wants, and the recording's row."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from rooms.media.encoders import OpusEncoder, Vp8Encoder
from rooms.media.recorder import Recorder

SECONDS = 6


def make_webm(directory: Path, seconds: int = SECONDS) -> Path:
    """A finished WebM of ``seconds`` (160x90 VP8 at 10 fps, a keyframe a second, Opus)."""
    now = [10.0]
    recorder = Recorder(directory, "sample", width=160, height=90, fps=10,
                        clock=lambda: datetime(2026, 1, 1).astimezone(),
                        monotonic=lambda: now[0], origin=10.0)
    video = Vp8Encoder(width=160, height=90, fps=10, bitrate=200_000)
    audio = OpusEncoder()
    silence = np.zeros(960, np.int16)
    for tick in range(seconds * 50 + 1):
        t = tick * 0.02
        now[0] = 10.0 + t
        if tick % 5 == 0:
            frame = av.VideoFrame.from_ndarray(
                np.full((135, 160), (tick * 3) % 255, np.uint8), format="yuv420p")
            frame.pts, frame.time_base = round(t * 90000), Fraction(1, 90000)
            for packet in video.encode(frame, keyframe=tick % 50 == 0):
                recorder.add_video(packet)
        for packet in audio.encode(silence, tick * 960):
            recorder.add_audio(packet)
    info = recorder.close()
    info.index_path.unlink()
    return info.path


def place(sample: Path, directory: Path, room: str, started_at: datetime,
          events: list[dict[str, Any]], *, duration: float = SECONDS,
          recovered: bool = False) -> tuple[Path, Path]:
    """The sample as the recorder would have left a recording of ``room``: WebM + index."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{room}-{started_at:%Y%m%dT%H%M%S}"
    media, index = directory / f"{stem}.webm", directory / f"{stem}.json"
    shutil.copy(sample, media)
    body: dict[str, Any] = {"room_id": room, "file": media.name,
                            "started_at": started_at.isoformat(), "duration": duration,
                            "events": events}
    if recovered:
        body["recovered"] = True
    index.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return media, index


def marker(offset: float, label: str, **data: object) -> dict[str, Any]:
    return {"offset": offset, "kind": "marker", "at": "2026-11-23T01:30:00+00:00",
            "label": label, "data": data}


def floor(offset: float, participant: str) -> dict[str, Any]:
    return {"offset": offset, "kind": "floor_given", "at": "2026-11-23T01:30:00+00:00",
            "participant_id": participant, "by": "user:2"}
