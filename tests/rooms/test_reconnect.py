"""A dropped connection keeps its place: tile, hand and mutes, until the hold runs out."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from rooms import events as ev
from rooms.identity import ParticipantIdentity, Role
from rooms.registry import RoomRegistry
from rooms.room import Room

from .conftest import RoomServer, poll
from .fakes import StepClock


def tiles(layout: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(t["participant_id"], t["reconnecting"]) for t in layout["tiles"]]


def queue(hands: dict[str, Any] | None) -> list[str]:
    return [h["participant_id"] for h in (hands or {}).get("queue", [])]


def hold(registry: RoomRegistry, seconds: float) -> None:
    """Rooms opened from now on hold a dropped participant's place this long."""
    registry.config = replace(registry.config, reconnect_hold=seconds)


class TimedHooks:
    """Hooks that keep the time of each join and leave."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.events: list[tuple[str, str, datetime]] = []

    async def on_join(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self.calls.append(("join", identity.key, at))

    async def on_leave(self, room_id: str, identity: ParticipantIdentity, at: datetime) -> None:
        self.calls.append(("leave", identity.key, at))

    async def on_event(self, room_id: str, event: Any) -> None:
        self.events.append((event.kind, getattr(event, "participant_id", ""), event.at))


async def test_a_dropped_site_keeps_its_tile_and_hand_until_it_is_back(
    room_server: RoomServer,
) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site", colour=(30, 200, 40), receive_audio=False)
    await room_server.client("other", role="site")
    await site.connect_media()
    await site.wait_frames(2)
    await site.request("raise_hand")
    await host.expect("hands", lambda n: queue(n) == ["site"])

    mark = len(host.notices)
    await site.drop()  # the network went away: no leave
    layout = await host.expect("layout", lambda n: ("site", True) in tiles(n), after=mark)
    assert tiles(layout) == [("host", False), ("site", True), ("other", False)]
    participants = await host.expect("participants", after=mark)
    assert [p["reconnecting"] for p in participants["participants"]] == [False, True, False]
    assert queue(host.last("hands")) == ["site"]
    conference = room_server.registry.get("r1")
    assert conference is not None and conference.stats()["reconnecting"] == 1

    mark = len(host.notices)
    back = await room_server.client("site", role="site", colour=(30, 200, 40),
                                    receive_audio=False)
    started = time.monotonic()
    layout = await host.expect("layout", lambda n: ("site", False) in tiles(n), after=mark)
    assert tiles(layout) == [("host", False), ("site", False), ("other", False)]
    assert queue(back.last("hands")) == ["site"]  # its hand is still up, first in the queue
    assert next(t for t in (back.last("layout") or {})["tiles"]
                if t["participant_id"] == "site")["hand_raised"]
    await back.connect_media()
    await back.wait_frames(1)
    assert time.monotonic() - started < 10
    calls = room_server.hooks.calls
    assert [c for c in calls if c[0] in ("join", "leave") and c[2] == "site"] == [
        ("join", "r1", "site")]  # one stay: no leave, no second join
    assert ("event", "r1", "connection_lost") in calls and ("event", "r1", "reconnected") in calls
    assert conference.stats()["reconnecting"] == 0


async def test_the_hold_runs_out_and_the_stay_ends_when_the_connection_was_lost(
    room_server: RoomServer,
) -> None:
    hooks = TimedHooks()
    room_server.registry._hooks.hooks = hooks
    hold(room_server.registry, 0.3)
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await site.request("raise_hand")
    await host.expect("hands", lambda n: queue(n) == ["site"])
    mark = len(host.notices)
    await site.drop()
    await host.expect("layout", lambda n: ("site", True) in tiles(n), after=mark)
    layout = await host.expect("layout", lambda n: len(n["tiles"]) == 1, after=mark)
    assert tiles(layout) == [("host", False)]
    assert queue(host.last("hands")) == []
    await poll(lambda: any(c[0] == "leave" for c in hooks.calls))
    # The stay ended when the connection was lost, not when the hold ran out (the
    # room's clock has moved on since: every reading of it is a second later).
    (left,) = [at for kind, key, at in hooks.calls if (kind, key) == ("leave", "site")]
    (lost,) = [at for kind, key, at in hooks.events if (kind, key) == ("connection_lost", "site")]
    assert left == lost
    assert [kind for kind, key, _ in hooks.events if key == "site"][-2:] == [
        "connection_lost", "left"]

    # Back after the hold: a new stay, at the end of the tiles, hand down.
    again = await room_server.client("site", role="site")
    assert [t["participant_id"] for t in (again.last("layout") or {})["tiles"]] == ["host", "site"]
    assert queue(again.last("hands")) == []
    await poll(lambda: [c[0] for c in hooks.calls if c[1] == "site"] == ["join", "leave", "join"])


async def test_leave_is_not_held_and_a_lone_dropped_participant_keeps_the_room(
    room_server: RoomServer,
) -> None:
    hold(room_server.registry, 0.5)
    a = await room_server.client("a", role="site")
    await a.request("leave")
    await poll(lambda: room_server.registry.room_ids() == [])  # leave: gone at once
    b = await room_server.client("b", role="site")
    await b.drop()
    await asyncio.sleep(0.2)
    assert room_server.registry.room_ids() == ["r1"]  # held: the room stays open
    await poll(lambda: room_server.registry.room_ids() == [])
    # The hooks run on their own task: b's leave reaches them just after the room goes.
    await poll(lambda: [c for c in room_server.hooks.calls if c[0] == "leave"] == [
        ("leave", "r1", "a"), ("leave", "r1", "b")])


async def test_waiting_arrivals_are_not_held(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    await host.request("set_waiting_room", enabled=True)
    await host.expect("room_state", lambda n: n["waiting_room"])
    site = await room_server.client("site", role="site", join=False)
    mark = await site.request("join")
    await site.expect("waiting", after=mark)
    await host.expect("waiting_list", lambda n: len(n["waiting"]) == 1)
    await site.drop()
    await host.expect("waiting_list", lambda n: n["waiting"] == [])


@pytest.mark.parametrize("reason", ["remove", "close"])
async def test_a_held_place_can_be_removed_or_closed(room_server: RoomServer, reason: str) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    mark = len(host.notices)
    await site.drop()
    await host.expect("layout", lambda n: ("site", True) in tiles(n), after=mark)
    if reason == "remove":
        await host.request("remove", participant_id="site")
        await host.expect("layout", lambda n: len(n["tiles"]) == 1, after=mark)
    else:
        await room_server.registry.close_room("r1")
    await poll(lambda: ("leave", "r1", "site") in room_server.hooks.calls)


def test_room_state_of_a_held_place() -> None:
    room = Room("r1", clock=StepClock(), max_participants=4)
    for key, role in (("host", Role.HOST), ("site", Role.SITE)):
        room.join(ParticipantIdentity(key=key, display_name=key, role=role))
    room.raise_hand("site")
    (lost,) = room.set_reconnecting("site", True)
    assert isinstance(lost, ev.ConnectionLost)
    assert room.set_reconnecting("site", True) == []  # already held
    assert [(t.info.participant_id, t.info.reconnecting) for t in room.layout(640, 360).tiles] == [
        ("host", False), ("site", True)]
    (back,) = room.set_reconnecting("site", False)
    assert isinstance(back, ev.Reconnected) and back.after_s == 1.0  # one tick of the StepClock
    assert [p.id for p in room.hands] == ["site"]
    (again,) = room.set_reconnecting("site", True)
    events = room.leave("site", reason="connection-lost")
    (left,) = [e for e in events if isinstance(e, ev.Left)]
    assert left.at == again.at  # it left when it was lost, not when the hold ran out
    assert room.set_reconnecting("nobody", True) == []
    (audio,) = room.set_audio_only("host", True)
    assert isinstance(audio, ev.AudioOnlyChanged) and room.get("host").audio_only
    assert room.set_audio_only("host", True) == []


@pytest.mark.parametrize(("code", "held"), [
    (1000, False),  # normal closure: the client is done
    (1001, False),  # going away: a browser's page was closed or navigated away
    (4000, True),  # the page's own "reconnecting": it comes back at once
    (None, True),  # no close frame at all: the network went away
])
async def test_a_page_that_closes_its_socket_leaves_at_once_a_lost_link_is_held(
    room_server: RoomServer, code: int | None, held: bool,
) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await site.request("raise_hand")
    await host.expect("hands", lambda n: queue(n) == ["site"])
    mark = len(host.notices)
    await site.hang_up(code)
    if held:
        layout = await host.expect("layout", lambda n: ("site", True) in tiles(n), after=mark)
        assert tiles(layout) == [("host", False), ("site", True)]
        assert queue(host.last("hands")) == ["site"]
        assert ("leave", "r1", "site") not in room_server.hooks.calls
    else:
        layout = await host.expect("layout", lambda n: len(n["tiles"]) == 1, after=mark)
        assert tiles(layout) == [("host", False)]  # no "reconnecting" ghost on the way
        assert all(("site", True) not in tiles(n) for n in host.of_type("layout"))
        assert queue(host.last("hands")) == []
        await poll(lambda: ("leave", "r1", "site") in room_server.hooks.calls)
    conference = room_server.registry.get("r1")
    assert conference is not None and conference.stats()["reconnecting"] == int(held)
    if held:  # end the hold, so that the room closes when the host goes
        await host.request("remove", participant_id="site")
        await poll(lambda: ("leave", "r1", "site") in room_server.hooks.calls)
