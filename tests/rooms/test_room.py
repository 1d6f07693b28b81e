"""Room state and moderation, without media."""

from __future__ import annotations

import pytest

from rooms import events as ev
from rooms.errors import NotAuthorisedError, UserError
from rooms.identity import ParticipantIdentity, Role
from rooms.layout import LayoutMode
from rooms.room import JoinOutcome, Room

from .fakes import StepClock


def ident(key: str, role: Role = Role.SITE) -> ParticipantIdentity:
    return ParticipantIdentity(key=key, display_name=key.upper(), role=role)


@pytest.fixture
def room() -> Room:
    r = Room("r1", clock=StepClock(), max_participants=7)
    r.join(ident("host", Role.HOST))
    for key in ("a", "b", "c"):
        r.join(ident(key))
    return r


def test_hands_queue_in_raise_order(room: Room) -> None:
    room.raise_hand("c")
    room.raise_hand("a")
    room.raise_hand("c")  # raising again keeps the original place
    assert [p.id for p in room.hands] == ["c", "a"]
    room.lower_hand("c")
    assert [p.id for p in room.hands] == ["a"]


def test_give_floor_takes_the_earliest_hand_spotlights_and_unmutes(room: Room) -> None:
    room.raise_hand("b")
    room.raise_hand("a")
    room.mute("host", "b")
    target, events = room.give_floor("host")
    assert target == "b"
    assert [e.kind for e in events] == ["floor_given", "hand_lowered", "mute", "spotlight"]
    assert room.spotlight == "b"
    assert not room.get("b").muted
    assert [p.id for p in room.hands] == ["a"]
    layout = room.layout(1280, 720)
    assert layout.mode is LayoutMode.SPOTLIGHT
    assert layout.tiles[0].info.participant_id == "b"


def test_give_floor_without_hands(room: Room) -> None:
    with pytest.raises(UserError) as info:
        room.give_floor("host")
    assert info.value.code == "no-raised-hands"


def test_moderator_mute_cannot_be_undone_by_the_site(room: Room) -> None:
    room.mute("host", "a")
    with pytest.raises(NotAuthorisedError) as info:
        room.unmute("a", "a")
    assert info.value.code == "muted-by-moderator"
    assert room.get("a").muted
    room.mute("b", "b")
    (event,) = room.unmute("b", "b")
    assert isinstance(event, ev.MuteChanged)
    assert (event.participant_id, event.muted, event.by) == ("b", False, "b")
    assert not room.get("b").muted
    room.unmute("host", "a")  # a moderator may lift it
    assert not room.get("a").muted


def test_lock_refuses_new_joins_but_not_hosts(room: Room) -> None:
    room.set_locked("host", True)
    with pytest.raises(UserError) as info:
        room.join(ident("d"))
    assert info.value.code == "room-locked"
    assert "d" not in room.participants
    outcome, _ = room.join(ident("host2", Role.HOST))
    assert outcome is JoinOutcome.JOINED


def test_capacity_counts_waiting_arrivals(room: Room) -> None:
    room.set_waiting_room("host", True)
    room.join(ident("d"))
    room.join(ident("e"))
    room.join(ident("f"))
    with pytest.raises(UserError) as info:
        room.join(ident("g"))
    assert info.value.code == "room-full"


def test_waiting_room_admits_in_arrival_order(room: Room) -> None:
    room.set_waiting_room("host", True)
    assert room.join(ident("e"))[0] is JoinOutcome.WAITING
    assert room.join(ident("d"))[0] is JoinOutcome.WAITING
    assert room.join(ident("spk", Role.SPEAKER))[0] is JoinOutcome.JOINED
    target, events = room.admit_next("host")
    assert target == "e"
    assert [e.kind for e in events] == ["admitted", "joined"]
    assert list(room.waiting) == ["d"]
    events = room.set_waiting_room("host", False)  # turning it off admits the rest
    assert "d" in room.participants and not room.waiting


def test_remove_clears_hand_and_spotlight(room: Room) -> None:
    room.raise_hand("a")
    room.spotlight_on("host", "a")
    events = room.remove("host", "a")
    assert [e.kind for e in events] == ["removed", "spotlight", "left"]
    assert "a" not in room.participants
    assert room.hands == [] and room.spotlight is None


def test_remove_self_and_unknown(room: Room) -> None:
    with pytest.raises(UserError):
        room.remove("host", "host")
    with pytest.raises(UserError) as info:
        room.remove("host", "zz")
    assert info.value.code == "unknown-participant"


def test_observers_have_no_tile_and_cannot_be_spotlit(room: Room) -> None:
    room.join(ident("obs", Role.OBSERVER))
    assert "obs" not in [p.id for p in room.publishers()]
    with pytest.raises(UserError) as info:
        room.spotlight_on("host", "obs")
    assert info.value.code == "not-a-publisher"


def test_tiles_put_hosts_and_speakers_first(room: Room) -> None:
    room.join(ident("spk", Role.SPEAKER))
    assert [p.id for p in room.publishers()] == ["host", "spk", "a", "b", "c"]


def test_server_spotlight(room: Room) -> None:
    assert room.set_spotlight("c")[0].by == "server"  # type: ignore[attr-defined]
    assert room.spotlight == "c"
    assert room.set_spotlight("c") == []
    room.set_spotlight(None)
    assert room.spotlight is None
