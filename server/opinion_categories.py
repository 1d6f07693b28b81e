"""The administrator's list of opinion categories (设施维修, 环境卫生, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .clock import Clock
from .directory import Actor, get
from .errors import N_
from .forms import FieldReader
from .models import OpinionCategory

FIELDS = ("name", "position", "active")


async def list_categories(session: AsyncSession, *, active_only: bool = False
                          ) -> list[OpinionCategory]:
    stmt = select(OpinionCategory).order_by(OpinionCategory.position, OpinionCategory.id)
    if active_only:
        stmt = stmt.where(OpinionCategory.active)
    return list(await session.scalars(stmt))


async def save_category(
    session: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    category_id: int | None = None,
) -> OpinionCategory:
    form = FieldReader(data)
    name = form.text("name", max_len=40)
    position = form.integer("position", minimum=0, maximum=999)
    if name:
        stmt = select(func.count()).select_from(OpinionCategory).where(
            OpinionCategory.name == name)
        if category_id is not None:
            stmt = stmt.where(OpinionCategory.id != category_id)
        if await session.scalar(stmt):
            form.fail("name", N_("This name is already in use."))
    form.check()
    category = await get(session, OpinionCategory, category_id) if category_id else None
    before = {f: getattr(category, f) for f in FIELDS} if category else {}
    if category is None:
        category = OpinionCategory(name=name, position=position, active=True)
        session.add(category)
    else:
        category.name, category.position = name, position
    await session.flush()
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action="opinion_category.update" if before else "opinion_category.create",
                 target_type="opinion_category", target_id=category.id,
                 changes=audit.diff(before, {f: getattr(category, f) for f in FIELDS}))
    return category


async def set_category_active(
    session: AsyncSession, category_id: int, active: bool, *, actor: Actor, clock: Clock
) -> None:
    """A deactivated category stays on its items but is not offered for new ones."""
    category = await get(session, OpinionCategory, category_id)
    if category.active == active:
        return
    category.active = active
    audit.record(session, at=clock(), actor_id=actor.user_id,
                 action=f"opinion_category.{'activate' if active else 'deactivate'}",
                 target_type="opinion_category", target_id=category_id,
                 changes={"active": [not active, active]})
