"""The street's directory: sites, departments and deputies, and their admin use cases.

The use cases take typed commands; each command's `from_fields` reads the same field
names from an HTML form or a JSON body, so the edges parse and the use cases decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.models import Base, Department, Deputy, DeputyKind, Site, SiteKind, Street

M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Actor:
    """Who performs a use case, for the audit log."""

    user_id: int | None


async def the_street(db: AsyncSession) -> Street:
    street = await db.scalar(select(Street).order_by(Street.id).limit(1))
    if street is None:
        raise NotFound("The street is not set up yet.")
    return street


async def get(db: AsyncSession, model: type[M], ident: int) -> M:
    obj = await db.get(model, ident)
    if obj is None:
        raise NotFound("Not found.")
    return obj


async def is_active(db: AsyncSession, model: type[Base], ident: int | None) -> bool:
    """Whether ``ident`` names an existing, active row of ``model`` (a form's choice)."""
    if ident is None:
        return False
    row = await db.get(model, ident)
    return row is not None and bool(getattr(row, "active", False))


async def list_sites(db: AsyncSession, *, active_only: bool = False) -> list[Site]:
    stmt = select(Site).order_by(Site.position, Site.id)
    if active_only:
        stmt = stmt.where(Site.active)
    return list(await db.scalars(stmt))


async def list_departments(db: AsyncSession, *, active_only: bool = False) -> list[Department]:
    stmt = select(Department).order_by(Department.id)
    if active_only:
        stmt = stmt.where(Department.active)
    return list(await db.scalars(stmt))


async def list_deputies(db: AsyncSession, *, active_only: bool = False) -> list[Deputy]:
    stmt = select(Deputy).order_by(Deputy.id)
    if active_only:
        stmt = stmt.where(Deputy.active)
    return list(await db.scalars(stmt))


def _snapshot(obj: Base, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


SITE_FIELDS = ("code", "name", "display_name", "kind", "position", "active")
DEPARTMENT_FIELDS = ("code", "name", "is_legal", "active")
DEPUTY_FIELDS = ("name", "kind", "title", "active")


async def _code_taken(
    db: AsyncSession, model: type[Site] | type[Department], code: str, own_id: int | None
) -> bool:
    stmt = select(func.count()).select_from(model).where(model.code == code)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return bool(await db.scalar(stmt))


@dataclass(frozen=True, kw_only=True)
class SiteCommand:
    """A site as the administrator enters it; field names are the form's."""

    code: str
    name: str
    display_name: str
    kind: SiteKind
    position: int

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> SiteCommand:
        form = FieldReader(data)
        code = form.code("code")
        name = form.line("name", max_len=100)
        display_name = form.line("display_name", max_len=40)
        kind = form.choice("kind", SiteKind)
        position = form.integer("position", minimum=0, maximum=999)
        form.check()
        assert kind is not None  # form.check() raised otherwise
        return cls(code=code, name=name, display_name=display_name, kind=kind,
                   position=position)


@dataclass(frozen=True, kw_only=True)
class DepartmentCommand:
    code: str
    name: str
    is_legal: bool

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> DepartmentCommand:
        form = FieldReader(data)
        code = form.code("code")
        name = form.line("name", max_len=100)
        is_legal = form.flag("is_legal")
        form.check()
        return cls(code=code, name=name, is_legal=is_legal)


@dataclass(frozen=True, kw_only=True)
class DeputyCommand:
    name: str
    kind: DeputyKind
    title: str

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> DeputyCommand:
        form = FieldReader(data)
        name = form.line("name", max_len=100)
        kind = form.choice("kind", DeputyKind)
        title = form.line("title", max_len=200, required=False)
        form.check()
        assert kind is not None  # form.check() raised otherwise
        return cls(name=name, kind=kind, title=title)


def _code_in_use() -> ValidationFailed:
    return ValidationFailed("Please correct the marked fields.",
                            field_errors={"code": N_("This code is already in use.")})


async def save_site(
    db: AsyncSession, command: SiteCommand, *, actor: Actor, clock: Clock,
    site_id: int | None = None,
) -> Site:
    site = await get(db, Site, site_id) if site_id else None
    if await _code_taken(db, Site, command.code, site_id):
        raise _code_in_use()
    before = _snapshot(site, SITE_FIELDS) if site else {}
    if site is None:
        site = Site(street_id=(await the_street(db)).id, code=command.code, name=command.name,
                    display_name=command.display_name, kind=command.kind,
                    position=command.position, active=True)
        db.add(site)
    else:
        site.code, site.name, site.display_name = command.code, command.name, \
            command.display_name
        site.kind, site.position = command.kind, command.position
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="site.update" if before else "site.create", target_type="site",
                 target_id=site.id, changes=audit.diff(before, _snapshot(site, SITE_FIELDS)))
    return site


async def save_department(
    db: AsyncSession, command: DepartmentCommand, *, actor: Actor, clock: Clock,
    department_id: int | None = None,
) -> Department:
    dept = await get(db, Department, department_id) if department_id else None
    if await _code_taken(db, Department, command.code, department_id):
        raise _code_in_use()
    before = _snapshot(dept, DEPARTMENT_FIELDS) if dept else {}
    if dept is None:
        dept = Department(street_id=(await the_street(db)).id, code=command.code,
                          name=command.name, is_legal=command.is_legal, active=True)
        db.add(dept)
    else:
        dept.code, dept.name, dept.is_legal = command.code, command.name, command.is_legal
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="department.update" if before else "department.create",
                 target_type="department", target_id=dept.id,
                 changes=audit.diff(before, _snapshot(dept, DEPARTMENT_FIELDS)))
    return dept


async def save_deputy(
    db: AsyncSession, command: DeputyCommand, *, actor: Actor, clock: Clock,
    deputy_id: int | None = None,
) -> Deputy:
    deputy = await get(db, Deputy, deputy_id) if deputy_id else None
    before = _snapshot(deputy, DEPUTY_FIELDS) if deputy else {}
    if deputy is None:
        deputy = Deputy(street_id=(await the_street(db)).id, name=command.name,
                        kind=command.kind, title=command.title, active=True)
        db.add(deputy)
    else:
        deputy.name, deputy.kind, deputy.title = command.name, command.kind, command.title
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="deputy.update" if before else "deputy.create", target_type="deputy",
                 target_id=deputy.id, changes=audit.diff(before, _snapshot(deputy, DEPUTY_FIELDS)))
    return deputy


async def set_active(
    db: AsyncSession, model: type[Site] | type[Department] | type[Deputy], ident: int,
    active: bool, *, actor: Actor, clock: Clock,
) -> None:
    obj = await get(db, model, ident)
    if obj.active == active:
        return
    obj.active = active
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action=f"{model.__tablename__}.{'activate' if active else 'deactivate'}",
                 target_type=model.__tablename__, target_id=ident,
                 changes={"active": [not active, active]})
