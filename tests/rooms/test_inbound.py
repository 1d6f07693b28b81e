"""Publishers' media taken before aiortc decodes it, and decoded where the room uses it."""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from rooms.media.encoders import OpusEncoder
from rooms.media.inbound import AudioInput, EncodedTap, VideoInput, is_vp8_keyframe

from .client import SineTrack, SolidColourTrack
from .conftest import RoomServer, loopback_ice, poll

__all__ = ["loopback_ice"]


def vp8_stream(count: int, *, keyframe_every: int = 0) -> list[bytes]:
    """``count`` encoded 160x120 frames of a moving grey ramp; the first is a keyframe."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"  # type: ignore[attr-defined]
    encoder.time_base = Fraction(1, 25)
    encoder.bit_rate = 300_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i in range(count):
        picture = np.full((180, 160), 16, dtype=np.uint8)
        picture[:120] = (np.arange(160) + 4 * i) % 200 + 16
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = i
        if keyframe_every and i and i % keyframe_every == 0:
            frame.pict_type = av.video.frame.PictureType.I
        out += [bytes(p) for p in encoder.encode(frame)]  # type: ignore[attr-defined]
    return out


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_video_input_decodes_everything_queued_and_shows_the_newest() -> None:
    stream = vp8_stream(6)
    asked: list[None] = []
    source = VideoInput(lambda: asked.append(None))
    for data in stream[:4]:
        source.feed("vp8", data)
    frame = source.decode()
    assert frame is not None and (frame.width, frame.height) == (160, 120)
    assert source.frames_decoded == 4
    assert source.decode() is None  # nothing new
    source.feed("vp8", b"")  # ignored, never a flush of the decoder
    source.feed("vp8", stream[4])
    assert source.decode() is not None and source.frames_decoded == 5
    assert asked == []


def test_dormant_input_drops_frames_and_wakes_at_a_keyframe_it_asks_for() -> None:
    stream = vp8_stream(12, keyframe_every=8)
    assert is_vp8_keyframe(stream[0]) and is_vp8_keyframe(stream[8])
    assert not is_vp8_keyframe(stream[1]) and not is_vp8_keyframe(b"")
    clock = Clock()
    asked: list[float] = []
    source = VideoInput(lambda: asked.append(clock.now), monotonic=clock)
    source.feed("vp8", stream[0])
    assert source.decode() is not None
    source.set_dormant(True)  # nobody watches the wall
    for data in stream[1:4]:
        source.feed("vp8", data)
    assert source.decode() is None and source.frames_dropped == 3
    source.set_dormant(False)
    assert asked == [0.0]  # a keyframe is asked for at once
    for data in stream[4:8]:
        source.feed("vp8", data)  # deltas whose references were never decoded
    clock.now = 0.2
    assert source.decode() is None and source.frames_decoded == 1
    assert asked == [0.0]  # asked again at most every 0.5 s
    clock.now = 0.6
    source.feed("vp8", stream[8])
    source.feed("vp8", stream[9])
    frame = source.decode()
    assert frame is not None and source.frames_decoded == 3
    assert source.frames_dropped == 7


def test_a_starved_input_drops_its_backlog_and_restarts_at_a_keyframe() -> None:
    stream = vp8_stream(10, keyframe_every=9)
    asked: list[None] = []
    source = VideoInput(lambda: asked.append(None), max_pending=4)
    for data in stream[:6]:
        source.feed("vp8", data)
    assert source.frames_dropped == 4 and len(asked) == 1
    source.feed("vp8", stream[9])
    assert source.decode() is not None and source.frames_decoded == 1


def test_an_undecodable_frame_asks_for_a_keyframe_and_changes_nothing_else() -> None:
    stream = vp8_stream(3)
    asked: list[None] = []
    source = VideoInput(lambda: asked.append(None))
    source.feed("vp8", stream[0])
    assert source.decode() is not None
    source.feed("vp8", b"\x00\x01garbage")  # a "keyframe" that is not one
    assert source.decode() is None
    assert source.decode_errors == 1 and len(asked) == 1
    source.close()
    source.feed("vp8", stream[1])  # a tap may outlive its tile: fed frames are dropped
    assert source.decode() is None


def test_audio_input_decodes_opus_to_mono_and_skips_garbage() -> None:
    encoder = OpusEncoder()
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(960 * 5) / 48000)).astype(np.int16)
    packets = [bytes(p) for i in range(5) for p in encoder.encode(tone[i * 960:(i + 1) * 960], i * 960)]
    got: list[av.AudioFrame] = []
    audio = AudioInput(got.append)
    audio.feed("opus", b"")  # empty: ignored (to FFmpeg it would mean end of stream)
    for data in packets:
        audio.feed("opus", data)
    assert got and all(f.layout.name == "mono" and f.format.name == "s16" for f in got)
    assert sum(f.samples for f in got) == 960 * len(packets)
    with pytest.raises(ValueError, match="no decoder"):
        audio.feed("g722", b"\x00")


async def test_the_tap_gets_encoded_frames_and_aiortc_decodes_nothing() -> None:
    """Real peers over loopback: frames reach the sink still encoded (VP8 starting with a
    keyframe, Opus), the receiver's track queue stays empty, and a keyframe request makes
    the receiver send a PLI that the publisher's encoder answers with a keyframe."""
    publisher, server = RTCPeerConnection(), RTCPeerConnection()
    got: dict[str, list[bytes]] = {"video": [], "audio": []}
    taps: dict[str, EncodedTap] = {}
    tracks: dict[str, MediaStreamTrack] = {}

    def on_track(track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in server.getTransceivers() if t.receiver.track is track)
        tap = taps[track.kind] = EncodedTap(receiver)
        tracks[track.kind] = track

        def sink(codec: str, data: bytes, kind: str = track.kind) -> None:
            assert threading.current_thread() is threading.main_thread()
            got[kind].append(data)
            assert codec == ("VP8" if kind == "video" else "opus")

        tap.sink = sink

    server.on("track", on_track)
    publisher.addTrack(SolidColourTrack((200, 30, 30), fps=15))
    publisher.addTrack(SineTrack(440.0))
    try:
        await publisher.setLocalDescription(await publisher.createOffer())
        await server.setRemoteDescription(publisher.localDescription)
        await server.setLocalDescription(await server.createAnswer())
        await publisher.setRemoteDescription(server.localDescription)
        await poll(lambda: len(got["video"]) >= 10 and len(got["audio"]) >= 20)
        assert is_vp8_keyframe(got["video"][0])
        assert all(track._queue.empty() for track in tracks.values())  # type: ignore[attr-defined]
        before = sum(map(is_vp8_keyframe, got["video"]))
        taps["video"].request_keyframe()
        await poll(lambda: sum(map(is_vp8_keyframe, got["video"])) > before)
    finally:
        await publisher.close()
        await server.close()


async def test_a_started_receiver_cannot_be_tapped() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video")
    receiver: Any = transceiver.receiver
    receiver._RTCRtpReceiver__decoder_thread = threading.Thread(target=lambda: None)
    with pytest.raises(RuntimeError, match="track"):
        EncodedTap(receiver)
    receiver._RTCRtpReceiver__decoder_thread = None
    await pc.close()
    await asyncio.sleep(0)


def _opus_fmtp(sdp: str) -> str:
    """The ``a=fmtp`` line of the Opus payload type in ``sdp`` ('' when it has none)."""
    lines = sdp.splitlines()
    payload = next(line.split()[0].split(":")[1] for line in lines
                   if line.lower().startswith("a=rtpmap:") and "opus/48000" in line.lower())
    return next((line for line in lines if line.startswith(f"a=fmtp:{payload} ")), "")


@pytest.mark.media
async def test_publishers_are_asked_for_dtx_and_observers_are_not(
    room_server: RoomServer,
) -> None:
    site = await room_server.client("site", role="site", tone=440.0, receive_video=False)
    observer = await room_server.client("obs", role="observer", receive_video=False)
    for client in (site, observer):
        await client.connect_media()
        await client.wait_connected()
    answers = {c.key: c.of_type("answer")[-1]["sdp"] for c in (site, observer)}
    assert "usedtx=1" in _opus_fmtp(answers["site"])
    assert "usedtx=1" not in _opus_fmtp(answers["obs"])
    await site.record_audio(0.5)  # the mix still flows both ways with DTX asked for
