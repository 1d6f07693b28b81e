"""The load clients' camera and microphone: encoded once, then replayed as packets.

A publisher sends ``av.Packet`` objects from a ``MediaStreamTrack``; aiortc's
sender only packetises them, so 15 publishers cost the load generator next
to nothing. Each sender's video clip is :data:`FRAMES` distinct 640x480
frames (10 s at 25 fps) whose stamp carries the frame's index in the clip
and the sender id; the clips are cached under ``var/bench-cache``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bench import pixelcode

WIDTH, HEIGHT, FPS = 640, 480, 25
FRAMES = 250  # 10 s, looped; every frame has its own stamp
GOP = 25  # a keyframe each second: a pre-encoded clip cannot answer a PLI any sooner
BITRATE = 600_000
VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
AUDIO_FRAMES = 500  # 10 s of 20 ms packets
CACHE = Path("var/bench-cache")
_VERSION = 2  # bump when the picture or the stamp changes


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    data: bytes
    keyframe: bool


def _picture(sender: int, index: int) -> av.VideoFrame:
    """A moving scene under the stamp, tinted per sender."""
    frame = np.empty((HEIGHT * 3 // 2, WIDTH), dtype=np.uint8)
    luma = frame[:HEIGHT]
    phase = 2 * math.pi * index / FRAMES
    across = np.sin(np.arange(WIDTH) / 37.0 + 3 * phase)
    down = np.cos(np.arange(HEIGHT) / 53.0 - phase)
    luma[:] = (110 + 60 * np.outer(down, across)).astype(np.uint8)
    cx = int((WIDTH - 80) * (0.5 + 0.5 * math.sin(2 * phase)))
    cy = int(HEIGHT * 0.3 + (HEIGHT * 0.6 - 80) * (0.5 + 0.5 * math.cos(3 * phase)))
    luma[cy : cy + 80, cx : cx + 80] = 220
    pixelcode.paint(luma, pixelcode.Stamp(counter=index, sender=sender))
    chroma = frame[HEIGHT:].reshape(2, HEIGHT // 2, WIDTH // 2)
    chroma[0] = 128 + (sender * 37) % 60 - 30
    chroma[1] = 128 - (sender * 53) % 60 + 30
    return av.VideoFrame.from_ndarray(frame, format="yuv420p")


def encode_video(sender: int, frames: int = FRAMES) -> list[EncodedFrame]:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.time_base = VIDEO_TIME_BASE
    codec.framerate = Fraction(FPS, 1)
    codec.bit_rate = BITRATE
    codec.gop_size = GOP
    codec.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}
    out: list[EncodedFrame] = []
    for index in range(frames):
        frame = _picture(sender, index)
        frame.pts = index * VIDEO_TIME_BASE.denominator // FPS
        frame.time_base = VIDEO_TIME_BASE
        packets = codec.encode(frame)
        if len(packets) != 1:
            raise RuntimeError(f"libvpx gave {len(packets)} packets for one frame")
        out.append(EncodedFrame(bytes(packets[0]), bool(packets[0].is_keyframe)))
    return out


def video_clip(sender: int, *, cache: Path = CACHE) -> list[EncodedFrame]:
    """Sender ``sender``'s clip, from the cache when it is there."""
    path = cache / f"clip-v{_VERSION}-{WIDTH}x{HEIGHT}-{FPS}-{FRAMES}-{BITRATE}-s{sender}.bin"
    if path.exists():
        data = path.read_bytes()
        frames: list[EncodedFrame] = []
        offset = 0
        while offset < len(data):
            size, key = struct.unpack_from(">IB", data, offset)
            offset += 5
            frames.append(EncodedFrame(data[offset : offset + size], bool(key)))
            offset += size
        if len(frames) == FRAMES:
            return frames
    frames = encode_video(sender)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(
        b"".join(struct.pack(">IB", len(f.data), f.keyframe) + f.data for f in frames)
    )
    tmp.replace(path)
    return frames


def encode_audio(*, talking: bool) -> list[bytes]:
    """10 s of Opus: a talker (voiced bursts around -20 dBFS) or a quiet room (-75 dBFS)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = 40000
    codec.time_base = AUDIO_TIME_BASE
    codec.options = {"application": "voip"}
    rng = np.random.default_rng(7)
    out: list[bytes] = []
    total = AUDIO_FRAMES * AUDIO_SAMPLES
    n = np.arange(total)
    if talking:
        envelope = (np.sin(2 * math.pi * n / (AUDIO_RATE * 2.5)) > -0.3).astype(np.float64)
        wave = 0.1 * envelope * (
            np.sin(2 * math.pi * 180 * n / AUDIO_RATE)
            + 0.5 * np.sin(2 * math.pi * 540 * n / AUDIO_RATE)
        )
    else:
        wave = 10 ** (-75 / 20) * rng.standard_normal(total)
    samples = np.clip(wave * 32767, -32768, 32767).astype(np.int16)
    for index in range(AUDIO_FRAMES):
        chunk = samples[index * AUDIO_SAMPLES : (index + 1) * AUDIO_SAMPLES]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * AUDIO_SAMPLES
        frame.time_base = AUDIO_TIME_BASE
        out.extend(bytes(p) for p in codec.encode(frame))
    return out
