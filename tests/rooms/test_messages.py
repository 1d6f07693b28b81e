"""Parsing client messages at the edge, and the JSON of server notices."""

from __future__ import annotations

import json

import pytest

from rooms.errors import ProtocolError
from rooms.protocol import messages as msg
from rooms.protocol import notices as nt

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "join"}', msg.Join()),
        (json.dumps({"type": "offer", "sdp": SDP}), msg.Offer(sdp=SDP)),
        (
            '{"type": "ice", "candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host",'
            ' "sdp_mid": "0"}',
            msg.Ice(candidate="candidate:1 1 udp 1 1.2.3.4 5 typ host", sdp_mid="0"),
        ),
        ('{"type": "mute"}', msg.Mute()),
        ('{"type": "mute", "participant_id": "site-3"}', msg.Mute(participant_id="site-3")),
        ('{"type": "give_floor", "participant_id": null}', msg.GiveFloor()),
        ('{"type": "camera", "on": false}', msg.Camera(on=False)),
        ('{"type": "set_waiting_room", "enabled": true}', msg.SetWaitingRoom(enabled=True)),
        ('{"type": "admit_next"}', msg.AdmitNext()),
        ('{"type": "chat", "text": "你好"}', msg.Chat(text="你好", to="all")),
        ('{"type": "chat", "text": "x", "to": "hosts"}', msg.Chat(text="x", to="hosts")),
        ('{"type": "delete_chat", "id": "ab12"}', msg.DeleteChat(id="ab12")),
    ],
)
def test_parses(text: str, expected: msg.ClientMessage) -> None:
    assert msg.parse_client_message(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"sdp": "x"}', 'string "type"'),
        ('{"type": 3}', 'string "type"'),
        ('{"type": "dance"}', "unknown message type 'dance'"),
        ('{"type": "offer"}', "offer: missing field sdp"),
        ('{"type": "offer", "sdp": 5}', "offer: field sdp must be a string"),
        ('{"type": "offer", "sdp": "hello"}', "starting with v=0"),
        ('{"type": "camera", "on": 1}', "camera: field on must be a boolean"),
        ('{"type": "lock", "now": true}', "lock: unexpected field(s) now"),
        ('{"type": "ice", "candidate": "x", "sdp_mline_index": true}', "an integer or null"),
        ('{"type": "ice", "candidate": "x", "sdp_mline_index": 99}', "between 0 and 63"),
        ('{"type": "remove"}', "remove: missing field participant_id"),
        ('{"type": "remove", "participant_id": ""}', "1-128 characters"),
        ('{"type": "remove", "participant_id": "' + "x" * 200 + '"}', "1-128 characters"),
        (json.dumps({"type": "offer", "sdp": "v=0" + "a" * 70_000}), "longer than"),
        ("[" * 100_000, "longer than"),
        ("[" * 50_000 + "]" * 50, "not valid JSON"),
        ('{"type": "chat"}', "chat: missing field text"),
        ('{"type": "chat", "text": "x", "to": "host"}', 'to must be "all" or "hosts"'),
        ('{"type": "chat", "text": "x", "to": null}', "chat: field to must be a string"),
        ('{"type": "delete_chat", "id": ""}', "id must be 1-128 characters"),
    ],
)
def test_rejects_with_a_clear_message(text: str, complaint: str) -> None:
    with pytest.raises(ProtocolError) as info:
        msg.parse_client_message(text)
    assert complaint in info.value.message
    assert info.value.code == "protocol-error"


def test_every_type_is_registered_once() -> None:
    assert len(msg.MESSAGE_TYPES) == 27
    assert all(cls.type == name for name, cls in msg.MESSAGE_TYPES.items())


def test_messages_are_frozen() -> None:
    offer = msg.Offer(sdp=SDP)
    with pytest.raises(AttributeError):
        offer.sdp = "v=0 other"  # type: ignore[misc]


def test_notice_json() -> None:
    notice = nt.ErrorNotice(code="room-locked", message="the room is locked", request="join")
    assert json.loads(notice.to_json()) == {
        "type": "error", "code": "room-locked", "message": "the room is locked",
        "request": "join",
    }
    welcome = nt.Welcome(
        room_id="r", participant_id="p", display_name="街道", role="host",
        permissions=("lock", "remove"),
    )
    assert json.loads(welcome.to_json())["permissions"] == ["lock", "remove"]
    assert "街道" in welcome.to_json()
