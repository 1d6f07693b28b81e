from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduling.calendar import DayEntry, DayKind, WorkdayCalendar
from scheduling.clock import fixed_clock
from scheduling.errors import EmptyRotation, InvalidSession, NaiveDatetime
from scheduling.occurrences import HolidayPolicy
from scheduling.planner import (
    Change,
    PlanDiff,
    PlannedSession,
    RotationState,
    SessionStatus,
    SessionUpdate,
    plan,
    question_cutoff,
)
from scheduling.recurrence import RecurrenceRule, Weekday, Weekly
from scheduling.rotation import RotationUnit, UnitId
from tests.scheduling.helpers import BERLIN, calendar_until_2026, sh

CHINA = WorkdayCalendar()
MONDAY_MORNING = sh(2026, 9, 14, 8)
THURSDAYS = RecurrenceRule(
    pattern=Weekly(weekday=Weekday.THURSDAY),
    start_date=date(2026, 9, 3),
    start_time=time(15, 0),
    duration=timedelta(hours=1),
)
DEPARTMENTS = RotationState(
    units=(
        RotationUnit(id="court"),
        RotationUnit(id="procuratorate"),
        RotationUnit(id="police"),
        RotationUnit(id="justice"),
    ),
    anchor=date(2026, 9, 3),
)


def session(
    nominal: date,
    start: datetime,
    unit: UnitId | None,
    status: SessionStatus = SessionStatus.PLANNED,
    *,
    hours: float = 1,
    pinned: bool = False,
) -> PlannedSession:
    return PlannedSession(
        nominal_date=nominal,
        start=start,
        end=start + timedelta(hours=hours),
        cutoff=start - timedelta(hours=24),
        unit=unit,
        status=status,
        pinned=pinned,
    )


def run(
    existing: tuple[PlannedSession, ...] = (),
    *,
    rule: RecurrenceRule = THURSDAYS,
    policy: HolidayPolicy = HolidayPolicy.PREVIOUS_WORKDAY,
    calendar: WorkdayCalendar = CHINA,
    rotation: RotationState | None = DEPARTMENTS,
    now: datetime = MONDAY_MORNING,
    weeks: int = 6,
    cutoff_before: timedelta = timedelta(hours=24),
) -> PlanDiff:
    diff = plan(
        rule=rule,
        policy=policy,
        calendar=calendar,
        existing=existing,
        clock=fixed_clock(now),
        rotation=rotation,
        weeks=weeks,
        cutoff_before=cutoff_before,
    )
    stored = sorted(s.nominal_date for s in existing)
    classified = sorted(
        [s.nominal_date for s in diff.unchanged]
        + [s.nominal_date for s in diff.vanished]
        + [u.before.nominal_date for u in diff.update]
    )
    assert classified == stored  # every stored session lands in exactly one list
    return diff


FIRST_PLAN = (
    session(date(2026, 9, 17), sh(2026, 9, 17, 15), "police"),
    session(date(2026, 9, 24), sh(2026, 9, 24, 15), "justice"),
    session(date(2026, 10, 1), sh(2026, 9, 30, 15), "court"),  # National Day: day before
    session(date(2026, 10, 8), sh(2026, 10, 8, 15), "procuratorate"),
    session(date(2026, 10, 15), sh(2026, 10, 15, 15), "police"),
    session(date(2026, 10, 22), sh(2026, 10, 22, 15), "justice"),
)


def test_first_plan_creates_the_weeks_ahead() -> None:
    diff = run()
    assert diff == PlanDiff(
        create=FIRST_PLAN,
        update=(),
        unchanged=(),
        vanished=(),
        horizon=date(2026, 10, 26),
        missing_years=(),
    )
    assert diff.lost == ()


def test_default_horizon_is_twelve_weeks() -> None:
    diff = plan(
        rule=THURSDAYS,
        policy=HolidayPolicy.SKIP,
        calendar=CHINA,
        existing=(),
        clock=fixed_clock(MONDAY_MORNING),
    )
    assert diff.horizon == date(2026, 12, 7)
    assert [s.nominal_date for s in diff.create][-1] == date(2026, 12, 3)
    assert {s.unit for s in diff.create} == {None}


def test_replanning_without_changes_changes_nothing() -> None:
    diff = run(FIRST_PLAN)
    assert diff.create == ()
    assert diff.update == ()
    assert diff.unchanged == FIRST_PLAN


def test_a_new_start_time_moves_every_session_under_its_identity() -> None:
    later = replace(THURSDAYS, start_time=time(9, 30))
    diff = run(FIRST_PLAN, rule=later)
    assert diff.create == ()
    assert [(u.before.nominal_date, u.after.nominal_date) for u in diff.update] == [
        (s.nominal_date, s.nominal_date) for s in FIRST_PLAN
    ]
    assert {u.changes for u in diff.update} == {frozenset({Change.MOVED})}
    moved = diff.update[2].after
    assert moved.start == sh(2026, 9, 30, 9, 30)
    assert moved.cutoff == sh(2026, 9, 29, 9, 30)


def test_a_policy_change_skips_a_session_and_the_rotation_moves_on() -> None:
    diff = run(FIRST_PLAN, policy=HolidayPolicy.SKIP)
    assert diff.update == (
        SessionUpdate(
            before=FIRST_PLAN[2],
            after=session(date(2026, 10, 1), sh(2026, 10, 1, 15), None, SessionStatus.SKIPPED),
            changes=frozenset({Change.SKIPPED}),
        ),
        SessionUpdate(
            before=FIRST_PLAN[3],
            after=replace(FIRST_PLAN[3], unit="court"),
            changes=frozenset({Change.REASSIGNED}),
        ),
        SessionUpdate(
            before=FIRST_PLAN[4],
            after=replace(FIRST_PLAN[4], unit="procuratorate"),
            changes=frozenset({Change.REASSIGNED}),
        ),
        SessionUpdate(
            before=FIRST_PLAN[5],
            after=replace(FIRST_PLAN[5], unit="police"),
            changes=frozenset({Change.REASSIGNED}),
        ),
    )
    assert diff.lost == (FIRST_PLAN[2],)


def test_a_calendar_correction_moves_a_session() -> None:
    corrected = WorkdayCalendar(
        entries=(DayEntry(day=date(2026, 10, 15), kind=DayKind.HOLIDAY, name="停电检修"),)
    )
    diff = run(FIRST_PLAN, calendar=corrected)
    assert diff.update == (
        SessionUpdate(
            before=FIRST_PLAN[4],
            after=session(date(2026, 10, 15), sh(2026, 10, 14, 15), "police"),
            changes=frozenset({Change.MOVED}),
        ),
    )


def test_a_session_skipped_earlier_is_reinstated() -> None:
    skipped = run(policy=HolidayPolicy.SKIP).create
    assert date(2026, 10, 1) not in [s.nominal_date for s in skipped]
    stored = (
        *skipped,
        session(date(2026, 10, 1), sh(2026, 10, 1, 15), None, SessionStatus.SKIPPED),
    )
    open_on_first = WorkdayCalendar(
        entries=(DayEntry(day=date(2026, 10, 1), kind=DayKind.WORKDAY, name="值班"),)
    )
    diff = run(stored, policy=HolidayPolicy.SKIP, calendar=open_on_first)
    by_date = {u.before.nominal_date: u for u in diff.update}
    assert by_date[date(2026, 10, 1)].changes == {Change.REINSTATED, Change.REASSIGNED}
    assert by_date[date(2026, 10, 1)].after == session(
        date(2026, 10, 1), sh(2026, 10, 1, 15), "court"
    )
    assert sorted(by_date) == [
        date(2026, 10, 1),
        date(2026, 10, 8),
        date(2026, 10, 15),
        date(2026, 10, 22),
    ]


def test_a_changed_weekday_vanishes_old_sessions_and_creates_new_ones() -> None:
    wednesdays = replace(THURSDAYS, pattern=Weekly(weekday=Weekday.WEDNESDAY))
    diff = run(FIRST_PLAN, rule=wednesdays)
    assert diff.vanished == FIRST_PLAN
    assert diff.lost == FIRST_PLAN
    assert [(s.nominal_date, s.start, s.unit) for s in diff.create] == [
        # Sep 9 (court, before today) already counted in the rotation.
        (date(2026, 9, 16), sh(2026, 9, 16, 15), "procuratorate"),
        (date(2026, 9, 23), sh(2026, 9, 23, 15), "police"),
        (date(2026, 9, 30), sh(2026, 9, 30, 15), "justice"),
        # Oct 7 is a holiday and Oct 1-6 too: no session that week.
        (date(2026, 10, 14), sh(2026, 10, 14, 15), "court"),
        (date(2026, 10, 21), sh(2026, 10, 21, 15), "procuratorate"),
    ]


def test_a_hosts_cancellation_is_kept_and_takes_nobodys_turn() -> None:
    cancelled = replace(FIRST_PLAN[1], status=SessionStatus.CANCELLED)
    stored = (FIRST_PLAN[0], cancelled, *FIRST_PLAN[2:])
    diff = run(stored)
    assert cancelled in diff.unchanged
    assert [(u.before.nominal_date, u.after.unit, u.changes) for u in diff.update] == [
        (date(2026, 10, 1), "justice", frozenset({Change.REASSIGNED})),
        (date(2026, 10, 8), "court", frozenset({Change.REASSIGNED})),
        (date(2026, 10, 15), "procuratorate", frozenset({Change.REASSIGNED})),
        (date(2026, 10, 22), "police", frozenset({Change.REASSIGNED})),
    ]


def test_a_pinned_session_keeps_its_time() -> None:
    pinned = session(date(2026, 10, 8), sh(2026, 10, 9, 10), "procuratorate", pinned=True)
    stored = (*FIRST_PLAN[:3], pinned, *FIRST_PLAN[4:])
    diff = run(stored, rule=replace(THURSDAYS, start_time=time(9, 30)))
    assert pinned in diff.unchanged
    assert len(diff.update) == 5


def test_started_sessions_are_history() -> None:
    during_first = sh(2026, 9, 17, 15, 30)
    diff = run(FIRST_PLAN, rule=replace(THURSDAYS, start_time=time(9, 30)), now=during_first)
    assert diff.unchanged == (FIRST_PLAN[0],)
    assert [u.before for u in diff.update] == list(FIRST_PLAN[1:])


def test_a_rule_change_too_late_for_today_waits_for_the_next_session() -> None:
    thursday_morning = sh(2026, 9, 17, 10)
    diff = run(FIRST_PLAN, rule=replace(THURSDAYS, start_time=time(9, 30)), now=thursday_morning)
    assert diff.unchanged == (FIRST_PLAN[0],)  # would start at 09:30, already past
    assert diff.update[0].after.start == sh(2026, 9, 24, 9, 30)


def test_no_session_is_created_in_the_past() -> None:
    diff = run(now=sh(2026, 9, 17, 15, 1))
    assert diff.create[0].nominal_date == date(2026, 9, 24)


def test_overrides_and_swaps_from_the_rotation_state() -> None:
    rotation = replace(
        DEPARTMENTS,
        overrides={date(2026, 10, 8): "deputy-wang"},
        swaps=((date(2026, 9, 17), date(2026, 9, 24)),),
    )
    diff = run(FIRST_PLAN, rotation=rotation)
    assert [(u.before.nominal_date, u.before.unit, u.after.unit) for u in diff.update] == [
        (date(2026, 9, 17), "police", "justice"),
        (date(2026, 9, 24), "justice", "police"),
        (date(2026, 10, 8), "procuratorate", "deputy-wang"),
        (date(2026, 10, 15), "police", "procuratorate"),
        (date(2026, 10, 22), "justice", "police"),
    ]


def test_sessions_before_the_anchor_have_no_unit() -> None:
    rotation = replace(DEPARTMENTS, anchor=date(2026, 10, 1), start_index=3)
    diff = run(rotation=rotation)
    assert [s.unit for s in diff.create] == [
        None,
        None,
        "justice",
        "court",
        "procuratorate",
        "police",
    ]


def test_no_rotation_no_units() -> None:
    assert {s.unit for s in run(rotation=None).create} == {None}


# -- a year without a table ---------------------------------------------------------------------


def test_planning_into_2027_warns_about_the_missing_arrangement() -> None:
    fridays = RecurrenceRule(
        pattern=Weekly(weekday=Weekday.FRIDAY),
        start_date=date(2026, 11, 1),
        start_time=time(9, 30),
        duration=timedelta(hours=2),
    )
    november = sh(2026, 11, 23, 9, 30)
    bare = run(rule=fridays, calendar=calendar_until_2026(), rotation=None, now=november, weeks=12)
    assert bare.horizon == date(2027, 2, 15)
    assert bare.missing_years == (2027,)
    assert date(2027, 1, 1) in [s.nominal_date for s in bare.create]  # nobody said otherwise

    new_year = (DayEntry(day=date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦"),)
    entered = calendar_until_2026(new_year, complete_years=frozenset({2027}))
    diff = run(bare.create, rule=fridays, calendar=entered, rotation=None, now=november, weeks=12)
    assert diff.missing_years == ()
    [moved] = diff.update
    assert moved.after.start == sh(2026, 12, 31, 9, 30)
    assert moved.changes == {Change.MOVED}


# -- question cutoff ----------------------------------------------------------------------------


def test_question_cutoff_is_configurable() -> None:
    diff = run(cutoff_before=timedelta(hours=48))
    assert [s.start - s.cutoff for s in diff.create] == [timedelta(hours=48)] * 6
    replanned = run(FIRST_PLAN, cutoff_before=timedelta(hours=48))
    assert {u.changes for u in replanned.update} == {frozenset({Change.CUTOFF})}


def test_question_cutoff_is_elapsed_time_across_a_clock_change() -> None:
    start = datetime(2026, 3, 29, 10, tzinfo=BERLIN)  # summer time since 02:00
    cutoff = question_cutoff(start)
    assert cutoff.astimezone(UTC) == datetime(2026, 3, 28, 8, tzinfo=UTC)
    assert (cutoff.hour, cutoff.tzinfo) == (9, BERLIN)  # 09:00 winter time the day before
    with pytest.raises(InvalidSession, match="before the start"):
        question_cutoff(start, timedelta(hours=-1))


# -- bad input ------------------------------------------------------------------------------------


def test_two_stored_sessions_for_one_nominal_date() -> None:
    with pytest.raises(InvalidSession, match="share the nominal date 2026-09-17"):
        run((FIRST_PLAN[0], replace(FIRST_PLAN[0], unit="court")))


@pytest.mark.parametrize("weeks", [-1, True, 1.5])
def test_bad_weeks(weeks: object) -> None:
    with pytest.raises(InvalidSession, match="weeks ahead"):
        run(weeks=weeks)  # type: ignore[arg-type]


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(NaiveDatetime):
        plan(
            rule=THURSDAYS,
            policy=HolidayPolicy.SKIP,
            calendar=CHINA,
            existing=(),
            clock=lambda: datetime(2026, 9, 14, 8),
        )


def test_planned_session_validates_itself() -> None:
    with pytest.raises(InvalidSession, match="end after it starts"):
        session(date(2026, 9, 17), sh(2026, 9, 17, 15), None, hours=0)
    with pytest.raises(InvalidSession, match="questions must close before"):
        replace(FIRST_PLAN[0], cutoff=sh(2026, 9, 17, 15, 1))
    with pytest.raises(NaiveDatetime):
        replace(FIRST_PLAN[0], start=datetime(2026, 9, 17, 15))
    with pytest.raises(InvalidSession, match="nominal_date must be a date"):
        replace(FIRST_PLAN[0], nominal_date=datetime(2026, 9, 17, tzinfo=UTC))


def test_a_rotation_state_without_units() -> None:
    with pytest.raises(EmptyRotation):
        RotationState(units=(), anchor=date(2026, 9, 3))
