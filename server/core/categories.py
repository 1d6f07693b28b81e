"""An administrator-edited list of categories; the opinions and the questions each keep one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.directory import Actor, get
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, ValidationFailed
from server.core.fields import FieldReader
from server.models import OpinionCategory, QuestionCategory

C = TypeVar("C", OpinionCategory, QuestionCategory)
FIELDS = ("name", "position", "active")


@dataclass(frozen=True, kw_only=True)
class CategoryCommand:
    """A category's name and place in the list, as the administrator enters them."""

    name: str
    position: int

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> CategoryCommand:
        form = FieldReader(data)
        name = form.line("name", max_len=40)
        position = form.integer("position", minimum=0, maximum=999)
        form.check()
        return cls(name=name, position=position)


class CategoryList(Generic[C]):
    def __init__(self, model: type[C], target: str) -> None:
        self.model: type[C] = model
        self.target = target  # the audit log's target type

    async def list(self, db: AsyncSession, *, active_only: bool = False) -> list[C]:
        stmt = select(self.model).order_by(self.model.position, self.model.id)
        if active_only:
            stmt = stmt.where(self.model.active)
        return list(await db.scalars(stmt))

    async def save(
        self, db: AsyncSession, command: CategoryCommand, *, actor: Actor, clock: Clock,
        category_id: int | None = None,
    ) -> C:
        category: C | None = await get(db, self.model, category_id) if category_id else None
        stmt = select(func.count()).select_from(self.model).where(
            self.model.name == command.name)
        if category_id is not None:
            stmt = stmt.where(self.model.id != category_id)
        if await db.scalar(stmt):
            raise ValidationFailed("Please correct the marked fields.",
                                   field_errors={"name": N_("This name is already in use.")})
        before = {f: getattr(category, f) for f in FIELDS} if category else {}
        if category is None:
            category = self.model(name=command.name, position=command.position, active=True)
            db.add(category)
        else:
            category.name, category.position = command.name, command.position
        await db.flush()
        audit.record(db, at=clock(), actor_id=actor.user_id,
                     action=f"{self.target}.{'update' if before else 'create'}",
                     target_type=self.target, target_id=category.id,
                     changes=audit.diff(before, {f: getattr(category, f) for f in FIELDS}))
        return category

    async def set_active(
        self, db: AsyncSession, category_id: int, active: bool, *, actor: Actor, clock: Clock
    ) -> None:
        """A deactivated category stays on its items but is not offered for new ones."""
        category = await get(db, self.model, category_id)
        if category.active == active:
            return
        category.active = active
        audit.record(db, at=clock(), actor_id=actor.user_id,
                     action=f"{self.target}.{'activate' if active else 'deactivate'}",
                     target_type=self.target, target_id=category_id,
                     changes={"active": [not active, active]})
