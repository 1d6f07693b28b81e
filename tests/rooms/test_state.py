"""A room's state kept elsewhere and brought back (rooms/state.py), without media."""

from __future__ import annotations

import json

import pytest

from rooms import ParticipantState, RoomRegistry, RoomState, UserError
from rooms import events as ev
from rooms.identity import ParticipantIdentity, Role
from rooms.room import JoinOutcome, Room
from rooms.state import DocumentState

from .documents import shared_pages
from .fakes import StepClock


def ident(key: str, role: Role = Role.SITE) -> ParticipantIdentity:
    return ParticipantIdentity(key=key, display_name=key.upper(), role=role)


def moderated_room() -> Room:
    room = Room("r1", clock=StepClock(), max_participants=8)
    room.join(ident("host", Role.HOST))
    for key in ("a", "b", "c"):
        room.join(ident(key))
    room.raise_hand("c")
    room.raise_hand("a")
    room.mute("host", "b")  # by the moderator
    room.mute("c", "c")  # by itself
    room.spotlight_on("host", "a")
    room.set_locked("host", True)
    room.set_waiting_room("host", True)
    return room


def test_state_says_settings_mutes_hands_and_spotlight_and_survives_json() -> None:
    state = moderated_room().state()
    assert (state.locked, state.waiting_room, state.spotlight) == (True, True, "a")
    assert {k: (p.self_muted, p.moderator_muted, p.hand_raised_at is not None)
            for k, p in state.participants.items()} == {
        "host": (False, False, False), "a": (False, False, True),
        "b": (False, True, False), "c": (True, False, True)}
    assert RoomState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_a_restored_room_gives_each_returning_participant_its_part() -> None:
    state = moderated_room().state()
    room = Room("r1", clock=StepClock(), max_participants=8)
    room.restore(state)
    assert (room.locked, room.waiting_room) == (True, True)
    # Returning sites come in although the room is locked and has its waiting room on.
    outcome, events = room.join(ident("a"))
    assert outcome is JoinOutcome.JOINED
    assert [type(e) for e in events] == [ev.Joined, ev.SpotlightChanged]
    assert room.spotlight == "a"
    assert room.join(ident("c"))[0] is JoinOutcome.JOINED
    assert room.join(ident("b"))[0] is JoinOutcome.JOINED
    assert room.participants["b"].moderator_muted and room.participants["c"].self_muted
    # Hands keep their order (c before a) whatever the order of return.
    assert [p.id for p in room.hands] == ["c", "a"]
    # A newcomer is not let by: the room is locked.
    with pytest.raises(UserError) as refused:
        room.join(ident("d"))
    assert refused.value.code == "room-locked"
    # Someone not back yet keeps its part in the next state.
    assert room.state().participants["host"] == ParticipantState()
    assert room.state() == RoomState(
        locked=True, waiting_room=True, spotlight="a", participants={
            **state.participants})


def test_restore_refuses_a_live_room_and_changes_nothing() -> None:
    room = moderated_room()
    before = room.state()
    with pytest.raises(UserError) as refused:
        room.restore(RoomState())
    assert refused.value.code == "room-live"
    assert room.state() == before


async def test_registry_restores_a_room_at_its_first_join_only() -> None:
    registry = RoomRegistry()
    state = RoomState(locked=True, participants={"a": ParticipantState(moderator_muted=True)})
    registry.restore("r1", state)
    assert registry.room_ids() == []
    conference = registry.open("r1")
    assert conference.room.locked
    assert registry.state("r1") == state
    with pytest.raises(UserError) as refused:
        registry.restore("r1", RoomState())
    assert refused.value.code == "room-live"
    assert registry.state("r1") == state
    await registry.close()


async def test_the_document_on_the_wall_is_kept_and_shown_again_where_the_room_opens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    files = shared_pages()
    first = RoomRegistry()
    conference = first.open("r1")
    conference.room.join(ident("host", Role.HOST))
    first.present_document("r1", "host", "民法典第一千二百五十四条", files, page=2)
    state = await first.room_state("r1")
    assert state.document == DocumentState(presenter="host", title="民法典第一千二百五十四条",
                                           files=tuple(files), page=2)
    kept = RoomState.from_json(json.loads(json.dumps(state.to_json())))
    assert kept == state
    await first.close()

    second = RoomRegistry()  # another node, or a fresh worker
    second.restore_json("r1", kept.to_json())
    shown = second.open("r1").room.presentation
    assert shown is not None
    assert (shown.presenter, shown.title, shown.page, [p.path for p in shown.pages]) == (
        "host", "民法典第一千二百五十四条", 2, files)
    assert (await second.room_state("r1")).document == state.document  # a second move too
    await second.close()

    # Its files gone (no shared store): the room opens without it, and says so in the log.
    third = RoomRegistry()
    third.restore("r1", RoomState(document=DocumentState(
        presenter="host", title="gone", files=("/nonexistent/page-1.png",), page=1)))
    assert third.open("r1").room.presentation is None
    assert "could not be shown again" in caplog.text
    await third.close()


@pytest.mark.parametrize("bad", [
    None, [], {"version": 2}, {"version": 1, "participants": []},
    {"version": 1, "participants": {}, "locked": "yes"},
    {"version": 1, "participants": {}, "spotlight": 3},
    {"version": 1, "participants": {"a": {"hand_raised_at": "2026-01-01T10:00:00"}}},
    {"version": 1, "participants": {"a": {"hand_raised_at": "yesterday"}}},
    {"version": 1, "participants": {}, "document": []},
    {"version": 1, "participants": {}, "document": {"presenter": "h", "title": "t",
                                                    "files": "a.png", "page": 1}},
    {"version": 1, "participants": {}, "document": {"presenter": "h", "title": "t",
                                                    "files": ["a.png"], "page": "1"}},
])
def test_a_state_that_does_not_parse_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        RoomState.from_json(bad)
