"""A room's state as the notices that describe it to clients.

The conference re-sends a notice only when its JSON changes, so these must
be pure functions of the state.
"""

from __future__ import annotations

from typing import Any

from rooms.layout import Layout
from rooms.protocol import notices as nt
from rooms.room import Participant, Room


def _participant(p: Participant) -> dict[str, object]:
    return {
        "participant_id": p.id,
        "display_name": p.identity.display_name,
        "role": str(p.role),
        "muted": p.muted,
        "muted_by_moderator": p.moderator_muted,
        "camera_on": p.camera_on,
        "hand_raised": p.hand_raised_at is not None,
        "speaking": p.speaking,
        "reconnecting": p.reconnecting,
        "audio_only": p.audio_only,
    }


def presentation_state(room: Room) -> dict[str, Any] | None:
    """What is presented, page and presenter: ``room_state.presentation``."""
    p = room.presentation
    if p is None:
        return None
    presenter = room.participants.get(p.presenter)
    return p.to_dict(presenter.identity.display_name if presenter is not None else "")


def layout_notice(layout: Layout) -> nt.LayoutNotice:
    data = layout.to_dict()
    return nt.LayoutNotice(
        mode=data["mode"],
        width=data["width"],
        height=data["height"],
        spotlight=data["spotlight"],
        tiles=tuple(data["tiles"]),
        presentation=data["presentation"],
    )


def state_notices(room: Room, layout: Layout) -> list[nt.Notice]:
    """Layout, participants, hands, room state and waiting list, in that order."""
    return [
        layout_notice(layout),
        nt.ParticipantsNotice(
            participants=tuple(_participant(p) for p in room.participants.values())
        ),
        nt.HandsNotice(
            queue=tuple(
                {
                    "participant_id": p.id,
                    "display_name": p.identity.display_name,
                    "raised_at": p.hand_raised_at.isoformat() if p.hand_raised_at else None,
                }
                for p in room.hands
            )
        ),
        nt.RoomStateNotice(
            locked=room.locked, waiting_room=room.waiting_room, recording=room.recording,
            presentation=presentation_state(room),
        ),
        nt.WaitingListNotice(
            waiting=tuple(
                {
                    "participant_id": p.id,
                    "display_name": p.identity.display_name,
                    "role": str(p.role),
                    "arrived_at": p.arrived_at.isoformat(),
                }
                for p in room.waiting.values()
            )
        ),
    ]
