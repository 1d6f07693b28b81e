"""A room's state kept elsewhere and brought back (rooms/state.py), without media."""

from __future__ import annotations

import json

import pytest

from rooms import ParticipantState, RoomRegistry, RoomState, UserError
from rooms import events as ev
from rooms.identity import ParticipantIdentity, Role
from rooms.room import JoinOutcome, Room

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


@pytest.mark.parametrize("bad", [
    None, [], {"version": 2}, {"version": 1, "participants": []},
    {"version": 1, "participants": {}, "locked": "yes"},
    {"version": 1, "participants": {}, "spotlight": 3},
    {"version": 1, "participants": {"a": {"hand_raised_at": "2026-01-01T10:00:00"}}},
    {"version": 1, "participants": {"a": {"hand_raised_at": "yesterday"}}},
])
def test_a_state_that_does_not_parse_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        RoomState.from_json(bad)
