"""Programmes (recurring sessions with a rotating unit on duty), their sessions and rotations.

A `ProgrammeSession` is what other features attach to (questions, opinions, rooms): it keeps
its `id` for as long as its programme produces its nominal date, because the planner updates
sessions in place and never deletes one.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduling.occurrences import HolidayPolicy
from scheduling.planner import SessionStatus

from .base import Base


class UnitKind(enum.StrEnum):
    """What takes turns on a programme's rotation."""

    DEPARTMENT = "department"
    DEPUTY = "deputy"


class ChangeKind(enum.StrEnum):
    OVERRIDE = "override"  # another unit takes one session
    SWAP = "swap"  # two sessions exchange their units


class ChangeStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # a later override of the same session replaced it


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=32,
                values_callable=lambda e: [m.value for m in e])


class Programme(Base):
    """A recurring programme, e.g. the weekly legal consultation day."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    name: Mapped[str] = mapped_column(String(100))
    # The video room's key; sessions of any programme in one room must not overlap.
    room: Mapped[str] = mapped_column(String(32))
    # The pattern as an RFC 5545 RRULE (`scheduling.recurrence.RecurrenceRule.rrule`).
    rrule: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    start_time: Mapped[time]
    duration_minutes: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))
    holiday_policy: Mapped[HolidayPolicy] = mapped_column(_enum(HolidayPolicy, "holiday_policy"))
    cutoff_minutes: Mapped[int] = mapped_column(default=24 * 60)
    unit_kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"))
    weeks_ahead: Mapped[int] = mapped_column(default=12)
    active: Mapped[bool] = mapped_column(default=True)
    # The rotation pointer: `rotation_start_index` takes the first held session on or
    # after `rotation_anchor` (`scheduling.planner.RotationState`).
    rotation_anchor: Mapped[date]
    rotation_start_index: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    replanned_at: Mapped[datetime | None]
    # Every re-plan bumps it, so two re-plans of one programme never interleave.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


class RotationMember(Base):
    """One unit's place on a programme's rotation."""

    __tablename__ = "rotation_member"
    __table_args__ = (
        CheckConstraint("(department_id IS NULL) != (deputy_id IS NULL)", name="one_unit"),
        UniqueConstraint("programme_id", "department_id", name="uq_rotation_member_department"),
        UniqueConstraint("programme_id", "deputy_id", name="uq_rotation_member_deputy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    position: Mapped[int]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputy.id"))


class ProgrammeSession(Base):
    """One session of a programme, identified within it by its nominal date."""

    __tablename__ = "programme_session"
    __table_args__ = (
        UniqueConstraint("programme_id", "nominal_date"),
        CheckConstraint("department_id IS NULL OR deputy_id IS NULL", name="one_unit"),
        Index("ix_programme_session_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    nominal_date: Mapped[date]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # When question collection closes.
    cutoff_at: Mapped[datetime]
    # The unit on duty: a department or a deputy, by the programme's unit kind.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputy.id"))
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus, "session_status"))
    # The time was set by hand; the planner keeps it.
    pinned: Mapped[bool] = mapped_column(default=False)
    # Cancelled because the rule no longer produces the date (not by a person): a later
    # plan that produces the date again reinstates it.
    cancelled_by_plan: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancelled_at: Mapped[datetime | None]
    # The room's state as the room jobs record it; the rooms feature reads it.
    room_opened_at: Mapped[datetime | None]
    room_closed_at: Mapped[datetime | None]
    # iCalendar SEQUENCE: raised on every change a subscriber should see.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def unit_id(self) -> int | None:
        return self.department_id if self.department_id is not None else self.deputy_id


class RotationChange(Base):
    """An override or a swap, who asked for it and why, and who decided.

    Unit ids are departments or deputies by the programme's unit kind. `session_unit_id`
    and `other_unit_id` record the units at request time: a swap is accepted only while
    the sessions still have them.
    """

    __tablename__ = "rotation_change"
    __table_args__ = (Index("ix_rotation_change_programme_status", "programme_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    kind: Mapped[ChangeKind] = mapped_column(_enum(ChangeKind, "rotation_change_kind"))
    status: Mapped[ChangeStatus] = mapped_column(_enum(ChangeStatus, "rotation_change_status"))
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_session.id"))
    session_unit_id: Mapped[int | None]
    # The other session of a swap.
    other_session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_session.id"))
    other_unit_id: Mapped[int | None]
    # The unit that takes the session under an override.
    target_unit_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(500), default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The requester's own unit, None for the street office (admin or host).
    requested_by_unit_id: Mapped[int | None]
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API
