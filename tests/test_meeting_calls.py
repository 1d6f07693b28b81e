"""Which rooms a site is called into now: running meetings that named it, and sessions
whose room is open (recorded by the room jobs, else the computed window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.jobs import RoomWindow
from scheduling.occurrences import HolidayPolicy
from scheduling.planner import SessionStatus
from server.meetings.calls import Call, active_calls
from server.models import (
    Meeting,
    MeetingSite,
    Programme,
    ProgrammeSession,
    Site,
    UnitKind,
    User,
    meeting_room,
)

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def sites(db: AsyncSession) -> list[int]:
    return list(await db.scalars(select(Site.id).order_by(Site.id)))


async def add_session(db: AsyncSession, room: str, start: datetime = START,
                      minutes: int = 60) -> ProgrammeSession:
    programme = Programme(
        street_id=1, name="街道例会", room=room, rrule="FREQ=WEEKLY;BYDAY=TU",
        start_date=start.date(), start_time=start.time(), duration_minutes=minutes,
        timezone="Asia/Shanghai", holiday_policy=HolidayPolicy.SKIP,
        unit_kind=UnitKind.DEPARTMENT, weeks_ahead=1, active=True,
        rotation_anchor=start.date(), created_at=start, updated_at=start)
    db.add(programme)
    await db.flush()
    row = ProgrammeSession(
        programme_id=programme.id, nominal_date=start.date(), starts_at=start,
        ends_at=start + timedelta(minutes=minutes), cutoff_at=start - timedelta(days=1),
        department_id=None, status=SessionStatus.PLANNED, created_at=start, updated_at=start)
    db.add(row)
    await db.flush()
    return row


async def add_meeting(db: AsyncSession, title: str, site_ids: list[int],
                      at: datetime = START) -> Meeting:
    host = await db.scalar(select(User.id).where(User.username == "host"))
    assert host is not None
    meeting = Meeting(street_id=1, title=title, started_by_id=host, started_at=at)
    db.add(meeting)
    await db.flush()
    meeting.room = meeting_room(meeting.id)
    db.add_all([MeetingSite(meeting_id=meeting.id, site_id=s, called_at=at) for s in site_ids])
    await db.flush()
    return meeting


async def test_a_running_meeting_calls_the_sites_it_named_and_no_other(
        db_session: AsyncSession) -> None:
    first, second = (await sites(db_session))[:2]
    meeting = await add_meeting(db_session, "防汛紧急会议", [first])
    now = START + timedelta(minutes=5)
    assert await active_calls(db_session, first, now) == [Call(
        room=f"meeting-{meeting.id}", title="防汛紧急会议", kind="meeting",
        started_at=START, ends_at=None)]
    assert await active_calls(db_session, second, now) == []
    meeting.ended_at = now
    await db_session.flush()
    assert await active_calls(db_session, first, now + timedelta(minutes=1)) == []


async def test_a_session_calls_every_site_while_its_room_is_open(
        db_session: AsyncSession) -> None:
    site = (await sites(db_session))[-1]
    row = await add_session(db_session, "hall")
    session_call = Call(room="hall", title="街道例会", kind="session",
                        started_at=START - timedelta(minutes=15),
                        ends_at=START + timedelta(hours=1))
    assert await active_calls(db_session, site, START - timedelta(minutes=16)) == []
    assert await active_calls(db_session, site, START - timedelta(minutes=15)) == [session_call]
    assert await active_calls(db_session, site, START + timedelta(minutes=74)) == [session_call]
    assert await active_calls(db_session, site, START + timedelta(minutes=75)) == []
    # A longer lead from the settings opens it earlier.
    window = RoomWindow(open_before=timedelta(minutes=30))
    assert [c.started_at for c in await active_calls(
        db_session, site, START - timedelta(minutes=20), window=window)] == [
        START - timedelta(minutes=30)]
    # What the room jobs recorded wins over the computed window.
    row.room_opened_at = START - timedelta(minutes=14)
    row.room_closed_at = START + timedelta(minutes=70)
    await db_session.flush()
    assert await active_calls(db_session, site, START - timedelta(minutes=15)) == []
    assert [c.started_at for c in await active_calls(db_session, site, START)] == [
        START - timedelta(minutes=14)]
    assert await active_calls(db_session, site, START + timedelta(minutes=70)) == []
    # A cancelled session calls no one.
    row.room_closed_at = None
    row.status = SessionStatus.CANCELLED
    await db_session.flush()
    assert await active_calls(db_session, site, START) == []


async def test_meetings_come_before_sessions_and_unknown_sites_get_nothing(
        db_session: AsyncSession) -> None:
    site = (await sites(db_session))[0]
    await add_session(db_session, "hall")
    meeting = await add_meeting(db_session, "临时会议", [site], at=START - timedelta(minutes=3))
    calls = await active_calls(db_session, site, START)
    assert [(c.kind, c.room) for c in calls] == [("meeting", meeting.room), ("session", "hall")]
    assert await active_calls(db_session, 999_999, START) == []
