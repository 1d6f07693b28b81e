"""Materialising a programme's sessions ahead, as a diff against what is stored.

``plan`` turns a rule, its holiday policy, the working-day calendar and the
rotation into the sessions of the next ``weeks`` weeks (default 12) and
compares them with the sessions already stored, keyed by nominal date. The
nominal date is a session's identity: a session moved by a holiday, by a
changed start time or by a rotation change is *updated*, never deleted and
re-created, so questions and opinions attached to it move with it.

Conventions:

* Now is ``clock()``; today is now's date in the rule's zone. The horizon is
  ``today + 7 * weeks`` days (exclusive, nominal dates).
* A stored session that has started (``start <= now``) is history: it is
  reported unchanged, whatever the rule says now.
* ``CANCELLED`` is a person's decision: the planner keeps it (never
  reinstates it) and it takes nobody's turn. ``SKIPPED`` is the planner's:
  the nominal date is a non-working day and the policy found no place for it;
  it comes back (``REINSTATED``) if the calendar or rule changes.
* A ``pinned`` session had its time set by hand: the planner keeps its time
  and status and only follows the rotation for its unit.
* If the rule would now put a stored, not yet started session at a time that
  has already passed, the stored session is kept as it is: a rule change
  takes effect from the next session on.
* Every stored session passed in lands in exactly one of ``update``,
  ``unchanged`` and ``vanished``. ``vanished`` are future sessions whose
  nominal date the rule no longer produces; ``PlanDiff.lost`` lists the
  stored sessions that were going to take place and now will not (vanished
  or newly skipped) so the host can be told about their attached items.
* New sessions are created for held occurrences with a nominal date in
  ``[today, horizon)`` that start after now; skipped dates are not created.
* The rotation counts the held sessions from ``rotation.anchor`` on, so pass
  every stored session from the anchor on (a host's cancellation must be
  seen to count). Sessions before the anchor get no unit. To change a
  rotation, start a new ``RotationState`` at a later anchor with
  ``rotation.next_index`` of the sessions before it.
* The question cutoff is ``start - cutoff_before`` in elapsed time (default
  24 hours), recomputed for every session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from scheduling.calendar import WorkdayCalendar
from scheduling.clock import Clock, add_elapsed, require_aware, utc
from scheduling.errors import DateOutOfRange, InvalidSession
from scheduling.occurrences import HolidayPolicy, Occurrence, occurrences
from scheduling.recurrence import RecurrenceRule
from scheduling.rotation import RotationUnit, UnitId, assign

DEFAULT_WEEKS = 12
DEFAULT_CUTOFF = timedelta(hours=24)


def question_cutoff(start: datetime, before: timedelta = DEFAULT_CUTOFF) -> datetime:
    """When questions for a session starting at ``start`` close (elapsed time)."""
    require_aware(start, "start")
    if before < timedelta(0):
        raise InvalidSession(f"the question cutoff must be before the start, not {before} after")
    return add_elapsed(start, -before)


class SessionStatus(StrEnum):
    PLANNED = "planned"
    SKIPPED = "skipped"
    """By the planner: a non-working day with nowhere to move to."""
    CANCELLED = "cancelled"
    """By a person; the planner never reinstates it."""


@dataclass(frozen=True, kw_only=True)
class PlannedSession:
    nominal_date: date
    start: datetime
    end: datetime
    cutoff: datetime
    unit: UnitId | None = None
    status: SessionStatus = SessionStatus.PLANNED
    pinned: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.nominal_date, datetime) or not isinstance(self.nominal_date, date):
            raise InvalidSession("nominal_date must be a date")
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        require_aware(self.cutoff, "cutoff")
        if utc(self.end) <= utc(self.start):
            raise InvalidSession(f"session {self.key} must end after it starts")
        if utc(self.cutoff) > utc(self.start):
            raise InvalidSession(f"session {self.key}: questions must close before it starts")
        object.__setattr__(self, "status", SessionStatus(self.status))

    @property
    def key(self) -> str:
        return self.nominal_date.isoformat()


class Change(StrEnum):
    MOVED = "moved"
    """Start or end changed."""
    CUTOFF = "cutoff"
    """Only the question cutoff changed."""
    REASSIGNED = "reassigned"
    SKIPPED = "skipped"
    REINSTATED = "reinstated"


@dataclass(frozen=True, kw_only=True)
class SessionUpdate:
    before: PlannedSession
    after: PlannedSession
    changes: frozenset[Change]


@dataclass(frozen=True, kw_only=True)
class PlanDiff:
    create: tuple[PlannedSession, ...]
    update: tuple[SessionUpdate, ...]
    unchanged: tuple[PlannedSession, ...]
    vanished: tuple[PlannedSession, ...]
    horizon: date
    missing_years: tuple[int, ...]
    """Years up to the horizon without a holiday arrangement: warn the user."""

    @property
    def lost(self) -> tuple[PlannedSession, ...]:
        """Stored sessions that were going to take place and now will not."""
        gone = [s for s in self.vanished if s.status is SessionStatus.PLANNED]
        gone += [u.before for u in self.update if Change.SKIPPED in u.changes]
        return tuple(sorted(gone, key=lambda s: s.nominal_date))


@dataclass(frozen=True, kw_only=True)
class RotationState:
    """A programme's rotation as stored: ``start_index`` takes the session on ``anchor``.

    ``anchor`` is a nominal date; the first held session on or after it takes
    ``units[start_index]``. Overrides and swaps name sessions by nominal date.
    """

    units: tuple[RotationUnit, ...]
    anchor: date
    start_index: int = 0
    overrides: Mapping[date, UnitId] = field(default_factory=dict, hash=False)
    swaps: tuple[tuple[date, date], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "swaps", tuple(self.swaps))
        # Validates units, pointer, overrides and swaps with the rotation's own rules.
        assign([], self.units, self.overrides, self.swaps, self.start_index)

    def assign(self, held_in_order: list[date]) -> dict[date, UnitId]:
        sessions = [day for day in held_in_order if day >= self.anchor]
        return assign(sessions, self.units, self.overrides, self.swaps, self.start_index)


def plan(
    *,
    rule: RecurrenceRule,
    policy: HolidayPolicy,
    calendar: WorkdayCalendar,
    existing: Iterable[PlannedSession],
    clock: Clock,
    rotation: RotationState | None = None,
    weeks: int = DEFAULT_WEEKS,
    cutoff_before: timedelta = DEFAULT_CUTOFF,
) -> PlanDiff:
    now = utc(require_aware(clock(), "clock()"))
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 0:
        raise InvalidSession(f"weeks ahead must be an integer >= 0, not {weeks!r}")
    stored: dict[date, PlannedSession] = {}
    for session in existing:
        if session.nominal_date in stored:
            raise InvalidSession(f"two stored sessions share the nominal date {session.key}")
        stored[session.nominal_date] = session
    today = now.astimezone(rule.zone).date()
    try:
        horizon = today + timedelta(weeks=weeks)
    except OverflowError:
        raise DateOutOfRange(f"{weeks} weeks after {today} is past 9999-12-31") from None
    first = min([today, *stored, *([rotation.anchor] if rotation else [])])
    last = max([horizon, *(_day_after(day) for day in stored)])

    desired: dict[date, PlannedSession] = {}
    for occurrence in occurrences(rule, calendar, first, last, policy):
        desired[occurrence.nominal_date] = _desired(
            occurrence, stored.get(occurrence.nominal_date), now, cutoff_before
        )
    units = _units(desired, rotation)
    for day, session in desired.items():
        if session is stored.get(day):
            continue  # history, a host's cancellation, or a rule change that came too late
        desired[day] = replace(
            session, unit=units.get(day) if session.status is SessionStatus.PLANNED else None
        )

    update: list[SessionUpdate] = []
    unchanged: list[PlannedSession] = []
    vanished: list[PlannedSession] = []
    for day in sorted(stored):
        before = stored[day]
        after = desired.get(day)
        if utc(before.start) <= now:
            unchanged.append(before)
        elif after is None:
            vanished.append(before)
        else:
            changes = _changes(before, after)
            if changes:
                update.append(SessionUpdate(before=before, after=after, changes=changes))
            else:
                unchanged.append(before)
    create = tuple(
        session
        for day, session in sorted(desired.items())
        if day not in stored
        and today <= day < horizon
        and session.status is SessionStatus.PLANNED
        and utc(session.start) > now
    )
    return PlanDiff(
        create=create,
        update=tuple(update),
        unchanged=tuple(unchanged),
        vanished=tuple(vanished),
        horizon=horizon,
        missing_years=calendar.missing_years(today, max(today, horizon - timedelta(days=1))),
    )


def _day_after(day: date) -> date:
    return date.max if day == date.max else day + timedelta(days=1)


def _desired(
    occurrence: Occurrence,
    stored: PlannedSession | None,
    now: datetime,
    cutoff_before: timedelta,
) -> PlannedSession:
    """The session the rule wants; the stored object itself where it must stay as it is."""
    if stored is not None:
        if utc(stored.start) <= now or stored.status is SessionStatus.CANCELLED:
            return stored
        if stored.pinned:
            return replace(stored, cutoff=question_cutoff(stored.start, cutoff_before))
        if occurrence.held and utc(occurrence.start) <= now:
            return stored
    return PlannedSession(
        nominal_date=occurrence.nominal_date,
        start=occurrence.start,
        end=occurrence.end,
        cutoff=question_cutoff(occurrence.start, cutoff_before),
        status=SessionStatus.PLANNED if occurrence.held else SessionStatus.SKIPPED,
    )


def _units(
    desired: Mapping[date, PlannedSession], rotation: RotationState | None
) -> dict[date, UnitId]:
    if rotation is None:
        return {}
    held = [day for day in sorted(desired) if desired[day].status is SessionStatus.PLANNED]
    return rotation.assign(held)


def _changes(before: PlannedSession, after: PlannedSession) -> frozenset[Change]:
    if before.status is after.status is SessionStatus.SKIPPED:
        return frozenset()
    if after.status is SessionStatus.SKIPPED:
        return frozenset({Change.SKIPPED})
    changes: set[Change] = set()
    if before.status is SessionStatus.SKIPPED and after.status is SessionStatus.PLANNED:
        changes.add(Change.REINSTATED)
    if utc(before.start) != utc(after.start) or utc(before.end) != utc(after.end):
        changes.add(Change.MOVED)
    elif utc(before.cutoff) != utc(after.cutoff):
        changes.add(Change.CUTOFF)
    if before.unit != after.unit:
        changes.add(Change.REASSIGNED)
    return frozenset(changes)
