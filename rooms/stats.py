"""The registry's numbers, as typed values for metrics and benchmarks.

:meth:`RoomRegistry.stats <rooms.registry.RoomRegistry.stats>` answers one
:class:`RegistryStats`; a reader names the field it wants and the type
checker knows it, where a dictionary's string keys would fail only at run
time. ``dataclasses.asdict`` gives the JSON the benchmarks have always read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomStats:
    """One live room: its people, its wall (video) and its mixer (audio)."""

    room_id: str
    participants: int
    waiting: int
    publishers: int
    reconnecting: int
    recording: bool
    # the wall
    video_subscribers: int
    small_subscribers: int
    audio_only: int
    frames_composited: int
    tiles_scaled: int
    frames_encoded: int
    small_frames_encoded: int
    keyframes_sent: int
    video_bitrate: int
    small_video_bitrate: int
    tier_moves: int
    video_bytes_encoded: int
    video_bytes_sent: int
    frames_decoded: int
    decode_ms_avg: float
    compose_ms_avg: float
    encode_ms_avg: float
    frame_ms: float
    frame_load: float
    fps: float
    # the mixer
    audio_sources: int
    audio_listeners: int
    audio_ticks: int
    audio_encodes: int
    audio_mix_ms_avg: float
    # the worker process of this room (a process per room): its share of the cores
    process_cpu: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryStats:
    """The whole server: totals, refusals by code, and one :class:`RoomStats` per room."""

    rooms: int
    participants: int
    hook_calls_dropped: int
    cpu_load: float
    refused: Mapping[str, int]
    per_room: tuple[RoomStats, ...]
    workers: int = 0  # room worker processes running (a process per room)
    worker_restarts: int = 0  # room workers that ended without being told to
    workers_hung: int = 0  # of those, the ones killed for going silent
