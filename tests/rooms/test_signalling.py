"""The protocol over a real WebSocket: errors change nothing, moderation flows work.

No media is negotiated here, so these tests are quick.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from rooms import RegistryStats, RoomStats
from rooms.protocol.messages import MAX_MESSAGE_CHARS

from .conftest import RoomServer, poll


def ids(notice: dict[str, Any], field: str = "participants") -> list[str]:
    return [p["participant_id"] for p in notice[field]]


def room_state(server: RoomServer) -> str:
    conference = server.registry.get("r1")
    assert conference is not None
    room = conference.room
    return json.dumps(
        [
            {k: (p.muted, p.camera_on, p.hand_raised_at is not None) for k, p in room.participants.items()},
            list(room.waiting), room.spotlight, room.locked, room.waiting_room, room.recording,
        ],
        default=str,
    )


async def test_welcome_and_initial_state(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    welcome = host.of_type("welcome")[0]
    assert welcome["participant_id"] == "host" and welcome["role"] == "host"
    assert "lock" in welcome["permissions"]
    site = await room_server.client("site", role="site")
    assert site.of_type("welcome")[0]["permissions"] == [
        "camera_self", "chat", "chat_hosts", "mute_self", "publish", "raise_hand", "unmute_self",
    ]
    for kind in ("layout", "participants", "hands", "room_state"):
        assert site.last(kind) is not None
    assert site.last("waiting_list") is None  # only for those who may admit
    await host.expect("participants", lambda n: ids(n) == ["host", "site"])
    layout = await host.expect("layout", lambda n: len(n["tiles"]) == 2)
    assert layout["mode"] == "grid" and layout["width"] == 640


BAD = [
    ("{nope", "protocol-error"),
    ('"just a string"', "protocol-error"),
    ('{"type": "teleport"}', "protocol-error"),
    ('{"type": "mute", "participant_id": 7}', "protocol-error"),
    ('{"type": "spotlight"}', "protocol-error"),
    ('{"type": "lock", "please": true}', "protocol-error"),
    ('{"type": "offer", "sdp": "not sdp"}', "protocol-error"),
    (json.dumps({"type": "offer", "sdp": "v=0 " + "x" * MAX_MESSAGE_CHARS}), "protocol-error"),
    ('{"type": "answer", "sdp": "v=0\\r\\n"}', "out-of-order"),
    ('{"type": "ice", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdp_mid": "0"}',
     "out-of-order"),
    ('{"type": "join"}', "already-joined"),
    ('{"type": "give_floor"}', "no-raised-hands"),
    ('{"type": "spotlight", "participant_id": "ghost"}', "unknown-participant"),
    ('{"type": "remove", "participant_id": "host"}', "cannot-remove-self"),
    ('{"type": "admit_next"}', "nobody-waiting"),
    ('{"type": "stop_recording"}', "not-recording"),
]


async def test_bad_messages_get_an_error_and_change_nothing(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await host.expect("participants", lambda n: len(n["participants"]) == 2)
    before = room_state(room_server)
    mark = len(host.notices)
    site_mark = len(site.notices)
    for text, code in BAD:
        sent = len(host.notices)
        await host.send_text(text)
        error = await host.expect("error", after=sent)
        assert error["code"] == code, (text[:60], error)
        assert error["message"]
    assert [n["type"] for n in host.notices[mark:]] == ["error"] * len(BAD)
    assert site.notices[site_mark:] == []
    assert room_state(room_server) == before


async def test_binary_frames_are_refused(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    assert host.ws is not None
    mark = len(host.notices)
    await host.ws.send_bytes(b"\x00\x01")
    assert (await host.expect("error", after=mark))["code"] == "protocol-error"


async def test_messages_before_join_are_refused(room_server: RoomServer) -> None:
    early = await room_server.client("early", role="host", join=False)
    for kind, fields in [("raise_hand", {}), ("offer", {"sdp": "v=0\r\n"}), ("lock", {})]:
        mark = await early.request(kind, **fields)
        error = await early.expect("error", after=mark)
        assert (error["code"], error["request"]) == ("not-joined", kind)
    assert room_server.registry.get("r1") is None  # nothing was created


async def test_refused_role_gets_not_authorised(room_server: RoomServer) -> None:
    await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    before = room_state(room_server)
    mark = await site.request("lock")
    error = await site.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("not-authorised", "lock")
    assert room_state(room_server) == before


async def test_hands_queue_and_give_floor_spotlights(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    b = await room_server.client("b", role="site")
    c = await room_server.client("c", role="site")
    await c.request("raise_hand")
    await host.expect("hands", lambda n: ids(n, "queue") == ["c"])
    await b.request("raise_hand")
    hands = await host.expect("hands", lambda n: ids(n, "queue") == ["c", "b"])
    assert hands["queue"][0]["raised_at"] < hands["queue"][1]["raised_at"]
    mark = len(b.notices)
    await host.request("give_floor")
    layout = await b.expect("layout", lambda n: n["mode"] == "spotlight", after=mark)
    assert layout["spotlight"] == "c"
    assert layout["tiles"][0]["participant_id"] == "c"
    assert layout["tiles"][0]["w"] > 2 * layout["tiles"][1]["w"]
    await b.expect("hands", lambda n: ids(n, "queue") == ["b"], after=mark)
    mark = len(c.notices)
    await host.request("clear_spotlight")
    await c.expect("layout", lambda n: n["mode"] == "grid", after=mark)
    events = [call[2] for call in room_server.hooks.calls if call[0] == "event"]
    assert events.count("hand_raised") == 2 and "floor_given" in events


async def test_lock_refuses_new_joins(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    mark = await host.request("lock")
    await host.expect("room_state", lambda n: n["locked"], after=mark)
    late = await room_server.client("late", role="site", join=False)
    mark = await late.request("join")
    error = await late.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("room-locked", "join")
    conference = room_server.registry.get("r1")
    assert conference is not None and "late" not in conference.room.participants
    await host.request("unlock")
    await host.expect("room_state", lambda n: not n["locked"])
    assert (await late.join())["participant_id"] == "late"


async def test_waiting_room_holds_sites_until_admitted(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    await host.request("set_waiting_room", enabled=True)
    await host.expect("room_state", lambda n: n["waiting_room"])
    first = await room_server.client("first", role="site", join=False)
    second = await room_server.client("second", role="site", join=False)
    for c in (first, second):
        await c.request("join")
        await c.expect("waiting")
    await host.expect("waiting_list", lambda n: ids(n, "waiting") == ["first", "second"])
    assert first.of_type("welcome") == []
    mark = await first.request("raise_hand")
    assert (await first.expect("error", after=mark))["code"] == "waiting"
    speaker = await room_server.client("spk", role="speaker")  # speakers skip the queue
    assert speaker.of_type("welcome")
    await host.request("admit_next")
    await first.expect("admitted")
    welcome = await first.expect("welcome")
    assert welcome["participant_id"] == "first"
    await host.expect("waiting_list", lambda n: ids(n, "waiting") == ["second"])
    await host.request("admit", participant_id="second")
    await second.expect("welcome")
    await host.expect("participants", lambda n: ids(n) == ["host", "spk", "first", "second"])
    joins = [call[2] for call in room_server.hooks.calls if call[0] == "join"]
    assert joins == ["host", "spk", "first", "second"]


async def test_remove_disconnects_with_a_removed_notice(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await host.request("remove", participant_id="site")
    removed = await site.expect("removed")
    assert removed["reason"] == "removed"
    await poll(site.closed_by_server.is_set)
    await host.expect("participants", lambda n: ids(n) == ["host"])
    await poll(lambda: ("leave", "r1", "site") in room_server.hooks.calls)


async def test_same_key_replaces_the_old_connection(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    old = await room_server.client("site", role="site")
    await old.request("raise_hand")
    await host.expect("hands", lambda n: ids(n, "queue") == ["site"])
    new = await room_server.client("site", role="site")
    assert (await old.expect("removed"))["reason"] == "replaced"
    await poll(old.closed_by_server.is_set)
    assert new.last("hands") is not None and ids(new.last("hands") or {}, "queue") == ["site"]
    conference = room_server.registry.get("r1")
    assert conference is not None and list(conference.room.participants) == ["host", "site"]
    assert ("leave", "r1", "site") not in room_server.hooks.calls


async def test_mute_is_reported_and_moderator_mute_sticks(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await host.request("mute", participant_id="site")
    await site.expect(
        "participants",
        lambda n: any(p["participant_id"] == "site" and p["muted_by_moderator"] for p in n["participants"]),
    )
    mark = await site.request("unmute")
    assert (await site.expect("error", after=mark))["code"] == "muted-by-moderator"
    conference = room_server.registry.get("r1")
    assert conference is not None and conference.room.get("site").muted


async def test_server_spotlight_entry_point(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    await room_server.client("site", role="site")
    room_server.registry.set_spotlight("r1", "site")
    layout = await host.expect("layout", lambda n: n["mode"] == "spotlight")
    assert layout["spotlight"] == "site"
    room_server.registry.set_spotlight("r1", None)
    await host.expect("layout", lambda n: n["mode"] == "grid", after=host.notices.index(layout))


async def test_room_closes_when_empty_and_limits_rooms(room_server: RoomServer) -> None:
    a = await room_server.client("a", role="site", room="one")
    await room_server.client("b", role="site", room="two")
    third = await room_server.client("c", role="site", room="three", join=False)
    mark = await third.request("join")
    assert (await third.expect("error", after=mark))["code"] == "too-many-rooms"
    await a.request("leave")
    await poll(lambda: room_server.registry.room_ids() == ["two"])
    assert (await third.join())["room_id"] == "three"


@pytest.mark.parametrize("role", ["observer", "site"])
async def test_stats_shape(room_server: RoomServer, role: str) -> None:
    await room_server.client("x", role=role)
    stats = room_server.registry.stats()
    assert isinstance(stats, RegistryStats)
    assert (stats.rooms, stats.participants, stats.refused) == (1, 1, {})
    (room,) = stats.per_room
    assert isinstance(room, RoomStats)
    assert (room.room_id, room.participants, room.waiting) == ("r1", 1, 0)
    assert room.publishers == (0 if role == "observer" else 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.rooms = 2  # type: ignore[misc]
    # The JSON the benchmarks read keeps its shape.
    as_json = json.loads(json.dumps(dataclasses.asdict(stats)))
    assert set(as_json) == {"rooms", "participants", "hook_calls_dropped", "cpu_load",
                            "refused", "per_room", "workers", "worker_restarts",
                            "workers_hung"}
    assert as_json["per_room"][0]["room_id"] == "r1"
    assert {"frames_composited", "encode_ms_avg", "video_bytes_sent",
            "audio_mix_ms_avg"} <= set(as_json["per_room"][0])


async def test_closing_a_room_dismisses_everyone_and_reports_leaves(room_server: RoomServer) -> None:
    host = await room_server.client("host", role="host")
    site = await room_server.client("site", role="site")
    await room_server.registry.close_room("r1")
    for c in (host, site):
        assert (await c.expect("removed"))["reason"] == "room-closed"
        await poll(c.closed_by_server.is_set)
    await poll(lambda: {("leave", "r1", "host"), ("leave", "r1", "site")} <= set(room_server.hooks.calls))
