"""Mixing, mix-minus, muting and speaker detection, fed directly (no network)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from rooms.media.fanout import AudioPacketTrack
from rooms.media.mixer import AudioMixer
from rooms.media.speaking import LevelDetector, rms_dbfs

from .client import tone_magnitudes

TONES = {"a": 440.0, "b": 660.0, "c": 880.0}


def tone_frame(frequency: float, index: int, amplitude: float = 0.2) -> av.AudioFrame:
    """20 ms of stereo s16, as aiortc's Opus decoder hands it over."""
    n = np.arange(index * 960, (index + 1) * 960)
    mono = (amplitude * 32767 * np.sin(2 * math.pi * frequency * n / 48000)).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48000
    frame.pts, frame.time_base = index * 960, Fraction(1, 48000)
    return frame


def decode(packets: list[av.Packet[Any]]) -> npt.NDArray[np.int16]:
    decoder = av.CodecContext.create("libopus", "r")
    chunks = []
    for packet in packets:
        for frame in decoder.decode(packet):
            channels = len(frame.layout.channels)
            data = frame.to_ndarray()[0]
            data = data[::channels] if not frame.format.is_planar else data  # first channel
            chunks.append(data * 32767 if data.dtype.kind == "f" else data)
    return np.concatenate(chunks).astype(np.int16)


async def run(
    mixer: AudioMixer,
    ticks: int,
    sources: dict[str, float],
    start: int = 0,
    tracks: dict[str, AudioPacketTrack] | None = None,
) -> dict[str, list[av.Packet[Any]]]:
    """Feed ``ticks`` frames of each tone, mixing after each; return what listeners got."""
    received: dict[str, list[av.Packet[Any]]] = {key: [] for key in tracks or {}}
    for i in range(start, start + ticks):
        for key, freq in sources.items():
            mixer.push(key, tone_frame(freq, i))
        mixer.tick(now=i * 0.02)
        for key, track in (tracks or {}).items():
            while track.pending:
                received[key].append(await track.recv())
    return received


async def test_mix_minus_and_mute() -> None:
    speaking: list[tuple[str, bool]] = []
    mixer = AudioMixer(origin=0.0, on_speaking=lambda k, s: speaking.append((k, s)))
    tracks = {key: mixer.subscribe(key) for key in (*TONES, "listener")}
    mixer.set_muted("c", True)
    received = await run(mixer, 50, TONES, tracks=tracks)
    heard = {
        key: tone_magnitudes(decode(packets)[-24000:], list(TONES.values()))
        for key, packets in received.items()
    }
    for key, levels in heard.items():
        expected = {f for k, f in TONES.items() if k not in (key, "c")}
        for freq, level in levels.items():
            if freq in expected:
                assert level > 0.1, (key, levels)
            else:
                assert level < 0.005, (key, levels)
    assert sorted(speaking) == [("a", True), ("b", True)]  # the muted one never "speaks"
    # per tick: a's and b's mix-minus, and one shared mix for c and the listener
    assert mixer.encodes < 50 * 3 + 5
    await mixer.close()


async def test_silence_needs_no_own_encode_and_speaking_ends_after_hold() -> None:
    speaking: list[tuple[str, bool]] = []
    mixer = AudioMixer(origin=0.0, on_speaking=lambda k, s: speaking.append((k, s)))
    for key in ("a", "b"):
        mixer.subscribe(key)
    await run(mixer, 25, {"a": 440.0, "b": 0.0})
    assert speaking == [("a", True)]
    encodes = mixer.encodes
    await run(mixer, 100, {"a": 0.0, "b": 0.0}, start=25)  # both silent for 2 s
    assert speaking == [("a", True), ("a", False)]
    # after the gate closed, one shared encode per tick serves both listeners
    assert mixer.encodes - encodes < 100 + 60
    await mixer.close()


async def test_full_mix_listener_gets_pts_in_samples() -> None:
    mixer = AudioMixer(origin=0.0, on_speaking=lambda k, s: None)
    got: list[av.Packet[Any]] = []
    mixer.add_listener(got.append)
    await run(mixer, 5, {"a": 440.0})
    assert [p.pts for p in got] == [0, 960, 1920, 2880, 3840]
    assert all(p.time_base == Fraction(1, 48000) for p in got)
    await mixer.close()


def test_level_detector_hysteresis_and_hold() -> None:
    detector = LevelDetector(on_dbfs=-40, off_dbfs=-50, hold=0.5)
    assert not detector.update(-45, 0.0)  # between thresholds: does not start
    assert detector.update(-30, 0.1) and detector.active
    assert not detector.update(-45, 0.2)  # above "off": keeps going
    assert not detector.update(-70, 0.5)  # quiet, but within the hold
    assert detector.update(-70, 0.8) and not detector.active


def test_rms_dbfs() -> None:
    full = np.full(960, 32767, np.int16)
    assert abs(rms_dbfs(full)) < 0.01
    assert rms_dbfs(np.zeros(960, np.int16)) == -120.0
    sine = (0.5 * 32767 * np.sin(np.arange(960) * 2 * math.pi / 48)).astype(np.int16)
    assert abs(rms_dbfs(sine) - (20 * math.log10(0.5) - 3.01)) < 0.1
