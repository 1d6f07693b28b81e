"""A room's state and its moderation rules, free of media and I/O.

Every method that a participant can trigger takes the acting participant's
id, checks :mod:`rooms.permissions`, validates the target, and only then
changes state. It returns the events that happened, for the server's hooks
and the recording index; a refused request raises and changes nothing.
Methods without an actor are the server's own entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from rooms import events as ev
from rooms.errors import NotAuthorisedError, UserError
from rooms.identity import ParticipantIdentity, Role
from rooms.layout import Layout, TileInfo, build_layout
from rooms.media.presentation import Presentation, PresentationKind, check_page
from rooms.permissions import Action, check, may
from rooms.state import DocumentState, ParticipantState, RoomState

Clock = Callable[[], datetime]

SERVER = "server"  # the ``by`` of changes the server makes through hooks
_ROLE_ORDER = {Role.HOST: 0, Role.SPEAKER: 1, Role.SITE: 2, Role.OBSERVER: 3}


class JoinOutcome(StrEnum):
    JOINED = "joined"
    WAITING = "waiting"


@dataclass(kw_only=True, slots=True)
class Participant:
    identity: ParticipantIdentity
    arrived_at: datetime
    self_muted: bool = False
    moderator_muted: bool = False
    camera_on: bool = True
    speaking: bool = False
    hand_raised_at: datetime | None = None
    lost_at: datetime | None = None  # set while its place is held for a reconnection
    audio_only: bool = False  # receives the mix but not the wall

    @property
    def id(self) -> str:
        return self.identity.key

    @property
    def role(self) -> Role:
        return self.identity.role

    @property
    def reconnecting(self) -> bool:
        return self.lost_at is not None

    @property
    def muted(self) -> bool:
        return self.self_muted or self.moderator_muted

    @property
    def publishes(self) -> bool:
        return may(self.role, Action.PUBLISH)


class Room:
    def __init__(
        self, room_id: str, *, clock: Clock, max_participants: int, waiting_room: bool = False
    ) -> None:
        self.room_id = room_id
        self._clock = clock
        self.max_participants = max_participants
        self.locked = False
        self.waiting_room = waiting_room
        self.recording = False
        self.spotlight: str | None = None
        self.presentation: Presentation | None = None
        self.participants: dict[str, Participant] = {}
        self.waiting: dict[str, Participant] = {}
        self._hands: list[str] = []
        # A state brought back from elsewhere (rooms/state.py): each participant's part
        # is taken back when it joins again, the spotlight with its participant.
        self._restored: dict[str, ParticipantState] = {}
        self._restored_spotlight: str | None = None

    # -- queries ----------------------------------------------------------

    def get(self, participant_id: str) -> Participant:
        try:
            return self.participants[participant_id]
        except KeyError:
            raise UserError(
                f"no participant {participant_id!r} in this room", code="unknown-participant"
            ) from None

    def _publisher(self, participant_id: str) -> Participant:
        target = self.get(participant_id)
        if not target.publishes:
            raise UserError(f"{participant_id!r} does not publish media", code="not-a-publisher")
        return target

    def _role(self, actor: str) -> Role:
        return self.get(actor).role

    @property
    def hands(self) -> list[Participant]:
        """Raised hands, earliest first."""
        return [self.participants[key] for key in self._hands]

    def publishers(self) -> list[Participant]:
        """Participants with a tile: hosts and speakers first, then in joining order."""
        ordered = sorted(self.participants.values(), key=lambda p: _ROLE_ORDER[p.role])
        return [p for p in ordered if p.publishes]

    def audible(self, participant_id: str) -> bool:
        p = self.participants.get(participant_id)
        return p is not None and p.publishes and not p.muted

    def layout(self, width: int, height: int) -> Layout:
        infos = [
            TileInfo(
                participant_id=p.id,
                display_name=p.identity.display_name,
                speaking=p.speaking,
                hand_raised=p.hand_raised_at is not None,
                muted=p.muted,
                camera_on=p.camera_on,
                reconnecting=p.reconnecting,
            )
            for p in self.publishers()
        ]
        aspect = None if self.presentation is None else self.presentation.aspect
        return build_layout(infos, width=width, height=height, spotlight=self.spotlight,
                            presentation=aspect)

    # -- arrival and departure ---------------------------------------------

    def join(self, identity: ParticipantIdentity) -> tuple[JoinOutcome, list[ev.RoomEvent]]:
        key = identity.key
        if key in self.participants or key in self.waiting:
            raise UserError("already in this room", code="already-joined")
        returning = key in self._restored  # was in the room: lock and waiting room let it by
        if self.locked and identity.role is not Role.HOST and not returning:
            raise UserError("the room is locked", code="room-locked")
        if len(self.participants) + len(self.waiting) >= self.max_participants:
            raise UserError("the room is full", code="room-full")
        now = self._clock()
        participant = Participant(identity=identity, arrived_at=now)
        if (self.waiting_room and not returning
                and not may(identity.role, Action.BYPASS_WAITING_ROOM)):
            self.waiting[key] = participant
            return JoinOutcome.WAITING, [ev.Waiting(at=now, participant_id=key)]
        self.participants[key] = participant
        events: list[ev.RoomEvent] = [ev.Joined(at=now, participant_id=key, role=identity.role)]
        return JoinOutcome.JOINED, events + self._take_back(participant)

    def leave(self, participant_id: str, reason: str = "left") -> list[ev.RoomEvent]:
        """Drop a participant or waiting arrival; unknown ids are ignored.

        A participant whose place was held for a reconnection left when its
        connection was lost, whatever ends the hold (it runs out, a host
        removes it, the room closes).
        """
        if self.waiting.pop(participant_id, None) is not None:
            return []
        gone = self.participants.pop(participant_id, None)
        if gone is None:
            return []
        if participant_id in self._hands:
            self._hands.remove(participant_id)
        events: list[ev.RoomEvent] = []
        now = self._clock()
        if self.spotlight == participant_id:
            self.spotlight = None
            events.append(ev.SpotlightChanged(at=now, participant_id=None, by=SERVER))
        events += self.end_screen(participant_id)
        events.append(ev.Left(at=gone.lost_at or now, participant_id=participant_id,
                              reason=reason))
        return events

    def set_reconnecting(self, participant_id: str, lost: bool) -> list[ev.RoomEvent]:
        """The server saw the connection drop (its place is held) or come back."""
        participant = self.participants.get(participant_id)
        if participant is None or participant.reconnecting == lost:
            return []
        now = self._clock()
        if lost:
            participant.lost_at = now
            return [ev.ConnectionLost(at=now, participant_id=participant_id)]
        since, participant.lost_at = participant.lost_at, None
        after = (now - since).total_seconds() if since is not None else 0.0
        return [ev.Reconnected(at=now, participant_id=participant_id, after_s=after)]

    def set_audio_only(self, actor: str, audio_only: bool) -> list[ev.RoomEvent]:
        """Anyone may stop receiving the wall (and take it back): it is their own link."""
        participant = self.get(actor)
        if participant.audio_only == audio_only:
            return []
        participant.audio_only = audio_only
        return [ev.AudioOnlyChanged(at=self._clock(), participant_id=actor,
                                    audio_only=audio_only)]

    def remove(self, actor: str, target: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.REMOVE)
        if target == actor:
            raise UserError("use leave to leave the room", code="cannot-remove-self")
        if target not in self.participants and target not in self.waiting:
            raise UserError(f"no participant {target!r} in this room", code="unknown-participant")
        removed = ev.Removed(at=self._clock(), participant_id=target, by=actor)
        return [removed, *self.leave(target, reason="removed")]

    def admit(self, actor: str, target: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.ADMIT)
        if target not in self.waiting:
            raise UserError(f"{target!r} is not waiting", code="not-waiting")
        return self._admit(target, actor)

    def admit_next(self, actor: str) -> tuple[str, list[ev.RoomEvent]]:
        check(self._role(actor), Action.ADMIT)
        if not self.waiting:
            raise UserError("nobody is waiting", code="nobody-waiting")
        target = next(iter(self.waiting))
        return target, self._admit(target, actor)

    def _admit(self, target: str, by: str) -> list[ev.RoomEvent]:
        participant = self.waiting.pop(target)
        self.participants[target] = participant
        now = self._clock()
        return [
            ev.Admitted(at=now, participant_id=target, by=by),
            ev.Joined(at=now, participant_id=target, role=participant.role),
            *self._take_back(participant),
        ]

    # -- state kept elsewhere (rooms/state.py) -------------------------------------

    def state(self) -> RoomState:
        """The hosts' settings and everyone's mutes and hands (places held included).

        Someone restored but not back yet keeps its part (and the spotlight, if it
        was on them) for the next state, so a second move loses nothing either.
        """
        here = {p.id: ParticipantState(self_muted=p.self_muted,
                                       moderator_muted=p.moderator_muted,
                                       hand_raised_at=p.hand_raised_at)
                for p in self.participants.values()}
        shown = self.presentation
        document = None
        if shown is not None and shown.kind is PresentationKind.DOCUMENT:
            document = DocumentState(presenter=shown.presenter, title=shown.title,
                                     files=tuple(page.path for page in shown.pages),
                                     page=shown.page)
        return RoomState(
            document=document,
            locked=self.locked,
            waiting_room=self.waiting_room,
            spotlight=self.spotlight if self.spotlight is not None else self._restored_spotlight,
            participants={**self._restored, **here},
        )

    def restore(self, state: RoomState) -> None:
        """Take ``state`` before anyone is here; each participant's part waits for it."""
        if self.participants or self.waiting:
            raise UserError("the room is live; its state is its own", code="room-live")
        self.locked = state.locked
        self.waiting_room = state.waiting_room
        self._restored = dict(state.participants)
        self._restored_spotlight = state.spotlight

    def _take_back(self, participant: Participant) -> list[ev.RoomEvent]:
        """A returning participant's mutes and hand, and the spotlight if it was on it."""
        kept = self._restored.pop(participant.id, None)
        if kept is None:
            return []
        now = self._clock()
        events: list[ev.RoomEvent] = []
        if participant.publishes:
            participant.self_muted = kept.self_muted
            participant.moderator_muted = kept.moderator_muted
            if participant.muted:
                events.append(ev.MuteChanged(at=now, participant_id=participant.id, muted=True,
                                             by=SERVER))
        if kept.hand_raised_at is not None and may(participant.role, Action.RAISE_HAND):
            participant.hand_raised_at = kept.hand_raised_at
            raised = [self.participants[key].hand_raised_at for key in self._hands]
            place = sum(1 for at in raised if at is not None and at <= kept.hand_raised_at)
            self._hands.insert(place, participant.id)
        if self._restored_spotlight == participant.id and participant.publishes:
            self._restored_spotlight = None
            events += self._set_spotlight(participant.id, SERVER)
        return events

    # -- hands and floor ----------------------------------------------------

    def raise_hand(self, actor: str) -> list[ev.RoomEvent]:
        participant = self.get(actor)
        check(participant.role, Action.RAISE_HAND)
        if participant.hand_raised_at is not None:
            return []
        participant.hand_raised_at = self._clock()
        self._hands.append(actor)
        return [ev.HandRaised(at=participant.hand_raised_at, participant_id=actor)]

    def lower_hand(self, actor: str, target: str | None = None) -> list[ev.RoomEvent]:
        target = actor if target is None else target
        check(self._role(actor), Action.RAISE_HAND if target == actor else Action.LOWER_HAND_OTHERS)
        return self._lower(self.get(target), actor)

    def _lower(self, participant: Participant, by: str) -> list[ev.RoomEvent]:
        if participant.hand_raised_at is None:
            return []
        participant.hand_raised_at = None
        self._hands.remove(participant.id)
        return [ev.HandLowered(at=self._clock(), participant_id=participant.id, by=by)]

    def give_floor(self, actor: str, target: str | None = None) -> tuple[str, list[ev.RoomEvent]]:
        """Spotlight and unmute ``target`` (default: the earliest raised hand)."""
        check(self._role(actor), Action.GIVE_FLOOR)
        if target is None:
            if not self._hands:
                raise UserError("no hands are raised", code="no-raised-hands")
            target = self._hands[0]
        participant = self._publisher(target)
        now = self._clock()
        events: list[ev.RoomEvent] = [ev.FloorGiven(at=now, participant_id=target, by=actor)]
        events += self._lower(participant, actor)
        if participant.muted:
            participant.self_muted = participant.moderator_muted = False
            events.append(ev.MuteChanged(at=now, participant_id=target, muted=False, by=actor))
        events += self._set_spotlight(target, actor)
        return target, events

    def spotlight_on(self, actor: str, target: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.SPOTLIGHT)
        self._publisher(target)
        return self._set_spotlight(target, actor)

    def clear_spotlight(self, actor: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.SPOTLIGHT)
        return self._set_spotlight(None, actor)

    def set_spotlight(self, target: str | None) -> list[ev.RoomEvent]:
        """The server's own spotlight, e.g. "now answering this site's question"."""
        if target is not None:
            self._publisher(target)
        return self._set_spotlight(target, SERVER)

    def _set_spotlight(self, target: str | None, by: str) -> list[ev.RoomEvent]:
        if self.spotlight == target:
            return []
        self.spotlight = target
        return [ev.SpotlightChanged(at=self._clock(), participant_id=target, by=by)]

    # -- microphones and cameras -------------------------------------------

    def mute(self, actor: str, target: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.MUTE_SELF if target == actor else Action.MUTE_OTHERS)
        participant = self._publisher(target)
        was_muted = participant.muted
        if target == actor:
            participant.self_muted = True
        else:
            participant.moderator_muted = True
        if was_muted:
            return []
        return [ev.MuteChanged(at=self._clock(), participant_id=target, muted=True, by=actor)]

    def unmute(self, actor: str, target: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.UNMUTE_SELF if target == actor else Action.UNMUTE_OTHERS)
        participant = self._publisher(target)
        if target == actor and participant.moderator_muted:
            raise NotAuthorisedError(
                "a moderator muted you; raise your hand to ask for the floor",
                code="muted-by-moderator",
            )
        if not participant.muted:
            return []
        participant.self_muted = participant.moderator_muted = False
        return [ev.MuteChanged(at=self._clock(), participant_id=target, muted=False, by=actor)]

    def set_camera(self, actor: str, on: bool) -> list[ev.RoomEvent]:
        participant = self.get(actor)
        check(participant.role, Action.CAMERA_SELF)
        if participant.camera_on == on:
            return []
        participant.camera_on = on
        return [ev.CameraChanged(at=self._clock(), participant_id=actor, camera_on=on)]

    def set_speaking(self, participant_id: str, speaking: bool) -> list[ev.RoomEvent]:
        participant = self.participants.get(participant_id)
        if participant is None or participant.speaking == speaking:
            return []
        participant.speaking = speaking
        now = self._clock()
        return [ev.SpeakingChanged(at=now, participant_id=participant_id, speaking=speaking)]

    # -- room settings --------------------------------------------------------

    def set_locked(self, actor: str, locked: bool) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.LOCK)
        if self.locked == locked:
            return []
        self.locked = locked
        return [ev.RoomSettingChanged(at=self._clock(), setting="locked", value=locked, by=actor)]

    def set_waiting_room(self, actor: str, enabled: bool) -> list[ev.RoomEvent]:
        """Turning the waiting room off admits everyone waiting, in arrival order."""
        check(self._role(actor), Action.SET_WAITING_ROOM)
        if self.waiting_room == enabled:
            return []
        self.waiting_room = enabled
        events: list[ev.RoomEvent] = [
            ev.RoomSettingChanged(at=self._clock(), setting="waiting_room", value=enabled, by=actor)
        ]
        if not enabled:
            for target in list(self.waiting):
                events += self._admit(target, actor)
        return events

    def check_record(self, actor: str) -> None:
        check(self._role(actor), Action.RECORD)

    def set_recording(self, recording: bool, by: str) -> list[ev.RoomEvent]:
        if self.recording == recording:
            return []
        self.recording = recording
        return [
            ev.RoomSettingChanged(at=self._clock(), setting="recording", value=recording, by=by)
        ]

    # -- presentations ----------------------------------------------------------

    def present_document(self, actor: str, document: Presentation) -> list[ev.RoomEvent]:
        """Put ``document`` on the wall in place of whatever was presented."""
        check(self._role(actor), Action.PRESENT)
        return self._set_presentation(replace(document, presenter=actor), actor)

    def restore_presentation(self, document: Presentation) -> list[ev.RoomEvent]:
        """The server's entry point: the document a room had before it moved, back on the
        wall in its presenter's name (who may not be back yet)."""
        return self._set_presentation(document, SERVER)

    def turn_page(self, actor: str, page: int) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.PRESENT)
        current = self.presentation
        if current is None or current.kind is not PresentationKind.DOCUMENT:
            raise UserError("no document is on the wall", code="no-document")
        check_page(page, len(current.pages))
        if page == current.page:
            return []
        return self._set_presentation(replace(current, page=page), actor)

    def stop_presentation(self, actor: str) -> list[ev.RoomEvent]:
        check(self._role(actor), Action.PRESENT)
        if self.presentation is None:
            raise UserError("nothing is being presented", code="not-presenting")
        return self._set_presentation(None, actor)

    def present_screen(self, actor: str) -> list[ev.RoomEvent]:
        """``actor``'s shared screen goes on the wall (its picture follows on its own)."""
        check(self._role(actor), Action.PRESENT)
        screen = Presentation(kind=PresentationKind.SCREEN, presenter=actor)
        return self._set_presentation(screen, actor)

    def end_screen(self, presenter: str) -> list[ev.RoomEvent]:
        """``presenter``'s screen connection ended: its share comes off the wall."""
        current = self.presentation
        if current is None or current.kind is not PresentationKind.SCREEN \
                or current.presenter != presenter:
            return []
        return self._set_presentation(None, SERVER)

    def _set_presentation(self, presentation: Presentation | None, by: str) -> list[ev.RoomEvent]:
        self.presentation = presentation
        p = presentation
        return [ev.PresentationChanged(
            at=self._clock(), presenting=None if p is None else str(p.kind),
            presenter=None if p is None else p.presenter, title="" if p is None else p.title,
            page=p.page if p is not None and p.pages else None,
            pages=len(p.pages) if p is not None and p.pages else None, by=by)]
