"""The figures of the public board, and the published items behind them.

Over the opinion items received in one year (street time):

* received: items recorded (by staff or by residents themselves);
* replied: items the street side answered (progress, result, or a reason);
* closed: items resolved (resolved, confirmed, or closed without objection);
* escalated: items the supervision job escalated to the street office at least once;
* terminated: items ended without a result, with a reason told to the resident (rejected
  or terminated);
* feedback rate: of the items ever resolved, the share on which the resident's word came
  back (confirmed or reopened), as in `server.opinions.stats`;
* satisfaction rate: of the residents' receipts of that year that carry a rating, the share
  rated satisfied (opinions and legal questions alike);
* median working days to reply: receipt to the first reply, in working days of the
  street's calendar (holidays and adjusted working days count as the calendar says).

An item is *published* when it is resolved (resolved, confirmed or closed) and staff wrote
a public answer: only those appear on the board, in Open311, and only their photos from
the result (the resolving step) are served to the public.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from scheduling.clock import utc
from scheduling.planner import SessionStatus
from server.core.errors import NotFound
from server.legal.consultation import LEGAL, department_names
from server.models import (
    Opinion,
    OpinionCategory,
    OpinionEvent,
    OpinionPhoto,
    OpinionStatus,
    Programme,
    ProgrammeSession,
    ResidentReceipt,
    Satisfaction,
)
from server.opinions.lifecycle import DONE, ESCALATE, Action
from server.opinions.stats import year_bounds
from server.opinions.views import load_names
from server.schedule.workdays import load_calendar

ENDED = frozenset({OpinionStatus.REJECTED, OpinionStatus.TERMINATED})
RESOLVED_SHOWN = 20
CONSULTATIONS_SHOWN = 4


def is_published() -> ColumnElement[bool]:
    """Items whose public answer may go out: resolved, with a public answer written."""
    return and_(Opinion.status.in_(DONE), Opinion.public_note != "")


@dataclass(frozen=True, kw_only=True)
class Counts:
    received: int
    replied: int
    closed: int
    escalated: int
    terminated: int
    feedback_rate: float | None
    """0..1; None when nothing was resolved yet."""
    satisfaction_rate: float | None
    """0..1; None when no resident rated yet."""
    rated: int
    median_reply_workdays: float | None


@dataclass(frozen=True, kw_only=True)
class Group:
    key: str
    label: str
    received: int
    closed: int


@dataclass(frozen=True, kw_only=True)
class PublishedItem:
    id: int
    category: str
    site: str
    status: OpinionStatus
    resolved_on: date | None
    public_note: str
    photo_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ConsultationDay:
    starts_at: datetime
    """Local time of the street."""
    department: str


@dataclass(frozen=True, kw_only=True)
class Board:
    year: int
    counts: Counts
    by_month: list[Group]
    by_category: list[Group]
    resolved: list[PublishedItem]
    consultations: list[ConsultationDay]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def _counts(db: AsyncSession, items: list[Opinion], *, start: datetime, end: datetime,
                  tz: tzinfo) -> Counts:
    ids = [i.id for i in items]
    actions: dict[int, set[str]] = defaultdict(set)
    if ids:
        rows = await db.execute(
            select(OpinionEvent.opinion_id, OpinionEvent.action).distinct().where(
                OpinionEvent.opinion_id.in_(ids),
                OpinionEvent.action.in_([ESCALATE, Action.RESOLVE.value, Action.CONFIRM.value,
                                         Action.REOPEN.value])))
        for opinion_id, action in rows:
            actions[int(opinion_id)].add(str(action))
    ever = [i for i in items if Action.RESOLVE.value in actions[i.id]]
    fed_back = [i for i in ever
                if {Action.CONFIRM.value, Action.REOPEN.value} & actions[i.id]]
    calendar = await load_calendar(db)
    days = [max(0, calendar.workdays_between(i.received_at.astimezone(tz).date(),
                                             i.first_reply_at.astimezone(tz).date()))
            for i in items if i.first_reply_at is not None]
    ratings = list(await db.scalars(
        select(ResidentReceipt.satisfaction).where(
            ResidentReceipt.satisfaction.is_not(None), ResidentReceipt.created_at >= start,
            ResidentReceipt.created_at < end)))
    satisfied = sum(r is Satisfaction.SATISFIED for r in ratings)
    return Counts(
        received=len(items),
        replied=sum(i.first_reply_at is not None for i in items),
        closed=sum(i.status in DONE for i in items),
        escalated=sum(ESCALATE in actions[i.id] for i in items),
        terminated=sum(i.status in ENDED for i in items),
        feedback_rate=_rate(len(fed_back), len(ever)),
        satisfaction_rate=_rate(satisfied, len(ratings)), rated=len(ratings),
        median_reply_workdays=float(statistics.median(days)) if days else None,
    )


def _groups(items: list[Opinion], year: int, categories: dict[int, str],
            tz: tzinfo) -> tuple[list[Group], list[Group]]:
    months = {f"{year:04d}-{m:02d}": [0, 0] for m in range(1, 13)}
    by_category: dict[int, list[int]] = {}
    for item in items:
        local = item.received_at.astimezone(tz)
        closed = int(item.status in DONE)
        for bucket in (months[f"{local.year:04d}-{local.month:02d}"],
                       by_category.setdefault(item.category_id, [0, 0])):
            bucket[0] += 1
            bucket[1] += closed
    return ([Group(key=k, label=k, received=v[0], closed=v[1]) for k, v in months.items()],
            [Group(key=str(c), label=categories.get(c, ""), received=v[0], closed=v[1])
             for c, v in sorted(by_category.items(), key=lambda kv: (-kv[1][0], kv[0]))])


async def published(db: AsyncSession, *, tz: tzinfo, limit: int = RESOLVED_SHOWN,
                    ids: list[int] | None = None) -> list[PublishedItem]:
    """The latest published items with their public answer and result photos."""
    stmt = select(Opinion).where(is_published())
    if ids is not None:
        stmt = stmt.where(Opinion.id.in_(ids))
    rows = list(await db.scalars(
        stmt.order_by(Opinion.resolved_at.desc(), Opinion.id.desc()).limit(limit)))
    photos: dict[int, list[int]] = defaultdict(list)
    if rows:
        for photo_id, opinion_id in await db.execute(
                select(OpinionPhoto.id, OpinionPhoto.opinion_id)
                .join(OpinionEvent, OpinionEvent.id == OpinionPhoto.event_id)
                .where(OpinionPhoto.opinion_id.in_([r.id for r in rows]),
                       OpinionEvent.action == Action.RESOLVE.value)
                .order_by(OpinionPhoto.id)):
            photos[int(opinion_id)].append(int(photo_id))
    names = await load_names(db)
    return [PublishedItem(
        id=r.id, category=names.categories.get(r.category_id, ""),
        site=names.sites.get(r.site_id, ""), status=r.status,
        resolved_on=r.resolved_at.astimezone(tz).date() if r.resolved_at else None,
        public_note=r.public_note, photo_ids=tuple(photos[r.id])) for r in rows]


async def public_photo(db: AsyncSession, photo_id: int) -> OpinionPhoto:
    """A photo the public may see: one of the result of a published item, else NotFound."""
    row = (await db.execute(
        select(OpinionPhoto)
        .join(OpinionEvent, OpinionEvent.id == OpinionPhoto.event_id)
        .join(Opinion, Opinion.id == OpinionPhoto.opinion_id)
        .where(OpinionPhoto.id == photo_id, OpinionEvent.action == Action.RESOLVE.value,
               is_published()))).scalar_one_or_none()
    if row is None:
        raise NotFound("Not found.")
    return row


async def _consultations(db: AsyncSession, now: datetime, tz: tzinfo) -> list[ConsultationDay]:
    rows = (await db.execute(
        select(ProgrammeSession.starts_at, ProgrammeSession.department_id)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(LEGAL, Programme.active, ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.ends_at > utc(now))
        .order_by(ProgrammeSession.starts_at).limit(CONSULTATIONS_SHOWN))).all()
    names = await department_names(db)
    return [ConsultationDay(starts_at=starts.astimezone(tz),
                            department=names.get(dept, "") if dept else "")
            for starts, dept in rows]


async def compute(db: AsyncSession, *, year: int, now: datetime, tz: tzinfo) -> Board:
    """The whole board for ``year``; reads only, and only what may be published."""
    start, end = year_bounds(year, tz)
    items = list(await db.scalars(
        select(Opinion).where(Opinion.received_at >= start, Opinion.received_at < end)
        .order_by(Opinion.id)))
    categories = {int(i): str(n) for i, n in await db.execute(
        select(OpinionCategory.id, OpinionCategory.name))}
    by_month, by_category = _groups(items, year, categories, tz)
    return Board(year=year, counts=await _counts(db, items, start=start, end=end, tz=tz),
                 by_month=by_month, by_category=by_category,
                 resolved=await published(db, tz=tz),
                 consultations=await _consultations(db, now, tz))
