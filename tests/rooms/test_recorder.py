"""The recorder remuxes encoded packets into WebM; hooks run in order."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rooms import events as ev
from rooms.hooks import HookDispatcher
from rooms.identity import ParticipantIdentity, Role
from rooms.media.encoders import OpusEncoder, Vp8Encoder
from rooms.media.recorder import Recorder, recover_indexes

from .fakes import NOW, RecordingHooks, StepClock


def test_remux_starts_at_a_keyframe_and_aligns_audio(tmp_path: Path) -> None:
    now = [10.0]
    recorder = Recorder(
        tmp_path, "room/1", width=160, height=90, fps=10, clock=StepClock(),
        monotonic=lambda: now[0], origin=10.0,
    )
    assert recorder.path.name.startswith("room_1-") and recorder.path.suffix == ".webm"
    video = Vp8Encoder(width=160, height=90, fps=10, bitrate=200_000)
    audio = OpusEncoder()
    silence = np.zeros(960, np.int16)
    for tick in range(150):  # 3 s of audio, 3 s of video from t = 0
        t = tick * 0.02
        now[0] = 10.0 + t
        if tick % 5 == 0:
            frame = av.VideoFrame.from_ndarray(np.full((135, 160), tick % 255, np.uint8), format="yuv420p")
            frame.pts, frame.time_base = round(t * 90000), Fraction(1, 90000)
            key = tick == 50  # the recording can only start here, at 1.0 s
            for packet in video.encode(frame, keyframe=key):
                if tick >= 25:  # joins mid-stream: delta frames first
                    recorder.add_video(packet)
        for packet in audio.encode(silence, tick * 960):
            recorder.add_audio(packet)
        if tick == 100:
            recorder.add_marker("question answered", {"question": 3})
    recorder.add_event(ev.HandRaised(at=NOW, participant_id="site-1"))
    info = recorder.close()
    assert info.path == recorder.path and abs(info.duration - 1.9) < 0.01

    with av.open(str(info.path)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        first = next(container.demux(video=0))
        assert first.is_keyframe and first.pts == 0
    with av.open(str(info.path)) as container:
        audio_pts = [float(p.pts * p.time_base) for p in container.demux(audio=0) if p.pts is not None]
    assert audio_pts[0] == 0.0 and abs(audio_pts[-1] - 1.98) < 0.03

    index = json.loads(info.index_path.read_text(encoding="utf-8"))
    assert index["room_id"] == "room/1" and index["duration"] == 1.9
    marker, hand = index["events"]
    assert (marker["kind"], marker["label"], marker["data"]) == ("marker", "question answered", {"question": 3})
    assert marker["offset"] == 1.0  # 2.0 s on the room's clock, 1.0 s into the file
    assert hand["kind"] == "hand_raised" and hand["participant_id"] == "site-1"
    assert recorder.close() == info  # closing twice is harmless


async def test_hooks_run_in_order_and_survive_failures(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(RecordingHooks):
        async def on_event(self, room_id: str, event: ev.RoomEvent) -> None:
            if isinstance(event, ev.Marker):
                raise RuntimeError("database is down")
            await super().on_event(room_id, event)

    hooks = Flaky()
    dispatcher = HookDispatcher(hooks)
    who = ParticipantIdentity(key="s1", display_name="Site 1", role=Role.SITE)
    at = datetime(2026, 1, 1)
    dispatcher.joined("r", who, at)
    dispatcher.event("r", ev.Marker(at=at, label="x", data={}))
    dispatcher.event("r", ev.HandRaised(at=at, participant_id="s1"))
    dispatcher.left("r", who, at)
    with caplog.at_level(logging.ERROR, logger="rooms.hooks"):
        await dispatcher.close()
    assert hooks.calls == [("join", "r", "s1"), ("event", "r", "hand_raised"), ("leave", "r", "s1")]
    assert "room hook failed" in caplog.text


CRASHING_RECORDER = """
import os, sys, time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
import av, numpy as np
from rooms import events as ev
from rooms.media.encoders import OpusEncoder, Vp8Encoder
from rooms.media.recorder import Recorder, recover_indexes

now = [100.0]
recorder = Recorder(Path(sys.argv[1]), "street", width=160, height=90, fps=10,
                    clock=lambda: datetime(2026, 11, 23, 9, tzinfo=UTC),
                    monotonic=lambda: now[0], origin=100.0)
video = Vp8Encoder(width=160, height=90, fps=10, bitrate=200_000)
audio = OpusEncoder()
for tick in range(60):  # 6 s at 10 fps, a keyframe every 2 s, and the mix (silence)
    now[0] = 100.0 + tick / 10
    frame = av.VideoFrame.from_ndarray(np.full((135, 160), tick * 4 % 255, np.uint8),
                                       format="yuv420p")
    frame.pts, frame.time_base = round(tick / 10 * 90000), Fraction(1, 90000)
    for packet in video.encode(frame, keyframe=tick % 20 == 0):
        recorder.add_video(packet)
    for n in range(5):
        for packet in audio.encode(np.zeros(960, np.int16), (tick * 5 + n) * 960):
            recorder.add_audio(packet)
    if tick == 15:
        recorder.add_marker("question answered", {"question": 7})
    if tick == 30:
        recorder.add_event(ev.HandRaised(at=datetime(2026, 11, 23, 9, tzinfo=UTC),
                                         participant_id="site-3"))
os._exit(9)  # the server dies: nothing is closed, flushed or finalised
"""


def test_a_recording_cut_short_by_a_crash_keeps_its_media_and_its_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CRASHING_RECORDER, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    (media,) = tmp_path.glob("*.webm")
    (journal,) = tmp_path.glob("*.events.jsonl")
    assert not list(tmp_path.glob("*.json"))  # no index: the close never happened
    with journal.open("a", encoding="utf-8") as torn:
        torn.write('{"offset": 5.9, "kind": "hand_lo')  # a line cut mid-write

    cues = bytes.fromhex("1C53BB6B")  # Matroska's Cues element: the seek table
    assert cues not in media.read_bytes()  # written only when a file is closed
    with av.open(str(media)) as container:
        assert container.duration is None
    with caplog.at_level(logging.WARNING, logger="rooms.media.recorder"):
        (index_path,) = recover_indexes(tmp_path)
    # Remuxed on recovery: a browser can seek in it without reading it all.
    assert media.read_bytes().rfind(cues) > len(media.read_bytes()) // 2
    with av.open(str(media)) as container:
        assert container.duration is not None and container.duration > 3_000_000
    assert not list(tmp_path.glob("*.part"))
    assert not journal.exists() and "recovered the index" in caplog.text
    index = json.loads(index_path.read_text(encoding="utf-8"))
    assert index["recovered"] is True and index["room_id"] == "street"
    assert index["file"] == media.name and index["started_at"] == "2026-11-23T09:00:00+00:00"
    marker, hand = index["events"]
    assert (marker["label"], marker["data"], marker["offset"]) == (
        "question answered", {"question": 7}, 1.5)
    assert (hand["kind"], hand["participant_id"], hand["offset"]) == ("hand_raised", "site-3", 3.0)
    # Clusters of a second reach the disk as they close: at most the last one is lost.
    assert index["duration"] is not None and 4.0 <= index["duration"] <= 5.9
    with av.open(str(media)) as container:
        assert sum(1 for _ in container.decode(video=0)) >= 40
    assert recover_indexes(tmp_path) == []  # once only


def test_a_closed_recording_leaves_no_journal(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, "r", width=160, height=90, fps=10, clock=StepClock(),
                        monotonic=lambda: 1.0, origin=1.0)
    assert recorder.journal_path.exists()
    recorder.add_marker("hello")
    assert recover_indexes(tmp_path) == []  # live (another server starting): left alone
    assert recorder.journal_path.exists()
    info = recorder.close()
    assert not recorder.journal_path.exists() and info.index_path.exists()
    assert recover_indexes(tmp_path) == [] and recover_indexes(tmp_path / "none") == []


async def test_a_stopped_recording_is_told_to_the_hooks(tmp_path: Path) -> None:
    """The server lists a recording from this event: file, index, start and length."""
    from rooms.conference import Conference
    from rooms.config import RoomConfig

    hooks = RecordingHooks()
    dispatcher = HookDispatcher(hooks)
    seen: list[ev.RoomEvent] = []
    record_event = hooks.on_event

    async def keep(room_id: str, event: ev.RoomEvent) -> None:
        seen.append(event)
        await record_event(room_id, event)

    hooks.on_event = keep  # type: ignore[method-assign]
    conf = Conference("r1", config=RoomConfig(recordings_dir=tmp_path), hooks=dispatcher,
                      clock=StepClock(), on_empty=lambda c: None)
    try:
        conf.start_recording()
        info = conf.stop_recording()
        await dispatcher.close()
    finally:
        await conf.close()
    (saved,) = [e for e in seen if isinstance(e, ev.RecordingSaved)]
    assert (saved.file, saved.index_file, saved.started_at, saved.duration) == (
        info.path.name, info.index_path.name, info.started_at, 0.0)
    assert saved.to_dict()["started_at"] == info.started_at.isoformat()
    # Not an entry of the recording's own index.
    index = json.loads(info.index_path.read_text(encoding="utf-8"))
    assert "recording_saved" not in [e["kind"] for e in index["events"]]
