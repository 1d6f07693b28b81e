"""Load measurements with fake clocks, and the registry's admission on injected ones."""

from __future__ import annotations

import time

import pytest

from rooms.config import RoomConfig
from rooms.errors import UserError
from rooms.identity import ParticipantIdentity, Role
from rooms.load import FixedLoad, FrameTimer, LoadLimits, ProcessCpu
from rooms.registry import RoomRegistry

from .conftest import TEST_WALL
from .fakes import RecordingOutbox, StepClock


class Clocks:
    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 5.0

    def monotonic(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu


def test_process_cpu_is_a_smoothed_share_of_the_cores() -> None:
    clocks = Clocks()
    probe = ProcessCpu(cores=2, smoothing_s=5.0, process_time=clocks.process_time,
                       monotonic=clocks.monotonic)
    clocks.cpu += 50  # start-up work before the first reading does not count
    assert probe.load() == 0.0
    for _ in range(30):  # one and a half cores busy, for 30 s
        clocks.wall += 1.0
        clocks.cpu += 1.5
        probe.load()
    assert probe.load() == pytest.approx(0.75, abs=0.01)
    clocks.wall += 0.1  # readings closer together than min_interval change nothing
    clocks.cpu += 1.0
    assert probe.load() == pytest.approx(0.75, abs=0.01)
    for _ in range(3):  # idle for 3 s: the smoothed load falls, but not to nothing at once
        clocks.wall += 1.0
        probe.load()
    assert 0.3 < probe.load() < 0.75


def test_frame_timer_measures_time_per_frame_and_frame_rate() -> None:
    timer = FrameTimer(25)
    now = 0.0
    for _ in range(100):
        now += 0.04
        timer.observe(0.01, now)
    assert timer.seconds == pytest.approx(0.01)
    assert timer.load(now) == pytest.approx(0.25)
    assert timer.fps(now) == pytest.approx(25, abs=1)
    for _ in range(100):  # the wall falls behind: 20 fps, 45 ms a frame
        now += 0.05
        timer.observe(0.045, now)
    assert timer.load(now) == pytest.approx(45 / 40, abs=0.02)
    assert timer.fps(now) == pytest.approx(20, abs=1)
    assert (timer.fps(now + 10), timer.load(now + 10)) == (0.0, 0.0)  # idle: room again
    timer.observe(0.005, now + 11)
    assert timer.load(now + 11) == pytest.approx(0.125)  # no stale history after a pause


def test_load_limits_are_shares() -> None:
    with pytest.raises(ValueError, match="shares"):
        LoadLimits(cpu_budget=1.5)
    with pytest.raises(ValueError, match="shares"):
        LoadLimits(frame_budget=0)


def identity(key: str, role: Role = Role.SITE) -> ParticipantIdentity:
    return ParticipantIdentity(key=key, display_name=key, role=role)


async def test_admission_refuses_newcomers_over_budget_but_never_a_returning_one() -> None:
    cpu = FixedLoad(0.5)
    registry = RoomRegistry(
        RoomConfig(wall=TEST_WALL, load=LoadLimits(cpu_budget=0.8, frame_budget=0.7)),
        clock=StepClock(), cpu=cpu)
    try:
        conference, host = registry.join("r1", identity("host", Role.HOST), RecordingOutbox())
        registry.join("r1", identity("site"), RecordingOutbox())

        cpu.value = 0.85  # the server is at its budget
        for room, key in (("r1", "late"), ("r2", "other-room")):
            with pytest.raises(UserError) as refused:
                registry.join(room, identity(key), RecordingOutbox())
            assert refused.value.code == "server-busy"
        assert registry.room_ids() == ["r1"]  # the refused room was not left open
        # A participant coming back into its place (here: a reload) is let in.
        again, _ = registry.join("r1", identity("site"), RecordingOutbox())
        assert again is conference

        cpu.value = 0.3  # the CPU has room, but this room's wall is at its frame budget
        for _ in range(60):
            conference.wall.timer.observe(0.7 * conference.wall.timer.interval, time.monotonic())
        with pytest.raises(UserError) as refused:
            registry.join("r1", identity("camera"), RecordingOutbox())
        assert refused.value.code == "room-busy"
        # An observer adds no tile: the wall's frame time does not stop it.
        registry.join("r1", identity("watcher", Role.OBSERVER), RecordingOutbox())
        registry.join("r2", identity("elsewhere"), RecordingOutbox())  # another room is fine

        stats = registry.stats()
        assert stats.refused == {"server-busy": 2, "room-busy": 1}
        assert stats.cpu_load == 0.3
        assert [(room.room_id, room.participants) for room in stats.per_room] == [
            ("r1", 3), ("r2", 1)]
        assert host.admitted
    finally:
        await registry.close()


async def test_counted_refusals_include_full_rooms() -> None:
    registry = RoomRegistry(RoomConfig(wall=TEST_WALL, max_participants=1, max_rooms=1),
                            clock=StepClock(), cpu=FixedLoad(0.0))
    try:
        registry.join("r1", identity("a"), RecordingOutbox())
        with pytest.raises(UserError):
            registry.join("r1", identity("b"), RecordingOutbox())
        with pytest.raises(UserError):
            registry.join("r2", identity("c"), RecordingOutbox())
        assert registry.stats().refused == {"room-full": 1, "too-many-rooms": 1}
    finally:
        await registry.close()
