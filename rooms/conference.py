"""A live room: the moderation state, the wall, the mix and everyone's connection.

:class:`~rooms.room.Room` decides what may happen; this class makes it
happen: it turns room events into media changes (mutes reach the mixer,
layouts the wall), server hooks, recording index entries and notices to
clients (:mod:`rooms.protocol.announcer` decides who is told what, and when).

A participant whose connection drops without ``leave`` keeps its place for
``reconnect_hold`` seconds: its tile (marked ``reconnecting``), its raised
hand, its mutes. A connection with the same key within that time takes the
place back; otherwise the participant leaves, as of the moment it was lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCConfiguration

from rooms import events as ev
from rooms.chat import Audience, ChatLog, ChatMessage
from rooms.config import RoomConfig
from rooms.errors import ProtocolError, UserError
from rooms.hooks import Clock, HookDispatcher
from rooms.identity import ParticipantIdentity
from rooms.media.mixer import AudioMixer
from rooms.media.peer import Peer
from rooms.media.presentation import (
    DOCUMENT_KEY,
    SCREEN_KEY,
    Page,
    PresentationKind,
    document,
    load_page,
)
from rooms.media.recorder import Recorder, RecordingInfo
from rooms.media.wall import Wall
from rooms.member import Member, Outbox, ScreenSource
from rooms.permissions import Action, check, may
from rooms.protocol import messages as msg
from rooms.protocol import notices as nt
from rooms.protocol.announcer import Announcer
from rooms.protocol.snapshot import presentation_state, state_notices
from rooms.room import SERVER, JoinOutcome, Room

logger = logging.getLogger(__name__)

class Conference:
    def __init__(
        self,
        room_id: str,
        *,
        config: RoomConfig,
        hooks: HookDispatcher,
        clock: Clock,
        on_empty: Callable[[Conference], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room_id = room_id
        self.config = config
        self._hooks = hooks
        self._clock = clock
        self._on_empty = on_empty
        self._monotonic = monotonic
        self.room = Room(
            room_id,
            clock=clock,
            max_participants=config.max_participants,
            waiting_room=config.waiting_room,
        )
        self.origin = monotonic()
        self.wall = Wall(config.wall, origin=self.origin, monotonic=monotonic)
        self.mixer = AudioMixer(
            config.audio, origin=self.origin, on_speaking=self._speaking, monotonic=monotonic
        )
        self._ice = RTCConfiguration(iceServers=list(config.ice_servers))
        self._members: dict[str, Member] = {}
        self._identities: dict[str, ParticipantIdentity] = {}
        self._announcer = Announcer(room_id)
        self.chat = ChatLog(clock=clock, monotonic=monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorder: Recorder | None = None
        self.screen: ScreenSource | None = None
        self._shown_pages: tuple[Page, ...] = ()  # the document whose page the wall holds
        self._page_loads = 0  # a page load overtaken by a newer one shows nothing
        self.closed = False

    # -- arrivals and departures ----------------------------------------------

    def knows(self, key: str) -> bool:
        """Whether ``key`` has a place here (in the room, waiting, or held for it)."""
        return key in self._members

    def join(self, identity: ParticipantIdentity, outbox: Outbox) -> Member:
        """Enter the room or its waiting room; a known key takes over the old connection."""
        if self.closed:
            raise UserError("the room is closing; try again", code="room-closed")
        member = Member(identity=identity, outbox=outbox)
        old = self._members.get(identity.key)
        if old is not None:
            participant = self.room.participants.get(identity.key) or self.room.waiting[
                identity.key
            ]
            participant.identity = identity
            member.admitted = old.admitted
            self._members[identity.key] = member
            self._identities[identity.key] = identity
            self._dismiss(old, "replaced")
            if member.admitted:
                self._welcome(member)
            else:
                outbox.send(nt.WaitingNotice(room_id=self.room_id))
            self._apply(self.room.set_reconnecting(identity.key, False))
            return member
        outcome, events = self.room.join(identity)
        self._members[identity.key] = member
        self._identities[identity.key] = identity
        self.wall.start()
        self.mixer.start()
        if outcome is JoinOutcome.WAITING:
            outbox.send(nt.WaitingNotice(room_id=self.room_id))
        self._apply(events)
        return member

    async def leave(self, member: Member) -> None:
        """The member's connection ended (``leave``, socket closed, or dismissed).

        The room's state is updated before the first ``await``, so a caller
        cancelled halfway (a socket handler at shutdown) leaves no ghost.
        """
        member.gone = True
        member.stop_holding()
        if self._members.get(member.id) is member:
            del self._members[member.id]
            self._apply(self.room.leave(member.id))
            if not member.admitted:
                self._identities.pop(member.id, None)
        closing = self._close_peer(member)
        if not self._members and not self.closed:
            self._on_empty(self)
        if closing is not None:
            await asyncio.shield(closing)

    async def disconnect(self, member: Member) -> None:
        """The member's connection ended without ``leave``: hold its place for a while."""
        hold = self.config.reconnect_hold
        if member.gone or self._members.get(member.id) is not member or not member.admitted \
                or hold <= 0 or self.closed:
            await self.leave(member)
            return
        member.gone = True
        member.expiry = asyncio.get_running_loop().call_later(hold, self._expire, member)
        self._apply(self.room.set_reconnecting(member.id, True))
        closing = self._close_peer(member)
        if closing is not None:
            await asyncio.shield(closing)

    def _expire(self, member: Member) -> None:
        """Nobody came back for the held place: the participant left when it was lost."""
        member.expiry = None
        if self._members.get(member.id) is not member:
            return
        del self._members[member.id]
        self._apply(self.room.leave(member.id, reason="connection-lost"))
        if not self._members and not self.closed:
            self._on_empty(self)

    def _dismiss(self, member: Member, reason: str) -> None:
        member.stop_holding()
        member.gone = True
        member.outbox.send(nt.RemovedNotice(reason=reason))
        member.outbox.close()
        self._close_peer(member)

    def _close_peer(self, member: Member) -> asyncio.Task[None] | None:
        """Start closing the member's peer in a task that ``close`` will wait for."""
        peer, member.peer = member.peer, None
        return None if peer is None else self._spawn(peer.close())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- media negotiation ---------------------------------------------------------

    async def offer(self, member: Member, sdp: str) -> str:
        if member.peer is not None and member.peer.state not in ("failed", "closed"):
            raise UserError(
                "media already negotiated; reconnect to renegotiate", code="already-negotiated"
            )
        closing = self._close_peer(member)
        if closing is not None:
            await closing
        publish = may(member.identity.role, Action.PUBLISH)
        participant = self.room.participants.get(member.id)
        peer = Peer(
            member.id,
            publish=publish,
            wall=self.wall,
            mixer=self.mixer,
            configuration=self._ice,
            on_state=lambda state: self._peer_state(member, peer, state),
            audio_only=participant is not None and participant.audio_only,
        )
        member.peer = peer
        try:
            answer = await peer.answer(sdp)
        except BaseException:
            member.peer = None
            await peer.close()
            raise
        if member.gone:
            closing = self._close_peer(member)
            if closing is not None:
                await closing
            raise UserError("you left the room", code="gone")
        return answer

    def _peer_state(self, member: Member, peer: Peer, state: str) -> None:
        if state == "failed" and member.peer is peer and not member.gone:
            member.outbox.send(
                nt.ErrorNotice(
                    code="media-failed",
                    message="the media connection failed; send a new offer",
                    request=None,
                )
            )
            self._spawn(peer.close())

    async def ice(self, member: Member, message: msg.Ice) -> None:
        if member.peer is None:
            raise ProtocolError("send an offer before ICE candidates", code="out-of-order")
        await member.peer.add_ice_candidate(message)

    # -- moderation ----------------------------------------------------------------

    def act(self, member: Member, message: msg.ClientMessage) -> None:
        """Carry out a room action for ``member``; raises and changes nothing if refused."""
        actor = member.id
        room = self.room
        events: list[ev.RoomEvent]
        match message:
            case msg.RaiseHand():
                events = room.raise_hand(actor)
            case msg.LowerHand(participant_id=target):
                events = room.lower_hand(actor, target)
            case msg.Mute(participant_id=target):
                events = room.mute(actor, target or actor)
            case msg.Unmute(participant_id=target):
                events = room.unmute(actor, target or actor)
            case msg.Camera(on=on):
                events = room.set_camera(actor, on)
            case msg.Spotlight(participant_id=target):
                events = room.spotlight_on(actor, target)
            case msg.ClearSpotlight():
                events = room.clear_spotlight(actor)
            case msg.GiveFloor(participant_id=target):
                _, events = room.give_floor(actor, target)
            case msg.Remove(participant_id=target):
                events = room.remove(actor, target)
            case msg.Lock():
                events = room.set_locked(actor, True)
            case msg.Unlock():
                events = room.set_locked(actor, False)
            case msg.Admit(participant_id=target):
                events = room.admit(actor, target)
            case msg.AdmitNext():
                _, events = room.admit_next(actor)
            case msg.SetWaitingRoom(enabled=enabled):
                events = room.set_waiting_room(actor, enabled)
            case msg.AudioOnly(enabled=enabled):
                events = room.set_audio_only(actor, enabled)
            case msg.StartRecording():
                room.check_record(actor)
                self.start_recording(by=actor)
                return
            case msg.StopRecording():
                room.check_record(actor)
                self.stop_recording(by=actor)
                return
            case msg.Chat(text=text, to=to):
                self._chat(member, text, Audience(to))
                return
            case msg.DeleteChat(id=message_id):
                self._delete_chat(member, message_id)
                return
            case msg.DocumentPage(page=page):
                events = room.turn_page(actor, page)
            case msg.StopPresentation():
                events = room.stop_presentation(actor)
            case msg.ShareScreen():
                raise ProtocolError("share_screen opens a second connection of its own; "
                                    "see docs/protocol.md", code="out-of-order")
            case _:
                raise ProtocolError(f"{message.type} is not a room action")
        self._apply(events)

    def set_spotlight(self, participant_id: str | None) -> None:
        """The server's spotlight ("now answering this site's question"); ``None``: grid."""
        self._apply(self.room.set_spotlight(participant_id))

    def add_marker(self, label: str, data: dict[str, Any] | None = None) -> ev.Marker:
        """Note something on the timeline: to the hooks, and to the recording index."""
        if self.recorder is not None:
            marker = self.recorder.add_marker(label, data)
        else:
            marker = ev.Marker(at=self._clock(), label=label, data=dict(data or {}))
        self._hooks.event(self.room_id, marker)
        return marker

    # -- chat ----------------------------------------------------------------------

    def _welcome(self, member: Member) -> None:
        """The welcome, and the chat so far (what this member may read)."""
        self._announcer.welcome(member)
        member.outbox.send(nt.ChatHistoryNotice(messages=tuple(
            _chat_notice(m).to_dict() for m in self.chat.history(member.identity))))

    def _chat(self, member: Member, text: str, audience: Audience) -> None:
        identity = member.identity
        check(identity.role, Action.CHAT if audience is Audience.ALL else Action.CHAT_HOSTS)
        message = self.chat.post(identity, text, audience)
        notice = _chat_notice(message)
        self._announcer.broadcast(
            (m for m in self._members.values() if message.readable_by(m.identity)), notice)
        # Straight to the hooks, not through _apply: chat stays out of the recording index
        # (a deleted message must not live on in it).
        self._hooks.event(self.room_id, ev.ChatPosted(
            at=message.sent_at, message_id=message.id, participant_id=identity.key,
            display_name=identity.display_name, role=str(identity.role),
            sender_tags=tuple(sorted(identity.tags)), audience=str(audience),
            text=message.text))

    def _delete_chat(self, member: Member, message_id: str) -> None:
        check(member.identity.role, Action.DELETE_CHAT)
        message = self.chat.delete(message_id)
        self._announcer.broadcast(
            (m for m in self._members.values() if message.readable_by(m.identity)),
            nt.ChatDeletedNotice(id=message.id, by=member.id))
        self._hooks.event(self.room_id, ev.ChatDeleted(
            at=self._clock(), message_id=message.id, by=member.id,
            by_tags=tuple(sorted(member.identity.tags))))

    # -- presentations --------------------------------------------------------------

    def present_document(self, presenter: str, title: str, pages: list[str], page: int = 1) -> None:
        """``presenter`` puts a document (its pages rendered as PNG files) on the wall."""
        self.room.get(presenter)
        self._apply(self.room.present_document(presenter, document(presenter, title, pages, page)))

    def restore_document(self, presenter: str, title: str, pages: list[str], page: int) -> None:
        """The document the room showed before it moved here (its files on the shared store)."""
        self._apply(self.room.restore_presentation(document(presenter, title, pages, page)))

    def share_screen(self, identity: ParticipantIdentity, outbox: Outbox) -> ScreenSource:
        """A participant's second connection offers its screen; it replaces any presentation."""
        if self.closed:
            raise UserError("the room is closing; try again", code="room-closed")
        member = self._members.get(identity.key)
        if member is None or not member.admitted or member.gone:
            raise UserError("join the room with your main connection first", code="not-in-room")
        events = self.room.present_screen(identity.key)
        source = ScreenSource(identity=identity, outbox=outbox)
        old, self.screen = self.screen, source
        if old is not None:
            self._dismiss_screen(old, "replaced")
        self._apply(events)
        return source

    async def screen_offer(self, source: ScreenSource, sdp: str) -> str:
        if source.peer is not None:
            raise UserError("media already negotiated; share again to renegotiate",
                            code="already-negotiated")
        peer = Peer(
            source.id, publish=True, wall=self.wall, mixer=self.mixer, configuration=self._ice,
            on_state=lambda state: self._screen_state(source, peer, state), screen=SCREEN_KEY,
        )
        source.peer = peer
        try:
            answer = await peer.answer(sdp)
        except BaseException:
            source.peer = None
            await peer.close()
            raise
        if source.gone:
            source.peer = None
            await peer.close()
            raise UserError("the screen share ended", code="gone")
        return answer

    async def screen_ice(self, source: ScreenSource, message: msg.Ice) -> None:
        if source.peer is None:
            raise ProtocolError("send an offer before ICE candidates", code="out-of-order")
        await source.peer.add_ice_candidate(message)

    def _screen_state(self, source: ScreenSource, peer: Peer, state: str) -> None:
        if state == "failed" and source.peer is peer and not source.gone:
            self._stop_screen(source, "media-failed")

    async def end_screen(self, source: ScreenSource) -> None:
        """The screen connection ended: the share comes off the wall."""
        closing = self._stop_screen(source, None)
        if closing is not None:
            await asyncio.shield(closing)

    def _stop_screen(self, source: ScreenSource, reason: str | None) -> asyncio.Task[None] | None:
        current = self.screen is source
        closing = None if source.gone else self._dismiss_screen(source, reason)
        if current:
            self._apply(self.room.end_screen(source.id))
        return closing

    def _dismiss_screen(
        self, source: ScreenSource, reason: str | None
    ) -> asyncio.Task[None] | None:
        if self.screen is source:
            self.screen = None
            self.wall.detach(SCREEN_KEY)
        source.gone = True
        if reason is not None:
            source.outbox.send(nt.RemovedNotice(reason=reason))
        source.outbox.close()
        peer, source.peer = source.peer, None
        return None if peer is None else self._spawn(peer.close())

    def _presentation_changed(self) -> None:
        """Bring the wall's presentation picture in line with the room's state."""
        current = self.room.presentation
        screen = self.screen
        if screen is not None and (current is None or current.kind is not PresentationKind.SCREEN
                                   or current.presenter != screen.id):
            self._dismiss_screen(screen, "presentation-ended")
        page = current.current if current is not None else None
        if page is None or current is None or current.pages != self._shown_pages:
            self.wall.hide(DOCUMENT_KEY)
            self._shown_pages = () if current is None else current.pages
        if page is not None:
            self._page_loads += 1
            self._spawn(self._show_page(page, self._page_loads))

    async def _show_page(self, page: Page, ticket: int) -> None:
        try:
            frame = await asyncio.to_thread(load_page, page)
        except Exception:
            logger.exception("room %s: the page %s could not be shown", self.room_id, page.path)
            return
        current = self.room.presentation
        if ticket == self._page_loads and current is not None and current.current == page:
            self.wall.show(DOCUMENT_KEY, frame)

    def presentation(self) -> dict[str, Any] | None:
        """What is presented, for a server that keeps room state elsewhere (with the files)."""
        current, state = self.room.presentation, presentation_state(self.room)
        if current is None or state is None:
            return None
        return {**state, "files": [page.path for page in current.pages]}

    # -- recording -----------------------------------------------------------------

    def start_recording(self, *, by: str = SERVER) -> Recorder:
        if self.config.recordings_dir is None:
            raise UserError("recording is not enabled on this server", code="recording-disabled")
        if self.recorder is not None:
            raise UserError("already recording", code="already-recording")
        settings = self.config.wall
        self.recorder = Recorder(
            self.config.recordings_dir,
            self.room_id,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            clock=self._clock,
            monotonic=self._monotonic,
            origin=self.origin,
        )
        self.wall.add_listener(self.recorder.add_video)
        self.mixer.add_listener(self.recorder.add_audio)
        self._apply(self.room.set_recording(True, by))
        return self.recorder

    def stop_recording(self, *, by: str = SERVER) -> RecordingInfo:
        recorder = self.recorder
        if recorder is None:
            raise UserError("not recording", code="not-recording")
        self.wall.remove_listener(recorder.add_video)
        self.mixer.remove_listener(recorder.add_audio)
        self._apply(self.room.set_recording(False, by))
        self.recorder = None
        info = recorder.close()
        self._hooks.event(self.room_id, ev.RecordingSaved(
            at=self._clock(), file=info.path.name, index_file=info.index_path.name,
            started_at=info.started_at, duration=round(info.duration, 3)))
        return info

    # -- events and notices ---------------------------------------------------------

    def _speaking(self, participant_id: str, speaking: bool) -> None:
        self._apply(self.room.set_speaking(participant_id, speaking))

    def _apply(self, events: list[ev.RoomEvent]) -> None:
        for event in events:
            if self.recorder is not None:
                self.recorder.add_event(event)
            match event:
                case ev.Joined(participant_id=pid):
                    self._hooks.joined(self.room_id, self._identities[pid], event.at)
                    member = self._members.get(pid)
                    if member is not None:
                        member.admitted = True
                        self._welcome(member)
                case ev.Left(participant_id=pid):
                    identity = self._identities.pop(pid, None)
                    self.mixer.set_muted(pid, False)
                    if identity is not None:
                        self._hooks.left(self.room_id, identity, event.at)
                case ev.Admitted(participant_id=pid):
                    admitted = self._members.get(pid)
                    if admitted is not None:
                        admitted.outbox.send(nt.AdmittedNotice(room_id=self.room_id))
                case ev.Removed(participant_id=pid):
                    removed = self._members.pop(pid, None)
                    if removed is not None:
                        self._dismiss(removed, "removed")
                        if not removed.admitted:  # never joined: no Left follows
                            self._identities.pop(pid, None)
                case ev.MuteChanged(participant_id=pid, muted=muted):
                    self.mixer.set_muted(pid, muted)
                case ev.AudioOnlyChanged(participant_id=pid, audio_only=audio_only):
                    listener = self._members.get(pid)
                    if listener is not None and listener.peer is not None:
                        listener.peer.set_audio_only(audio_only)
                case ev.PresentationChanged():
                    self._presentation_changed()
                case ev.SpeakingChanged(participant_id=pid, speaking=speaking):
                    self._announcer.broadcast(
                        self._members.values(),
                        nt.SpeakingNotice(participant_id=pid, speaking=speaking))
                case _:
                    pass
            self._hooks.event(self.room_id, event)
        self._publish()

    def _publish(self) -> None:
        """Lay the wall out as the room stands, and tell the clients what changed."""
        settings = self.config.wall
        layout = self.room.layout(settings.width, settings.height)
        presenting = self.room.presentation
        self.wall.set_layout(layout, None if presenting is None else presenting.key)
        self._announcer.publish(self._members.values(), state_notices(self.room, layout))

    # -- life cycle -----------------------------------------------------------------

    async def close(self) -> None:
        """Dismiss everyone and stop the media; the registry calls this."""
        if self.closed:
            return
        self.closed = True
        if self.recorder is not None:
            self.stop_recording()
        if self.screen is not None:
            self._dismiss_screen(self.screen, "room-closed")
        for member in list(self._members.values()):
            del self._members[member.id]
            self._apply(self.room.leave(member.id, reason="room-closed"))  # hooks see them go
            self._dismiss(member, "room-closed")
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.wall.close()
        await self.mixer.close()

    def stats(self) -> dict[str, Any]:
        return {
            "room_id": self.room_id,
            "participants": len(self.room.participants),
            "waiting": len(self.room.waiting),
            "publishers": len(self.room.publishers()),
            "reconnecting": sum(p.reconnecting for p in self.room.participants.values()),
            "recording": self.recorder is not None,
            **self.wall.stats(),
            **self.mixer.stats(),
        }


def _chat_notice(message: ChatMessage) -> nt.ChatNotice:
    sender = message.sender
    return nt.ChatNotice(
        id=message.id, sender_id=sender.key, display_name=sender.display_name,
        role=str(sender.role), to=str(message.audience), text=message.text,
        sent_at=message.sent_at.isoformat())
