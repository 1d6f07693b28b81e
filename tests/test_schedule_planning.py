"""Programmes, rotations and the materialised sessions, at the use-case level (both DBs)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.planner import SessionStatus
from server.accounts import directory
from server.core.errors import Conflict, ValidationFailed
from server.models import Department, Programme
from server.schedule import programme_sessions as sessions
from server.schedule import programmes, workdays
from server.schedule.planning import replan, replan_all
from tests.conftest import MutableClock
from tests.support.schedule import (
    COURT,
    GOOD_PROGRAMME,
    JUSTICE,
    POLICE,
    PROCURATORATE,
    actor,
    duty,
    duty_station,
    inbox_keys,
    legal_day,
    sessions_of,
    sh,
    utc,
)

DAY_RANGE = "Enter a date between 1970-01-01 and 2099-12-31."


def command_of(programme: Programme, **changes: str) -> programmes.ProgrammeCommand:
    """The programme's form as the page shows it, with `changes`, parsed."""
    values = programmes.form_values(programme, today=date(2026, 11, 23))
    values.update(changes)
    return programmes.ProgrammeCommand.from_fields(values)


def programme_command(**changes: str) -> programmes.ProgrammeCommand:
    return programmes.ProgrammeCommand.from_fields({**GOOD_PROGRAMME, **changes})


def rotation(**fields: str) -> programmes.RotationCommand:
    return programmes.RotationCommand.from_fields(fields)


def cancel(reason: str, *, version: str) -> sessions.CancelSession:
    return sessions.CancelSession.from_fields({"reason": reason, "version": version})


def workday_entry(day: str, kind: str, name: str, *,
                  source_notice: str = "") -> workdays.WorkdayEntry:
    return workdays.WorkdayEntry.from_fields(
        {"day": day, "kind": kind, "name": name, "source_notice": source_notice})


async def test_demo_programmes_are_planned_with_their_rotations(db_session: AsyncSession) -> None:
    legal = await legal_day(db_session)
    rows = await sessions_of(db_session, legal.id)
    # Thursdays 09:30-10:30 Shanghai from the seeding Monday, 12 weeks ahead.
    assert [r.nominal_date for r in rows] == [date(2026, 11, 26) + timedelta(weeks=i)
                                              for i in range(12)]
    first = rows[0]
    assert (first.starts_at, first.ends_at, first.cutoff_at) == (
        sh(2026, 11, 26, 9, 30), sh(2026, 11, 26, 10, 30), sh(2026, 11, 25, 9, 30))
    assert [r.department_id for r in rows[:5]] == [COURT, PROCURATORATE, POLICE, JUSTICE, COURT]
    assert {(r.status, r.sequence, r.pinned, r.deputy_id) for r in rows} == {
        (SessionStatus.PLANNED, 0, False, None)}
    duty_rows = await sessions_of(db_session, (await duty_station(db_session)).id)
    assert [(r.nominal_date, r.deputy_id) for r in duty_rows] == [
        (date(2026, 12, 2), 1), (date(2027, 1, 6), 2), (date(2027, 2, 3), 3),
        (date(2027, 3, 3), 4), (date(2027, 4, 7), 5), (date(2027, 5, 5), 6)]
    assert duty_rows[0].starts_at == sh(2026, 12, 2, 14, 30)
    assert duty_rows[0].ends_at == sh(2026, 12, 2, 16, 30)


@pytest.mark.parametrize(("changes", "errors"), [
    ({"pattern": "yearly"}, {"pattern": "Choose one of the options."}),
    ({"weekday": "7"}, {"weekday": "Out of range."}),
    ({"pattern": "monthly_weekday", "nth": "0"}, {"nth": "Choose one of the options."}),
    ({"pattern": "monthly_day", "month_day": "32"}, {"month_day": "Out of range."}),
    ({"start_time": "25:00", "duration_minutes": "0"},
     {"start_time": "Enter a time as HH:MM.", "duration_minutes": "Out of range."}),
    ({"timezone": "Mars/Olympus"}, {"timezone": "Unknown time zone."}),
    ({"timezone": "UTC+8"}, {"timezone": "Unknown time zone."}),
    ({"end_date": "2026-11-01"}, {"end_date": "The end date is before the start date."}),
    ({"start_date": "2032-01-05"}, {"start_date": "Too far in the future."}),
    ({"end_date": "2040-12-31"}, {"end_date": "Too far in the future."}),
    ({"start_date": "9999-12-30"}, {"start_date": DAY_RANGE}),
    ({"start_date": "0001-01-01"}, {"start_date": DAY_RANGE}),
    ({"start_date": "2026-02-30"}, {"start_date": DAY_RANGE}),
    ({"start_date": "1999-12-31"}, {"start_date": "Out of range."}),
    ({"room": "Legal Room!", "weeks_ahead": "1000"},
     {"room": "Use lower-case letters, digits, '-' and '_' (at most 32).",
      "weeks_ahead": "Out of range."}),
])
async def test_invalid_recurrence_is_refused_field_by_field(
    db_session: AsyncSession, clock: MutableClock, changes: dict[str, str],
    errors: dict[str, str],
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await programmes.save_programme(db_session, programme_command(**changes),
                                        actor=await actor(db_session), clock=clock)
    assert caught.value.field_errors == errors


async def test_a_rotation_needs_units_and_distinct_places(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    with pytest.raises(ValidationFailed) as caught:
        await programmes.save_rotation(db_session, legal.id, rotation(), actor=me,
                                       clock=clock)
    assert caught.value.field_errors == {"units": "The rotation needs at least one unit."}
    with pytest.raises(ValidationFailed) as caught:
        await programmes.save_rotation(db_session, legal.id,
                                       rotation(position_1="1", position_2="1"),
                                       actor=me, clock=clock)
    assert caught.value.field_errors == {"units": "Give each unit a different position."}
    with pytest.raises(ValidationFailed) as caught:
        await programmes.save_rotation(db_session, legal.id,
                                       rotation(position_1="1", next_unit="3"),
                                       actor=me, clock=clock)
    assert caught.value.field_errors == {"next_unit": "Choose one of the units on the rotation."}


async def test_editing_the_rotation_replans_from_the_chosen_unit(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    before = await sessions_of(db_session, legal.id)
    result = await programmes.save_rotation(
        db_session, legal.id, rotation(position_4="1", position_3="2", position_1="3",
                                       next_unit=str(POLICE)),
        actor=await actor(db_session), clock=clock)
    after = await sessions_of(db_session, legal.id)
    assert [r.id for r in after] == [r.id for r in before]  # updated in place
    assert [r.department_id for r in after] == [POLICE, COURT, JUSTICE] * 4
    assert result.updated == 9  # three sessions kept their unit
    assert result.jobs.schedule == {}  # only units changed: the jobs stay as they are


async def test_a_unit_deactivated_on_the_rotation_is_passed_over_from_the_next_session(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    # The court held the first session; afterwards it is deactivated.
    clock.now = sh(2026, 11, 27, 9)
    await directory.set_active(db_session, Department, COURT, False, actor=me, clock=clock)
    await replan(db_session, legal.id, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert rows[0].department_id == COURT  # history stays as it was
    # The procuratorate's turn is next, as it was; the court is skipped from now on.
    assert [r.department_id for r in rows[1:8]] == [PROCURATORATE, POLICE, JUSTICE,
                                                    PROCURATORATE, POLICE, JUSTICE,
                                                    PROCURATORATE]
    await directory.set_active(db_session, Department, COURT, True, actor=me, clock=clock)
    await replan(db_session, legal.id, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert [r.department_id for r in rows[1:5]] == [PROCURATORATE, POLICE, JUSTICE, COURT]


async def test_every_unit_deactivated_leaves_nobody_on_duty_and_warns(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    for unit in (COURT, PROCURATORATE, POLICE, JUSTICE):
        await directory.set_active(db_session, Department, unit, False, actor=me, clock=clock)
    await replan(db_session, legal.id, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert {r.department_id for r in rows} == {None}
    assert {r.status for r in rows} == {SessionStatus.PLANNED}


async def test_changing_the_time_updates_sessions_in_place(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    before = {r.nominal_date: r.id for r in await sessions_of(db_session, legal.id)}
    _, result = await programmes.save_programme(
        db_session, command_of(legal, start_time="10:00", cutoff_hours="48"),
        actor=await actor(db_session), clock=clock, programme_id=legal.id)
    rows = await sessions_of(db_session, legal.id)
    assert {r.nominal_date: r.id for r in rows} == before
    assert (rows[0].starts_at, rows[0].cutoff_at) == (sh(2026, 11, 26, 10),
                                                       sh(2026, 11, 24, 10))
    assert {r.sequence for r in rows} == {1}
    assert sorted(result.jobs.schedule) == sorted(before.values())
    assert result.jobs.fresh == set()


async def test_a_weekday_change_cancels_by_plan_tells_the_host_and_can_be_taken_back(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    thursdays = await sessions_of(db_session, legal.id)
    _, result = await programmes.save_programme(db_session, command_of(legal, weekday="4"),
                                                actor=me, clock=clock, programme_id=legal.id)
    assert (result.created, result.lost) == (12, 12)
    rows = await sessions_of(db_session, legal.id)
    old = [r for r in rows if r.nominal_date.weekday() == 3]
    assert [r.id for r in old] == [r.id for r in thursdays]
    assert {(r.status, r.cancelled_by_plan, r.sequence) for r in old} == {
        (SessionStatus.CANCELLED, True, 1)}
    assert result.jobs.remove == {r.id for r in old}
    lost_keys = [k for k in await inbox_keys(db_session, "host") if ":lost:" in k]
    assert lost_keys == [f"session:{r.id}:lost:1" for r in old]
    # Back to Thursdays: the same sessions come back; the Friday ones are cancelled.
    _, result = await programmes.save_programme(db_session, command_of(legal, weekday="3"),
                                                actor=me, clock=clock, programme_id=legal.id)
    rows = await sessions_of(db_session, legal.id)
    back = [r for r in rows if r.nominal_date.weekday() == 3]
    assert [r.id for r in back] == [r.id for r in thursdays]
    assert {(r.status, r.cancelled_by_plan) for r in back} == {(SessionStatus.PLANNED, False)}
    assert [r.department_id for r in back[:4]] == [COURT, PROCURATORATE, POLICE, JUSTICE]
    assert result.jobs.fresh == {r.id for r in back}
    fridays = [r for r in rows if r.nominal_date.weekday() == 4]
    assert {r.status for r in fridays} == {SessionStatus.CANCELLED}


async def test_a_holiday_entered_later_moves_the_session_and_keeps_its_id(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    [target] = [r for r in await sessions_of(db_session, legal.id)
                if r.nominal_date == date(2026, 12, 10)]
    await workdays.save_entry(db_session, workday_entry("2026-12-10", "holiday", "测试假日",
                                                        source_notice="测试通知"),
                              actor=me, clock=clock)
    result = await replan_all(db_session, clock=clock, actor_id=me.user_id)
    await db_session.refresh(target)
    assert (target.nominal_date, target.starts_at, target.sequence) == (
        date(2026, 12, 10), sh(2026, 12, 11, 9, 30), 1)
    assert target.department_id == POLICE
    assert target.id in result.jobs.schedule
    await workdays.delete_entry(db_session, date(2026, 12, 10), actor=me, clock=clock)
    await replan_all(db_session, clock=clock, actor_id=me.user_id)
    await db_session.refresh(target)
    assert (target.starts_at, target.sequence) == (sh(2026, 12, 10, 9, 30), 2)


async def test_with_the_skip_policy_a_holiday_skips_and_tells_the_host(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    await programmes.save_programme(db_session, command_of(legal, holiday_policy="skip"),
                                    actor=me, clock=clock, programme_id=legal.id)
    await workdays.save_entry(db_session, workday_entry("2026-12-10", "holiday", "测试假日"),
                              actor=me, clock=clock)
    result = await replan_all(db_session, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    [skipped] = [r for r in rows if r.nominal_date == date(2026, 12, 10)]
    assert (skipped.status, result.lost) == (SessionStatus.SKIPPED, 1)
    assert f"session:{skipped.id}:lost:1" in await inbox_keys(db_session, "host")
    # A skipped session takes nobody's turn: the police take the next one.
    assert duty(rows)["2026-12-17"] == POLICE


async def test_planning_into_a_year_without_a_table_warns_and_does_not_crash(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    result = await replan(db_session, legal.id, clock=clock)
    assert result.missing_years == (2027,)
    await workdays.set_year_complete(
        db_session, 2027, workdays.YearCompletion(complete=True,
                                                  source_notice="国办发明电〔2026〕1号"),
        actor=await actor(db_session), clock=clock)
    assert (await replan(db_session, legal.id, clock=clock)).missing_years == ()


async def test_time_zone_edges(db_session: AsyncSession, clock: MutableClock) -> None:
    me = await actor(db_session)
    # New York across the start of daylight saving time (14 March 2027).
    ny, _ = await programmes.save_programme(db_session, programme_command(
        name="New York", room="ny", weekday="0", start_time="09:30",
        timezone="America/New_York", weeks_ahead="20"), actor=me, clock=clock)
    rows = {r.nominal_date: r for r in await sessions_of(db_session, ny.id)}
    assert rows[date(2027, 3, 8)].starts_at == utc(2027, 3, 8, 14, 30)  # EST
    assert rows[date(2027, 3, 15)].starts_at == utc(2027, 3, 15, 13, 30)  # EDT
    # The cutoff is 24 elapsed hours before the start, on the day the clocks changed.
    assert rows[date(2027, 3, 15)].cutoff_at == utc(2027, 3, 14, 13, 30)
    # Half past midnight in Shanghai is the previous day in UTC; the nominal date is local.
    late, _ = await programmes.save_programme(db_session, programme_command(
        name="Night", room="night", weekday="3", start_time="00:30"), actor=me, clock=clock)
    first = (await sessions_of(db_session, late.id))[0]
    assert (first.nominal_date, first.starts_at) == (date(2026, 11, 26), utc(2026, 11, 25, 16, 30))
    assert first.starts_at.astimezone(sh(2026, 1, 1).tzinfo).date() == date(2026, 11, 26)


async def test_cancel_moves_the_rotation_up_and_needs_the_current_version(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    host = await actor(db_session, "host")
    rows = await sessions_of(db_session, legal.id)
    second = rows[1]
    with pytest.raises(Conflict):
        await sessions.cancel_session(db_session, second.id, cancel("x", version="99"),
                                      actor=host, clock=clock)
    with pytest.raises(ValidationFailed) as caught:
        sessions.CancelSession.from_fields({"reason": "", "version": str(second.version)})
    assert caught.value.field_errors == {"reason": "This field is required."}
    result, notices = await sessions.cancel_session(
        db_session, second.id, cancel("区人民检察院临时有会", version=str(second.version)),
        actor=host, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert (rows[1].status, rows[1].cancel_reason, rows[1].sequence) == (
        SessionStatus.CANCELLED, "区人民检察院临时有会", 1)
    # The cancelled session took nobody's turn: the procuratorate takes the next one.
    assert [r.department_id for r in rows[2:5]] == [PROCURATORATE, POLICE, JUSTICE]
    assert second.id in result.jobs.remove
    assert [n.kind for n in notices] == ["session.cancelled"]
    assert f"session:{second.id}:cancelled" in await inbox_keys(db_session, "procuratorate")
    assert f"session:{second.id}:cancelled" in await inbox_keys(db_session, "site05")
    with pytest.raises(ValidationFailed, match="does not take place"):
        await sessions.cancel_session(db_session, second.id,
                                      cancel("again", version=str(rows[1].version)),
                                      actor=host, clock=clock)


async def test_a_session_already_held_cannot_be_cancelled_or_moved(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    first = (await sessions_of(db_session, legal.id))[0]
    clock.now = sh(2026, 11, 26, 9, 45)
    host = await actor(db_session, "host")
    data = {"reason": "x", "date": "2026-11-27", "time": "09:30", "version": str(first.version)}
    with pytest.raises(ValidationFailed, match="already taken place"):
        await sessions.cancel_session(db_session, first.id,
                                      sessions.CancelSession.from_fields(data),
                                      actor=host, clock=clock)
    with pytest.raises(ValidationFailed, match="already taken place"):
        await sessions.move_session(db_session, first.id, sessions.MoveSession.from_fields(data),
                                    actor=host, clock=clock)


async def test_moving_by_hand_pins_the_session_within_its_neighbours(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    host = await actor(db_session, "host")
    target = (await sessions_of(db_session, legal.id))[1]  # Thursday 3 December

    async def move(**data: str) -> ValidationFailed:
        with pytest.raises(ValidationFailed) as caught:
            await sessions.move_session(
                db_session, target.id,
                sessions.MoveSession.from_fields({"version": str(target.version), **data}),
                actor=host, clock=clock)
        return caught.value

    assert (await move(date="2026-12-10", time="09:30")).field_errors == {
        "date": "A session cannot move past the sessions before or after it."}
    assert (await move(date="2026-11-20", time="09:30")).field_errors["date"] == \
        "The new time has already passed."
    assert (await move(date="12/04/2026", time="9.30")).field_errors == {
        "date": DAY_RANGE, "time": "Enter a time as HH:MM."}
    assert (await move(date="2040-12-01", time="09:30")).field_errors == {
        "date": "Too far in the future."}
    for day in ("9999-12-31", "0001-01-01", "1969-12-31", "2100-01-01"):
        assert (await move(date=day, time="09:30")).field_errors == {"date": DAY_RANGE}
    await db_session.refresh(target)
    assert (target.starts_at, target.sequence, target.pinned) == (
        sh(2026, 12, 3, 9, 30), 0, False)
    result, _ = await sessions.move_session(
        db_session, target.id, sessions.MoveSession.from_fields(
            {"date": "2026-12-04", "time": "14:00", "version": str(target.version)}),
        actor=host, clock=clock)
    await db_session.refresh(target)
    assert (target.starts_at, target.ends_at, target.cutoff_at, target.pinned) == (
        sh(2026, 12, 4, 14), sh(2026, 12, 4, 15), sh(2026, 12, 3, 14), True)
    assert result.jobs.schedule[target.id].start == sh(2026, 12, 4, 14)
    # A later rule change keeps the pinned time.
    await programmes.save_programme(db_session, command_of(legal, start_time="10:00"),
                                    actor=await actor(db_session), clock=clock,
                                    programme_id=legal.id)
    await db_session.refresh(target)
    assert target.starts_at == sh(2026, 12, 4, 14)


async def test_an_inactive_programme_retires_its_future_and_comes_back_whole(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    me = await actor(db_session)
    ids = [r.id for r in await sessions_of(db_session, legal.id)]
    _, result = await programmes.save_programme(db_session, command_of(legal, active=""),
                                                actor=me, clock=clock, programme_id=legal.id)
    assert result.lost == 12
    rows = await sessions_of(db_session, legal.id)
    assert {(r.status, r.cancelled_by_plan) for r in rows} == {(SessionStatus.CANCELLED, True)}
    await programmes.save_programme(db_session, command_of(legal, active="on"),
                                    actor=me, clock=clock, programme_id=legal.id)
    rows = await sessions_of(db_session, legal.id)
    assert [r.id for r in rows] == ids
    assert [r.department_id for r in rows[:4]] == [COURT, PROCURATORATE, POLICE, JUSTICE]


async def test_the_horizon_rolls_with_the_clock(
    db_session: AsyncSession, clock: MutableClock
) -> None:
    legal = await legal_day(db_session)
    clock.advance(weeks=2)
    result = await replan(db_session, legal.id, clock=clock)
    rows = await sessions_of(db_session, legal.id)
    assert (result.created, len(rows)) == (2, 14)
    assert [r.department_id for r in rows[-3:]] == [JUSTICE, COURT, PROCURATORATE]
