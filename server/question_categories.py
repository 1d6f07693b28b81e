"""The administrator's list of question categories (邻里与物业, 婚姻家庭, 劳动, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .clock import Clock
from .directory import Actor, get
from .errors import N_
from .forms import FieldReader
from .models import QuestionCategory

FIELDS = ("name", "position", "active")


async def list_categories(db: AsyncSession, *, active_only: bool = False
                          ) -> list[QuestionCategory]:
    stmt = select(QuestionCategory).order_by(QuestionCategory.position, QuestionCategory.id)
    if active_only:
        stmt = stmt.where(QuestionCategory.active)
    return list(await db.scalars(stmt))


async def category_names(db: AsyncSession) -> dict[int, str]:
    return {c.id: c.name for c in await list_categories(db)}


async def fallback_category(db: AsyncSession) -> int | None:
    """The last active category (the catch-all "其他" in the default list)."""
    rows = await list_categories(db, active_only=True)
    return rows[-1].id if rows else None


async def save_category(
    db: AsyncSession, data: Mapping[str, str], *, actor: Actor, clock: Clock,
    category_id: int | None = None,
) -> QuestionCategory:
    form = FieldReader(data)
    name = form.text("name", max_len=40)
    position = form.integer("position", minimum=0, maximum=999)
    if name:
        stmt = select(func.count()).select_from(QuestionCategory).where(
            QuestionCategory.name == name)
        if category_id is not None:
            stmt = stmt.where(QuestionCategory.id != category_id)
        if await db.scalar(stmt):
            form.fail("name", N_("This name is already in use."))
    form.check()
    category = await get(db, QuestionCategory, category_id) if category_id else None
    before = {f: getattr(category, f) for f in FIELDS} if category else {}
    if category is None:
        category = QuestionCategory(name=name, position=position, active=True)
        db.add(category)
    else:
        category.name, category.position = name, position
    await db.flush()
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action="question_category.update" if before else "question_category.create",
                 target_type="question_category", target_id=category.id,
                 changes=audit.diff(before, {f: getattr(category, f) for f in FIELDS}))
    return category


async def set_category_active(
    db: AsyncSession, category_id: int, active: bool, *, actor: Actor, clock: Clock
) -> None:
    """A deactivated category stays on its questions but is not offered for new ones."""
    category = await get(db, QuestionCategory, category_id)
    if category.active == active:
        return
    category.active = active
    audit.record(db, at=clock(), actor_id=actor.user_id,
                 action=f"question_category.{'activate' if active else 'deactivate'}",
                 target_type="question_category", target_id=category_id,
                 changes={"active": [not active, active]})
