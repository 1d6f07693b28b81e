"""Ad-hoc meetings ("召集各站点"): the host calls all or some sites into a room now.

Starting one records the meeting and the sites it called, opens its room
(``meeting-<id>``: entering it is allowed while the meeting runs) and tells the called
sites through the inbox and the outbox with a link straight into the room. Ending it
records when, and the edge then closes the live room (everyone is dismissed). Who came
is read from the room's attendance rows during the meeting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from server.accounts.directory import Actor, the_street
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Conflict, NotFound, ValidationFailed
from server.core.fields import FieldReader, parse_id
from server.models import Meeting, MeetingSite, Site, User, meeting_room
from server.notify import inbox
from server.notify.notices import Notice, deliver

MAX_TITLE = 100
ALL_SITES, SOME_SITES = "all", "some"


@dataclass(frozen=True, kw_only=True)
class StartMeeting:
    title: str
    site_ids: tuple[int, ...] | None  # None: every active site of the street

    @classmethod
    def from_fields(cls, data: Mapping[str, object],
                    site_ids: Sequence[object]) -> StartMeeting:
        """``site_ids``: every value the form sent for ``site_ids`` (checkboxes)."""
        form = FieldReader(data)
        title = form.line("title", max_len=MAX_TITLE)
        scope = str(data.get("scope", ALL_SITES) or ALL_SITES)
        chosen: tuple[int, ...] | None = None
        if scope == SOME_SITES:
            ids = [parse_id(raw) for raw in site_ids]
            if any(i is None for i in ids):
                form.fail("site_ids", N_("Choose sites from the list."))
            chosen = tuple(sorted({i for i in ids if i is not None}))
            if not chosen:
                form.fail("site_ids", N_("Choose at least one site."))
        elif scope != ALL_SITES:
            form.fail("scope", N_("Choose one of the options."))
        form.check()
        return cls(title=title, site_ids=chosen)


async def start_meeting(db: AsyncSession, command: StartMeeting, *, actor: Actor,
                        clock: Clock) -> tuple[Meeting, Notice | None]:
    """Record the meeting and whom it called; tell the called sites."""
    now = utc(clock())
    street = await the_street(db)
    active = {s.id: s for s in await db.scalars(
        select(Site).where(Site.street_id == street.id, Site.active))}
    if command.site_ids is None:
        called = sorted(active)
    else:
        unknown = [i for i in command.site_ids if i not in active]
        if unknown:
            raise ValidationFailed("Please correct the marked fields.", field_errors={
                "site_ids": N_("Choose sites from the list.")})
        called = list(command.site_ids)
    if not called:
        raise Conflict("There is no site to call.")
    meeting = Meeting(street_id=street.id, title=command.title, started_by_id=actor.user_id,
                      started_at=now)
    db.add(meeting)
    await db.flush()
    meeting.room = meeting_room(meeting.id)
    db.add_all([MeetingSite(meeting_id=meeting.id, site_id=i, called_at=now) for i in called])
    audit.record(db, at=now, actor_id=actor.user_id, action="meeting.start",
                 target_type="meeting", target_id=meeting.id,
                 changes={"title": [None, command.title], "sites": [None, called]})
    await db.flush()
    users = await inbox.recipients(db, site_ids=called)
    notice = await deliver(db, users, inbox.Message(
        kind="meeting.called", title=N_("The street office calls you into a meeting: %(title)s"),
        params={"title": command.title}, link=f"/rooms/{meeting.room}",
        dedupe_key=f"meeting:{meeting.id}:called"), clock=clock)
    return meeting, notice


async def end_meeting(db: AsyncSession, meeting_id: int, *, actor: Actor,
                      clock: Clock) -> Meeting:
    """Record the end; the caller closes the live room after the commit."""
    meeting = await db.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("Not found.")
    if meeting.ended_at is not None:
        raise Conflict("This meeting has already ended.")
    now = utc(clock())
    meeting.ended_at, meeting.ended_by_id = now, actor.user_id
    audit.record(db, at=now, actor_id=actor.user_id, action="meeting.end",
                 target_type="meeting", target_id=meeting.id,
                 changes={"ended_at": [None, now.isoformat()]})
    await db.flush()
    return meeting


@dataclass(frozen=True, kw_only=True, slots=True)
class CalledSite:
    site_id: int
    name: str
    called_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class MeetingView:
    id: int
    title: str
    room: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    called: tuple[CalledSite, ...]

    @property
    def running(self) -> bool:
        return self.ended_at is None


async def meeting_view(db: AsyncSession, meeting_id: int) -> MeetingView:

    meeting = await db.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("Not found.")
    starter = await db.get(User, meeting.started_by_id)
    rows = (await db.execute(
        select(MeetingSite, Site).join(Site, Site.id == MeetingSite.site_id)
        .where(MeetingSite.meeting_id == meeting.id)
        .order_by(Site.position, Site.id))).all()
    return MeetingView(
        id=meeting.id, title=meeting.title, room=meeting.room,
        started_by=starter.display_name if starter else "—",
        started_at=meeting.started_at, ended_at=meeting.ended_at,
        called=tuple(CalledSite(site_id=s.id, name=s.display_name or s.name,
                                called_at=ms.called_at) for ms, s in rows))


async def recent_meetings(db: AsyncSession, limit: int = 20) -> list[Meeting]:
    """Running meetings first, then the latest ended ones."""
    rows = await db.scalars(select(Meeting).order_by(
        Meeting.ended_at.is_not(None), Meeting.started_at.desc(), Meeting.id.desc())
        .limit(limit))
    return list(rows)
