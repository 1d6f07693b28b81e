"""Every moderation action by every role: allowed, or refused with the right error.

The expected table is written out here on purpose, independently of
``rooms.permissions.PERMISSIONS``, so that a change to the table is a
visible change to this test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rooms.chat import Audience
from rooms.conference import Conference
from rooms.config import RoomConfig
from rooms.errors import NotAuthorisedError
from rooms.hooks import HookDispatcher
from rooms.identity import ParticipantIdentity, Role
from rooms.permissions import PERMISSIONS, Action
from rooms.protocol import messages as msg

from .documents import shared_pages
from .fakes import RecordingHooks, RecordingOutbox, StepClock

ACTOR = {Role.HOST: "host", Role.SPEAKER: "spk", Role.SITE: "site", Role.OBSERVER: "obs"}
ALL = set(Role)
PUBLISHERS = {Role.HOST, Role.SPEAKER, Role.SITE}
FLOOR = {Role.HOST, Role.SPEAKER}
HOST = {Role.HOST}


@dataclass(frozen=True)
class Case:
    name: str
    allowed: set[Role]
    message: Callable[[str], msg.ClientMessage]
    prepare: Callable[[Conference, str], object] = lambda conf, actor: None
    effect: Callable[[Conference, str], bool] = lambda conf, actor: True


def _raise(conf: Conference, who: str) -> None:
    if who in ("host", "spk", "site", "target"):
        conf.room.raise_hand(who)


_posted: dict[str, str] = {}  # the id of the message a delete case deletes


def _post(conf: Conference) -> None:
    target = conf.room.get("target").identity
    _posted["id"] = conf.chat.post(target, "to be deleted", Audience.ALL).id


def _chatted(conf: Conference, actor: str, text: str) -> bool:
    return [(m.sender.key, m.text) for m in conf.chat] == [(actor, text)]


def _show_document(conf: Conference, who: str) -> None:
    conf.present_document("host", "Civil Code art. 1254", shared_pages())


CASES = [
    Case("raise_hand", PUBLISHERS, lambda a: msg.RaiseHand(),
         effect=lambda c, a: c.room.get(a).hand_raised_at is not None),
    Case("lower_own_hand", PUBLISHERS, lambda a: msg.LowerHand(), prepare=_raise,
         effect=lambda c, a: c.room.get(a).hand_raised_at is None),
    Case("lower_other_hand", FLOOR, lambda a: msg.LowerHand(participant_id="target"),
         prepare=lambda c, a: _raise(c, "target"),
         effect=lambda c, a: c.room.get("target").hand_raised_at is None),
    Case("mute_self", PUBLISHERS, lambda a: msg.Mute(), effect=lambda c, a: c.room.get(a).muted),
    Case("unmute_self", PUBLISHERS, lambda a: msg.Unmute(),
         prepare=lambda c, a: c.room.mute(a, a) if a != "obs" else None,
         effect=lambda c, a: not c.room.get(a).muted),
    Case("camera_off", PUBLISHERS, lambda a: msg.Camera(on=False),
         effect=lambda c, a: not c.room.get(a).camera_on),
    Case("mute_other", HOST, lambda a: msg.Mute(participant_id="target"),
         effect=lambda c, a: c.room.get("target").moderator_muted),
    Case("unmute_other", HOST, lambda a: msg.Unmute(participant_id="target"),
         prepare=lambda c, a: c.room.mute("host", "target"),
         effect=lambda c, a: not c.room.get("target").muted),
    Case("spotlight", FLOOR, lambda a: msg.Spotlight(participant_id="target"),
         effect=lambda c, a: c.room.spotlight == "target"),
    Case("clear_spotlight", FLOOR, lambda a: msg.ClearSpotlight(),
         prepare=lambda c, a: c.set_spotlight("target"),
         effect=lambda c, a: c.room.spotlight is None),
    Case("give_floor", FLOOR, lambda a: msg.GiveFloor(),
         prepare=lambda c, a: _raise(c, "target"),
         effect=lambda c, a: c.room.spotlight == "target" and not c.room.hands),
    Case("remove", HOST, lambda a: msg.Remove(participant_id="target"),
         effect=lambda c, a: "target" not in c.room.participants),
    Case("lock", HOST, lambda a: msg.Lock(), effect=lambda c, a: c.room.locked),
    Case("unlock", HOST, lambda a: msg.Unlock(),
         prepare=lambda c, a: c.room.set_locked("host", True),
         effect=lambda c, a: not c.room.locked),
    Case("admit", HOST, lambda a: msg.Admit(participant_id="late"),
         effect=lambda c, a: "late" in c.room.participants),
    Case("admit_next", HOST, lambda a: msg.AdmitNext(),
         effect=lambda c, a: "late" in c.room.participants),
    Case("set_waiting_room_off", HOST, lambda a: msg.SetWaitingRoom(enabled=False),
         effect=lambda c, a: not c.room.waiting_room and not c.room.waiting),
    Case("start_recording", HOST, lambda a: msg.StartRecording(),
         effect=lambda c, a: c.recorder is not None and c.room.recording),
    Case("stop_recording", HOST, lambda a: msg.StopRecording(),
         prepare=lambda c, a: c.start_recording(),
         effect=lambda c, a: c.recorder is None and not c.room.recording),
    Case("chat_all", PUBLISHERS, lambda a: msg.Chat(text="hello", to="all"),
         effect=lambda c, a: _chatted(c, a, "hello")),
    Case("chat_hosts", ALL, lambda a: msg.Chat(text="psst", to="hosts"),
         effect=lambda c, a: _chatted(c, a, "psst")),
    Case("delete_chat", HOST, lambda a: msg.DeleteChat(id=_posted["id"]),
         prepare=lambda c, a: _post(c), effect=lambda c, a: not list(c.chat)),
    Case("document_page", FLOOR, lambda a: msg.DocumentPage(page=2), prepare=_show_document,
         effect=lambda c, a: c.room.presentation is not None and c.room.presentation.page == 2),
    Case("stop_presentation", FLOOR, lambda a: msg.StopPresentation(), prepare=_show_document,
         effect=lambda c, a: c.room.presentation is None),
]


CASE_ACTIONS = {
    "raise_hand": Action.RAISE_HAND, "lower_own_hand": Action.RAISE_HAND,
    "lower_other_hand": Action.LOWER_HAND_OTHERS, "mute_self": Action.MUTE_SELF,
    "unmute_self": Action.UNMUTE_SELF, "camera_off": Action.CAMERA_SELF,
    "mute_other": Action.MUTE_OTHERS, "unmute_other": Action.UNMUTE_OTHERS,
    "spotlight": Action.SPOTLIGHT, "clear_spotlight": Action.SPOTLIGHT,
    "give_floor": Action.GIVE_FLOOR, "remove": Action.REMOVE, "lock": Action.LOCK,
    "unlock": Action.LOCK, "admit": Action.ADMIT, "admit_next": Action.ADMIT,
    "set_waiting_room_off": Action.SET_WAITING_ROOM, "start_recording": Action.RECORD,
    "stop_recording": Action.RECORD, "chat_all": Action.CHAT, "chat_hosts": Action.CHAT_HOSTS,
    "delete_chat": Action.DELETE_CHAT, "document_page": Action.PRESENT,
    "stop_presentation": Action.PRESENT,
}


def test_cases_cover_every_action() -> None:
    assert set(CASE_ACTIONS) == {case.name for case in CASES}
    # publishing and bypassing the waiting room are exercised by the join tests
    assert set(CASE_ACTIONS.values()) | {Action.PUBLISH, Action.BYPASS_WAITING_ROOM} == set(Action)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_expected_table_agrees_with_permissions(case: Case) -> None:
    action = CASE_ACTIONS[case.name]
    assert {role for role in Role if action in PERMISSIONS[role]} == case.allowed


def test_table_matches_the_published_permissions() -> None:
    assert PERMISSIONS[Role.OBSERVER] == frozenset({Action.CHAT_HOSTS})
    assert PERMISSIONS[Role.HOST] == frozenset(Action)


@pytest.fixture
async def conference(tmp_path: Path) -> AsyncIterator[tuple[Conference, dict[str, RecordingOutbox]]]:
    hooks = HookDispatcher(RecordingHooks())
    config = RoomConfig(recordings_dir=tmp_path / "rec")
    conf = Conference("r1", config=config, hooks=hooks, clock=StepClock(), on_empty=lambda c: None)
    outboxes: dict[str, RecordingOutbox] = {}
    people = [
        ("host", Role.HOST), ("spk", Role.SPEAKER), ("site", Role.SITE), ("obs", Role.OBSERVER),
        ("target", Role.SITE),
    ]
    for key, role in people:
        outboxes[key] = RecordingOutbox()
        conf.join(ParticipantIdentity(key=key, display_name=key, role=role), outboxes[key])
    conf.room.waiting_room = True
    outboxes["late"] = RecordingOutbox()
    conf.join(ParticipantIdentity(key="late", display_name="late", role=Role.SITE), outboxes["late"])
    try:
        yield conf, outboxes
    finally:
        await conf.close()
        await hooks.close()


def _state(conf: Conference) -> str:
    room = conf.room
    people: dict[str, Any] = {
        key: (p.self_muted, p.moderator_muted, p.camera_on, p.hand_raised_at is not None)
        for key, p in room.participants.items()
    }
    return json.dumps(
        [people, list(room.waiting), [p.id for p in room.hands], room.spotlight, room.locked,
         room.waiting_room, room.recording, conf.recorder is not None,
         [(m.id, m.text) for m in conf.chat], room.presentation],
        default=str,
    )


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_action_by_role(
    conference: tuple[Conference, dict[str, RecordingOutbox]], case: Case, role: Role
) -> None:
    conf, _outboxes = conference
    actor = ACTOR[role]
    case.prepare(conf, actor)
    member = conf._members[actor]
    before = _state(conf)
    if role in case.allowed:
        conf.act(member, case.message(actor))
        assert case.effect(conf, actor), f"{case.name} by {role} had no effect"
    else:
        with pytest.raises(NotAuthorisedError) as info:
            conf.act(member, case.message(actor))
        assert info.value.code == "not-authorised"
        assert _state(conf) == before
    if conf.recorder is not None:
        conf.stop_recording()
