"""Shared pieces of the schedule tests: the demo programmes, form data, look-ups."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import Actor
from server.demo.programmes import DUTY_STATION, LEGAL_DAY
from server.models import Notification, Programme, ProgrammeSession, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
COURT, PROCURATORATE, POLICE, JUSTICE = 1, 2, 3, 4  # demo department ids, in seeding order

GOOD_PROGRAMME = {
    "name": "周二调解日", "room": "mediation", "pattern": "weekly", "weekday": "1", "nth": "1",
    "month_day": "1", "start_time": "15:00", "duration_minutes": "60",
    "timezone": "Asia/Shanghai", "start_date": "2026-11-23", "end_date": "",
    "holiday_policy": "next_workday", "cutoff_hours": "24", "unit_kind": "department",
    "weeks_ahead": "8", "active": "on",
}


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def programme_named(db: AsyncSession, name: str) -> Programme:
    programme = await db.scalar(select(Programme).where(Programme.name == name))
    assert programme is not None, name
    return programme


async def legal_day(db: AsyncSession) -> Programme:
    return await programme_named(db, LEGAL_DAY)


async def duty_station(db: AsyncSession) -> Programme:
    return await programme_named(db, DUTY_STATION)


async def sessions_of(db: AsyncSession, programme_id: int) -> list[ProgrammeSession]:
    rows = await db.scalars(select(ProgrammeSession)
                            .where(ProgrammeSession.programme_id == programme_id)
                            .order_by(ProgrammeSession.nominal_date)
                            .execution_options(populate_existing=True))
    return list(rows)


async def user_id(db: AsyncSession, username: str) -> int:
    ident = await db.scalar(select(User.id).where(User.username == username))
    assert ident is not None, username
    return ident


async def actor(db: AsyncSession, username: str = "admin") -> Actor:
    return Actor(await user_id(db, username))


async def inbox_keys(db: AsyncSession, username: str) -> list[str]:
    """Dedupe keys of the user's messages, oldest first."""
    uid = await user_id(db, username)
    rows = await db.scalars(select(Notification.dedupe_key)
                            .where(Notification.recipient_id == uid)
                            .order_by(Notification.id))
    return [key or "" for key in rows]


def duty(rows: list[ProgrammeSession]) -> dict[str, int | None]:
    """{nominal date: unit} of the sessions that take place."""
    return {r.nominal_date.isoformat(): r.unit_id for r in rows if r.status.value == "planned"}
