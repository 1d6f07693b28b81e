"""What the clients of a room are told, and when.

A member gets a welcome when it is admitted. State notices (layout,
participants, hands, room state, waiting list) go to every admitted member
only when they change; a member welcomed since the last round gets all of
them once. The waiting list goes only to those who may admit.

A burst of changes sends a burst of state notices; each connection's queue
keeps only the newest of each kind (:mod:`rooms.protocol.notice_queue`), so nobody's
queue fills because the room is busy.
"""

from __future__ import annotations

from collections.abc import Iterable

from rooms.member import Member
from rooms.permissions import Action, allowed_actions, may
from rooms.protocol import notices as nt


class Announcer:
    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self._sent: dict[str, str] = {}  # the last text of each kind of state notice
        self._fresh: set[Member] = set()  # welcomed, not yet sent the state

    def welcome(self, member: Member) -> None:
        identity = member.identity
        member.outbox.send(
            nt.Welcome(
                room_id=self.room_id,
                participant_id=identity.key,
                display_name=identity.display_name,
                role=str(identity.role),
                permissions=tuple(allowed_actions(identity.role)),
            )
        )
        self._fresh.add(member)

    def broadcast(self, members: Iterable[Member], notice: nt.Notice) -> None:
        for member in list(members):
            if member.admitted:
                member.outbox.send(notice)

    def publish(self, members: Iterable[Member], notices: list[nt.Notice]) -> None:
        """Send the state notices that changed to everyone, and all of them to new arrivals."""
        encoded = {notice.type: notice.to_json() for notice in notices}
        changed = {kind for kind, text in encoded.items() if self._sent.get(kind) != text}
        self._sent.update(encoded)
        for member in list(members):
            if not member.admitted:
                continue
            fresh = member in self._fresh
            for notice in notices:
                if not fresh and notice.type not in changed:
                    continue
                if notice.type == nt.WaitingListNotice.type and not may(
                    member.identity.role, Action.ADMIT
                ):
                    continue
                member.outbox.send(notice)
        self._fresh.clear()
