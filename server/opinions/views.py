"""What readers of opinion items get: plain DTOs, with personal data only for those allowed.

The contact is kept from everyone but the item's site, the street office and the assigned
department; the resident's name from Open311 always (that view never sees these DTOs'
personal fields). Templates and the JSON API get these objects, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.models import (
    Department,
    Deputy,
    Opinion,
    OpinionCategory,
    OpinionEvent,
    OpinionPhoto,
    OpinionStatus,
    Role,
    Site,
    Source,
    User,
)
from server.opinions.lifecycle import EVENT_LABELS, OPEN, STATUS_LABELS, Action
from server.residents.places import PlaceView


@dataclass(frozen=True)
class Names:
    """Display names of the small directory tables, loaded once per request."""

    sites: dict[int, str]
    departments: dict[int, str]
    categories: dict[int, str]
    deputies: dict[int, str]


async def load_names(db: AsyncSession) -> Names:
    async def pairs(stmt: object) -> dict[int, str]:
        rows = await db.execute(stmt)  # type: ignore[call-overload]
        return {int(i): str(n) for i, n in rows}

    return Names(
        sites=await pairs(select(Site.id, Site.name)),
        departments=await pairs(select(Department.id, Department.name)),
        categories=await pairs(select(OpinionCategory.id, OpinionCategory.name)),
        deputies=await pairs(select(Deputy.id, Deputy.name)),
    )


async def user_names(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows.all()}


def contact_visible(viewer: Principal, item: Opinion) -> bool:
    if viewer.role in (Role.ADMIN, Role.HOST):
        return True
    if viewer.role is Role.SITE:
        return viewer.site_id == item.site_id
    if viewer.role is Role.OFFICER:
        return item.department_id is not None and viewer.department_id == item.department_id
    return False


def is_overdue(item: Opinion, now: datetime) -> bool:
    return item.status in OPEN and item.due_at is not None and now >= item.due_at


@dataclass(frozen=True, kw_only=True)
class OpinionSummary:
    id: int
    text: str
    site_id: int
    site: str
    category_id: int
    category: str
    status: OpinionStatus
    department_id: int | None
    department: str | None
    deputy_id: int | None
    deputy: str | None
    resident_name: str | None
    """None when the resident stays anonymous."""
    received_at: datetime
    updated_at: datetime
    due_day: date | None
    due_at: datetime | None
    overdue: bool
    escalated: bool
    public_note: str
    """The public answer: the result, or the reason for rejecting or terminating."""
    version: int
    from_resident: bool = False
    """Filed by the resident from the site's QR page (no staff recorded it)."""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def flagged(self) -> bool:
        """The red flag on every list: past the due date, or escalated to the street office."""
        return self.overdue or self.escalated


@dataclass(frozen=True, kw_only=True)
class PhotoView:
    id: int
    content_type: str
    event_id: int | None


@dataclass(frozen=True, kw_only=True)
class EventView:
    id: int
    at: datetime
    actor: str | None
    """None for the supervision job."""
    action: str
    from_status: OpinionStatus | None
    to_status: OpinionStatus | None
    note: str
    department: str | None
    due_day: date | None
    photos: list[PhotoView] = field(default_factory=list)

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)


@dataclass(frozen=True, kw_only=True)
class OpinionDetail:
    item: OpinionSummary
    contact: str | None
    """None when hidden from this viewer (also when there is none: see ``contact_shown``)."""
    contact_shown: bool
    recorded_by: str
    """The staff member who recorded it; "" when the resident filed it (``from_resident``)."""
    place: PlaceView | None
    """Where the resident said it is; None when they gave no place."""
    events: list[EventView]
    photos: list[PhotoView]
    """Every photo of the item; each event also lists its own."""
    actions: list[Action]


def summary(item: Opinion, names: Names, now: datetime) -> OpinionSummary:
    return OpinionSummary(
        id=item.id, text=item.text, site_id=item.site_id,
        site=names.sites.get(item.site_id, ""), category_id=item.category_id,
        category=names.categories.get(item.category_id, ""), status=item.status,
        department_id=item.department_id,
        department=names.departments.get(item.department_id) if item.department_id else None,
        deputy_id=item.deputy_id,
        deputy=names.deputies.get(item.deputy_id) if item.deputy_id else None,
        resident_name=item.resident_name, received_at=item.received_at,
        updated_at=item.updated_at, due_day=item.due_day, due_at=item.due_at,
        overdue=is_overdue(item, now),
        escalated=item.escalated_at is not None and item.status in OPEN,
        public_note=item.public_note, version=item.version,
        from_resident=item.source is Source.RESIDENT,
    )


def detail(
    item: Opinion, *, viewer: Principal, names: Names, users: dict[int, str], now: datetime,
    events: Sequence[OpinionEvent], photos: Sequence[OpinionPhoto], actions: list[Action],
    place: PlaceView | None = None,
) -> OpinionDetail:
    views = [PhotoView(id=p.id, content_type=p.content_type, event_id=p.event_id)
             for p in photos]
    by_event: dict[int | None, list[PhotoView]] = {}
    for view in views:
        by_event.setdefault(view.event_id, []).append(view)
    shown = contact_visible(viewer, item)
    return OpinionDetail(
        item=summary(item, names, now),
        contact=item.contact if shown else None,
        contact_shown=shown,
        recorded_by=(users.get(item.recorded_by_id, "")
                     if item.recorded_by_id is not None else ""),
        place=place,
        events=[EventView(
            id=e.id, at=e.at, actor=users.get(e.actor_id) if e.actor_id else None,
            action=e.action, from_status=e.from_status, to_status=e.to_status, note=e.note,
            department=names.departments.get(e.department_id) if e.department_id else None,
            due_day=e.due_day, photos=by_event.get(e.id, [])) for e in events],
        photos=views,
        actions=actions,
    )
