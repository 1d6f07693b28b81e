"""Recording a live session: WebM with the wall and the mix, plus an event index."""

from __future__ import annotations

import asyncio
import json
import time

import av
import pytest

from .conftest import RoomServer

pytestmark = pytest.mark.media


async def test_recorded_session_has_video_audio_and_an_index(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host", colour=(200, 40, 40), tone=440.0)
    site = await room_server.client("site", role="site", colour=(40, 40, 200), tone=660.0)
    await asyncio.gather(host.connect_media(), site.connect_media())
    await host.wait_frames(2)

    mark = await host.request("start_recording")
    await host.expect("room_state", lambda n: n["recording"], after=mark)
    started = time.monotonic()
    await site.request("raise_hand")
    await host.expect("hands", lambda n: len(n["queue"]) == 1)
    await host.request("give_floor")
    await host.expect("layout", lambda n: n["mode"] == "spotlight")
    await asyncio.sleep(1.2)
    marker = room_server.registry.add_marker("r1", "question answered", {"question": 12})
    assert marker.label == "question answered"
    await asyncio.sleep(2.5 - (time.monotonic() - started))
    mark = await host.request("stop_recording")
    await host.expect("room_state", lambda n: not n["recording"], after=mark)
    elapsed = time.monotonic() - started

    (path,) = room_server.recordings.glob("r1-*.webm")
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("vp8", "opus")
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        last_video = last_audio = 0.0
        frames = 0
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            if packet.stream.type == "video":
                last_video = max(last_video, end)
            else:
                last_audio = max(last_audio, end)
    assert abs(last_video - elapsed) < 0.5, (last_video, elapsed)
    assert abs(last_audio - elapsed) < 0.5, (last_audio, elapsed)
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 15 * 2  # about 15 fps over at least two seconds

    index = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert index["room_id"] == "r1" and index["file"] == path.name
    kinds = [e["kind"] for e in index["events"]]
    assert kinds[0] == "room_setting" and index["events"][0]["setting"] == "recording"
    for kind in ("hand_raised", "floor_given", "spotlight", "marker"):
        assert kind in kinds
    marker_entry = next(e for e in index["events"] if e["kind"] == "marker")
    assert marker_entry["data"] == {"question": 12}
    assert 0.8 < marker_entry["offset"] < 2.2
    offsets = [e["offset"] for e in index["events"]]
    assert offsets == sorted(offsets)
