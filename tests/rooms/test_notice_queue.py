"""The notice queue keeps the newest state of each kind and every event, in order."""

from __future__ import annotations

import asyncio

import pytest

from rooms.protocol import notices as nt
from rooms.protocol.notice_queue import NoticeQueue, QueueFull


def hands(*ids: str) -> nt.HandsNotice:
    return nt.HandsNotice(queue=tuple({"participant_id": i} for i in ids))


def layout(mode: str) -> nt.LayoutNotice:
    return nt.LayoutNotice(mode=mode, width=640, height=360, spotlight=None, tiles=())


def error(code: str) -> nt.ErrorNotice:
    return nt.ErrorNotice(code=code, message=code)


def drain(queue: NoticeQueue) -> list[nt.Notice]:
    out = []
    while (notice := queue.get_nowait()) is not None:
        out.append(notice)
    return out


def test_a_hundred_state_changes_leave_one_notice_of_each_kind() -> None:
    queue = NoticeQueue(8)
    for i in range(100):
        queue.put(hands(*(["a"] if i % 2 == 0 else [])))
        queue.put(layout("grid" if i % 2 == 0 else "spotlight"))
        queue.put(nt.RoomStateNotice(locked=i % 2 == 0, waiting_room=False, recording=False))
    assert len(queue) == 3
    assert queue.coalesced == 297
    assert drain(queue) == [
        hands(),
        layout("spotlight"),
        nt.RoomStateNotice(locked=False, waiting_room=False, recording=False),
    ]


def test_events_are_all_kept_in_order_and_state_never_overtakes_them() -> None:
    queue = NoticeQueue(16)
    welcome = nt.Welcome(room_id="r", participant_id="a", display_name="A", role="site",
                         permissions=())
    queue.put(welcome)
    queue.put(hands("a"))
    queue.put(error("first"))
    queue.put(hands("a", "b"))  # replaces the queued hands, behind "first"
    queue.put(error("second"))
    queue.put(error("second"))  # an event twice is two events
    assert drain(queue) == [welcome, error("first"), hands("a", "b"), error("second"),
                            error("second")]


def test_speaking_is_coalesced_per_participant() -> None:
    queue = NoticeQueue(8)
    for speaking in (True, False, True):
        queue.put(nt.SpeakingNotice(participant_id="a", speaking=speaking))
        queue.put(nt.SpeakingNotice(participant_id="b", speaking=not speaking))
    assert drain(queue) == [
        nt.SpeakingNotice(participant_id="a", speaking=True),
        nt.SpeakingNotice(participant_id="b", speaking=False),
    ]


def test_only_events_fill_the_queue() -> None:
    queue = NoticeQueue(3)
    queue.put(hands())
    queue.put(error("1"))
    queue.put(error("2"))
    with pytest.raises(QueueFull):
        queue.put(error("3"))
    with pytest.raises(QueueFull):
        queue.put(layout("grid"))  # a new kind of state needs room too
    queue.put(hands("a"))  # a newer state of a queued kind always fits
    assert drain(queue) == [error("1"), error("2"), hands("a")]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        NoticeQueue(0)


async def test_get_waits_for_a_notice_and_ends_after_close() -> None:
    queue = NoticeQueue(4)
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put(error("x"))
    assert await asyncio.wait_for(getter, 1) == error("x")
    queue.put(error("y"))
    queue.close()
    assert await queue.get() == error("y")  # what was queued still goes out
    assert await queue.get() is None
