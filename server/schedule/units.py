"""The units that take turns on duty: legal departments or deputies, by programme."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import Department, Deputy, Programme, ProgrammeSession, RotationMember, UnitKind


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    active: bool


async def units_of_kind(db: AsyncSession, kind: UnitKind) -> dict[int, Unit]:
    """Every department or deputy (active or not) by id, with a display name."""
    if kind is UnitKind.DEPARTMENT:
        departments = await db.scalars(select(Department).order_by(Department.id))
        return {d.id: Unit(d.id, d.name, d.active) for d in departments}
    deputies = await db.scalars(select(Deputy).order_by(Deputy.id))
    return {d.id: Unit(d.id, f"{d.title} {d.name}".strip(), d.active) for d in deputies}


async def rotation_of(db: AsyncSession, programme: Programme) -> list[Unit]:
    """The programme's rotation in order."""
    members = await db.scalars(select(RotationMember)
                               .where(RotationMember.programme_id == programme.id)
                               .order_by(RotationMember.position, RotationMember.id))
    units = await units_of_kind(db, programme.unit_kind)
    out = []
    for member in members:
        unit_id = member.department_id if programme.unit_kind is UnitKind.DEPARTMENT \
            else member.deputy_id
        if unit_id is not None and unit_id in units:
            out.append(units[unit_id])
    return out


async def duty_candidates(db: AsyncSession, kind: UnitKind) -> dict[int, Unit]:
    """The units that may be put on duty: every deputy, and the departments that take part
    in the legal consultation day (`is_legal`), not those a street only dispatches work to."""
    units = await units_of_kind(db, kind)
    if kind is UnitKind.DEPARTMENT:
        legal = set(await db.scalars(select(Department.id).where(Department.is_legal)))
        units = {ident: unit for ident, unit in units.items() if ident in legal}
    return units


def set_unit(row: ProgrammeSession, kind: UnitKind, unit_id: int | None) -> None:
    """Put a unit on duty for a session (the other kind's column stays empty)."""
    row.department_id = unit_id if kind is UnitKind.DEPARTMENT else None
    row.deputy_id = unit_id if kind is UnitKind.DEPUTY else None
