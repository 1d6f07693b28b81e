"""The administrator's list of question categories (邻里与物业, 婚姻家庭, 劳动, ...)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.categories import CategoryList
from server.models import QuestionCategory

CATEGORIES = CategoryList(QuestionCategory, "question_category")
list_categories = CATEGORIES.list
save_category = CATEGORIES.save
set_category_active = CATEGORIES.set_active


async def category_names(db: AsyncSession) -> dict[int, str]:
    return {c.id: c.name for c in await list_categories(db)}


async def fallback_category(db: AsyncSession) -> int | None:
    """The last active category (the catch-all "其他" in the default list)."""
    rows = await list_categories(db, active_only=True)
    return rows[-1].id if rows else None
