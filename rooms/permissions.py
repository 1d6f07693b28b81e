"""Which role may do what in a room.

The table is the single source of truth: every room action calls
:func:`check` before changing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from rooms.errors import NotAuthorisedError
from rooms.identity import Role


class Action(StrEnum):
    PUBLISH = "publish"  # send camera and microphone
    MUTE_SELF = "mute_self"
    UNMUTE_SELF = "unmute_self"
    CAMERA_SELF = "camera_self"
    RAISE_HAND = "raise_hand"  # raise or lower one's own hand
    LOWER_HAND_OTHERS = "lower_hand_others"
    MUTE_OTHERS = "mute_others"
    UNMUTE_OTHERS = "unmute_others"
    SPOTLIGHT = "spotlight"  # spotlight a tile or go back to the grid
    GIVE_FLOOR = "give_floor"
    REMOVE = "remove"
    LOCK = "lock"  # lock and unlock
    ADMIT = "admit"
    SET_WAITING_ROOM = "set_waiting_room"
    RECORD = "record"
    BYPASS_WAITING_ROOM = "bypass_waiting_room"
    CHAT = "chat"  # write to everyone in the room
    CHAT_HOSTS = "chat_hosts"  # write to the hosts only
    DELETE_CHAT = "delete_chat"  # take anyone's message off every page
    PRESENT = "present"  # show a document or one's screen on the wall, turn pages, stop


_SELF = frozenset(
    {Action.PUBLISH, Action.MUTE_SELF, Action.UNMUTE_SELF, Action.CAMERA_SELF, Action.RAISE_HAND}
)
_CHAT = frozenset({Action.CHAT, Action.CHAT_HOSTS})
_FLOOR = frozenset(
    {Action.SPOTLIGHT, Action.GIVE_FLOOR, Action.LOWER_HAND_OTHERS, Action.BYPASS_WAITING_ROOM}
)

PERMISSIONS: Mapping[Role, frozenset[Action]] = {
    Role.HOST: frozenset(Action),
    Role.SPEAKER: _SELF | _FLOOR | _CHAT | {Action.PRESENT},
    Role.SITE: _SELF | _CHAT,
    # Observers (staff listening in, an officer off duty) read the chat and may write to
    # the hosts ("no sound here"), not to the whole room they only listen to.
    Role.OBSERVER: frozenset({Action.CHAT_HOSTS}),
}


def may(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]


def check(role: Role, action: Action) -> None:
    """Raise :class:`NotAuthorisedError` unless ``role`` may do ``action``."""
    if not may(role, action):
        raise NotAuthorisedError(f"a {role} may not {action.replace('_', ' ')}")


def allowed_actions(role: Role) -> list[str]:
    """The role's actions, sorted, for the ``welcome`` message."""
    return sorted(PERMISSIONS[role])
