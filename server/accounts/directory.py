"""The street's directory: sites, departments and deputies, and their admin use cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound
from server.core.fields import FieldReader
from server.models import Base, Department, Deputy, DeputyKind, Site, SiteKind, Street

M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Actor:
    """Who performs a use case, for the audit log."""

    user_id: int | None


async def the_street(session: AsyncSession) -> Street:
    street = await session.scalar(select(Street).order_by(Street.id).limit(1))
    if street is None:
        raise NotFound("The street is not set up yet.")
    return street


async def get(session: AsyncSession, model: type[M], ident: int) -> M:
    obj = await session.get(model, ident)
    if obj is None:
        raise NotFound("Not found.")
    return obj


async def is_active(session: AsyncSession, model: type[Base], ident: int | None) -> bool:
    """Whether ``ident`` names an existing, active row of ``model`` (a form's choice)."""
    if ident is None:
        return False
    row = await session.get(model, ident)
    return row is not None and bool(getattr(row, "active", False))


async def list_sites(session: AsyncSession, *, active_only: bool = False) -> list[Site]:
    stmt = select(Site).order_by(Site.position, Site.id)
    if active_only:
        stmt = stmt.where(Site.active)
    return list(await session.scalars(stmt))


async def list_departments(session: AsyncSession, *, active_only: bool = False) -> list[Department]:
    stmt = select(Department).order_by(Department.id)
    if active_only:
        stmt = stmt.where(Department.active)
    return list(await session.scalars(stmt))


async def list_deputies(session: AsyncSession, *, active_only: bool = False) -> list[Deputy]:
    stmt = select(Deputy).order_by(Deputy.id)
    if active_only:
        stmt = stmt.where(Deputy.active)
    return list(await session.scalars(stmt))


def _snapshot(obj: Base, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


SITE_FIELDS = ("code", "name", "display_name", "kind", "position", "active")
DEPARTMENT_FIELDS = ("code", "name", "is_legal", "active")
DEPUTY_FIELDS = ("name", "kind", "title", "active")


async def _code_taken(
    session: AsyncSession, model: type[Site] | type[Department], code: str, own_id: int | None
) -> bool:
    stmt = select(func.count()).select_from(model).where(model.code == code)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return bool(await session.scalar(stmt))


async def save_site(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    site_id: int | None = None,
) -> Site:
    form = FieldReader(data)
    code = form.code("code")
    name = form.text("name", max_len=100)
    display_name = form.text("display_name", max_len=40)
    kind = form.choice("kind", SiteKind)
    position = form.integer("position", minimum=0, maximum=999)
    if code and await _code_taken(session, Site, code, site_id):
        form.fail("code", N_("This code is already in use."))
    form.check()
    assert kind is not None  # form.check() raised otherwise
    site = await get(session, Site, site_id) if site_id else None
    before = _snapshot(site, SITE_FIELDS) if site else {}
    if site is None:
        site = Site(street_id=(await the_street(session)).id, code=code, name=name,
                    display_name=display_name, kind=kind, position=position, active=True)
        session.add(site)
    else:
        site.code, site.name, site.display_name = code, name, display_name
        site.kind, site.position = kind, position
    await session.flush()
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="site.update" if before else "site.create", target_type="site",
                 target_id=site.id, changes=audit.diff(before, _snapshot(site, SITE_FIELDS)))
    return site


async def save_department(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    department_id: int | None = None,
) -> Department:
    form = FieldReader(data)
    code = form.code("code")
    name = form.text("name", max_len=100)
    is_legal = form.flag("is_legal")
    if code and await _code_taken(session, Department, code, department_id):
        form.fail("code", N_("This code is already in use."))
    form.check()
    dept = await get(session, Department, department_id) if department_id else None
    before = _snapshot(dept, DEPARTMENT_FIELDS) if dept else {}
    if dept is None:
        dept = Department(street_id=(await the_street(session)).id, code=code, name=name,
                          is_legal=is_legal, active=True)
        session.add(dept)
    else:
        dept.code, dept.name, dept.is_legal = code, name, is_legal
    await session.flush()
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="department.update" if before else "department.create",
                 target_type="department", target_id=dept.id,
                 changes=audit.diff(before, _snapshot(dept, DEPARTMENT_FIELDS)))
    return dept


async def save_deputy(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    deputy_id: int | None = None,
) -> Deputy:
    form = FieldReader(data)
    name = form.text("name", max_len=100)
    kind = form.choice("kind", DeputyKind)
    title = form.text("title", max_len=200, required=False)
    form.check()
    assert kind is not None
    deputy = await get(session, Deputy, deputy_id) if deputy_id else None
    before = _snapshot(deputy, DEPUTY_FIELDS) if deputy else {}
    if deputy is None:
        deputy = Deputy(street_id=(await the_street(session)).id, name=name, kind=kind,
                        title=title, active=True)
        session.add(deputy)
    else:
        deputy.name, deputy.kind, deputy.title = name, kind, title
    await session.flush()
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="deputy.update" if before else "deputy.create", target_type="deputy",
                 target_id=deputy.id, changes=audit.diff(before, _snapshot(deputy, DEPUTY_FIELDS)))
    return deputy


async def set_active(
    session: AsyncSession, model: type[Site] | type[Department] | type[Deputy], ident: int,
    active: bool, *, actor: Actor, clock: Clock,
) -> None:
    obj = await get(session, model, ident)
    if obj.active == active:
        return
    obj.active = active
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action=f"{model.__tablename__}.{'activate' if active else 'deactivate'}",
                 target_type=model.__tablename__, target_id=ident,
                 changes={"active": [not active, active]})
