"""Opinion items: record, list, read and move them through their life (opinion_lifecycle).

Who sees what: the street office (host, admin) sees every item; a site its own; a
department the items assigned to it; a deputy the items they recorded or that were
collected at their duty hours. An item someone may not see does not exist for them (404).

Every change is one compare-and-set UPDATE (``WHERE version = <the version read>``): of two
concurrent changes one wins and the other gets ``Conflict``. Each change writes a timeline
line, an audit entry and the notifications in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, cast

from sqlalchemy import and_, false, func, or_, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from scheduling.deadlines import DEFAULT_REPLY_WORKDAYS, Deadline, due_in_workdays
from server.accounts.directory import is_active
from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from server.core.fields import FieldReader
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
)
from server.notify import inbox
from server.opinions import photos as opinion_photos
from server.opinions.commands import CreateOpinion, TransitionOpinion
from server.opinions.lifecycle import (
    CREATE,
    FINISHED,
    OPEN,
    Action,
    Transition,
    authorize,
    parties_of,
    plan,
)
from server.opinions.lifecycle import available as available_actions
from server.opinions.views import (
    OpinionDetail,
    OpinionSummary,
    detail,
    is_overdue,
    load_names,
    summary,
    user_names,
)
from server.residents import notify as resident_notice
from server.residents.places import resident_places
from server.schedule.workdays import load_calendar

PAGE_SIZE = 50
RECORDERS = frozenset({Role.ADMIN, Role.HOST, Role.SITE, Role.DEPUTY})


def visible_to(viewer: Principal) -> ColumnElement[bool]:
    if viewer.role in (Role.ADMIN, Role.HOST):
        return true()
    if viewer.role is Role.SITE and viewer.site_id is not None:
        return Opinion.site_id == viewer.site_id
    if viewer.role is Role.OFFICER and viewer.department_id is not None:
        return Opinion.department_id == viewer.department_id
    if viewer.role is Role.DEPUTY:
        mine = Opinion.recorded_by_id == viewer.user_id
        return or_(mine, Opinion.deputy_id == viewer.deputy_id) if viewer.deputy_id else mine
    return false()


@dataclass(frozen=True, kw_only=True)
class Filters:
    status: OpinionStatus | None = None
    site_id: int | None = None
    department_id: int | None = None
    category_id: int | None = None
    deputy_id: int | None = None
    flagged: bool = False
    q: str = ""
    received_from: datetime | None = None
    received_before: datetime | None = None

    def where(self, now: datetime) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.status is not None:
            out.append(Opinion.status == self.status)
        for column, value in ((Opinion.site_id, self.site_id),
                              (Opinion.department_id, self.department_id),
                              (Opinion.category_id, self.category_id),
                              (Opinion.deputy_id, self.deputy_id)):
            if value is not None:
                out.append(column == value)
        if self.flagged:
            out.append(and_(Opinion.status.in_(OPEN),
                            or_(Opinion.escalated_at.is_not(None), Opinion.due_at <= now)))
        if self.q:
            out.append(Opinion.text.contains(self.q, autoescape=True))
        if self.received_from is not None:
            out.append(Opinion.received_at >= self.received_from)
        if self.received_before is not None:
            out.append(Opinion.received_at < self.received_before)
        return out


def parse_filters(query: Mapping[str, str]) -> Filters:
    form = FieldReader(query)
    raw_status = str(query.get("status", "")).strip()
    status = form.choice("status", OpinionStatus) if raw_status else None
    site_id, department_id, category_id, deputy_id = (
        form.optional_id(name) for name in ("site_id", "department_id", "category_id",
                                            "deputy_id"))
    q = form.line("q", max_len=100, required=False)
    form.check()
    return Filters(status=status, site_id=site_id, department_id=department_id,
                   category_id=category_id, deputy_id=deputy_id, flagged=form.flag("flagged"),
                   q=q)


async def list_items(
    db: AsyncSession, viewer: Principal, filters: Filters, *, now: datetime,
    limit: int = PAGE_SIZE, offset: int = 0,
) -> tuple[list[OpinionSummary], int]:
    conditions = [visible_to(viewer), *filters.where(now)]
    total = await db.scalar(select(func.count()).select_from(Opinion).where(*conditions))
    rows = await db.scalars(
        select(Opinion).where(*conditions)
        .order_by(Opinion.received_at.desc(), Opinion.id.desc()).limit(limit).offset(offset))
    names = await load_names(db)
    return [summary(item, names, now) for item in rows], total or 0


async def _visible(db: AsyncSession, viewer: Principal, opinion_id: int) -> Opinion:
    item = await db.scalar(
        select(Opinion).where(Opinion.id == opinion_id, visible_to(viewer)))
    if item is None:
        raise NotFound("Not found.")
    return item


async def get_detail(
    db: AsyncSession, viewer: Principal, opinion_id: int, *, now: datetime
) -> OpinionDetail:
    item = await _visible(db, viewer, opinion_id)
    events = list(await db.scalars(
        select(OpinionEvent).where(OpinionEvent.opinion_id == item.id)
        .order_by(OpinionEvent.at, OpinionEvent.id)))
    photos = list(await db.scalars(
        select(OpinionPhoto).where(OpinionPhoto.opinion_id == item.id)
        .order_by(OpinionPhoto.id)))
    users = await user_names(db, [item.recorded_by_id, *(e.actor_id for e in events)])
    parties = parties_of(viewer, site_id=item.site_id, department_id=item.department_id)
    places, _ = await resident_places(db, opinion_ids=[item.id])
    return detail(item, viewer=viewer, names=await load_names(db), users=users, now=now,
                  events=events, photos=photos, place=places.get(item.id),
                  actions=available_actions(item.status, parties))


async def photo_for(db: AsyncSession, viewer: Principal, photo_id: int) -> OpinionPhoto:
    """A photo row, only for someone who may see its item."""
    photo = await db.get(OpinionPhoto, photo_id)
    if photo is None:
        raise NotFound("Not found.")
    await _visible(db, viewer, photo.opinion_id)
    return photo


async def create(
    db: AsyncSession, command: CreateOpinion, *, viewer: Principal, clock: Clock,
    uploads: Sequence[opinion_photos.Upload] = (), uploads_dir: Path,
) -> Opinion:
    """Record an item: a site for itself, the street office and deputies for any site."""
    if viewer.role not in RECORDERS:
        raise Forbidden("You may not record opinion items.")
    errors: dict[str, str] = {}
    site_id = viewer.site_id if viewer.role is Role.SITE else command.site_id
    category_id = command.category_id
    deputy_id = viewer.deputy_id if viewer.role is Role.DEPUTY else command.deputy_id
    if not await is_active(db, Site, site_id):
        errors["site_id"] = N_("Choose one of the options.")
    if not await is_active(db, OpinionCategory, category_id):
        errors["category_id"] = N_("Choose one of the options.")
    if deputy_id is not None and await db.get(Deputy, deputy_id) is None:
        errors["deputy_id"] = N_("Choose one of the options.")
    try:
        photos = opinion_photos.check(uploads)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        photos = []
    if errors or site_id is None:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    now = clock()
    item = Opinion(text=command.text, site_id=site_id, category_id=category_id,
                   resident_name=command.resident_name, contact=command.contact,
                   recorded_by_id=viewer.user_id, deputy_id=deputy_id,
                   status=OpinionStatus.RECEIVED, received_at=now, updated_at=now,
                   public_note="", version=1)
    db.add(item)
    await db.flush()
    event = OpinionEvent(opinion_id=item.id, at=now, actor_id=viewer.user_id, action=CREATE,
                         from_status=None, to_status=OpinionStatus.RECEIVED, note="")
    db.add(event)
    await db.flush()
    _add_photos(db, item.id, event.id, photos, viewer.user_id, now, uploads_dir)
    audit.record(db, at=now, actor_id=viewer.user_id, action="opinion.create",
                 target_type="opinion", target_id=item.id,
                 changes={"status": [None, item.status.value], "site_id": [None, site_id],
                          "category_id": [None, category_id], "photos": [None, len(photos)]})
    site = await db.get(Site, site_id)
    await inbox.deliver(db, await inbox.recipients(db, roles=(Role.HOST, Role.ADMIN)),
                        inbox.Message(kind="opinion.new",
                                      title=N_("New opinion item #%(id)s from %(site)s"),
                                      params={"id": item.id, "site": site.name if site else ""},
                                      link=f"/opinions/{item.id}",
                                      dedupe_key=f"opinion:{item.id}:create"), clock=clock)
    return item


def _add_photos(db: AsyncSession, opinion_id: int, event_id: int,
                photos: Sequence[opinion_photos.Photo], user_id: int | None, now: datetime,
                uploads_dir: Path) -> None:
    for photo in photos:
        opinion_photos.store(uploads_dir, photo)
        db.add(OpinionPhoto(opinion_id=opinion_id, event_id=event_id, sha256=photo.sha256,
                                 content_type=photo.content_type, size=photo.size,
                                 uploaded_at=now, uploaded_by_id=user_id))


async def transition(
    db: AsyncSession, opinion_id: int, command: TransitionOpinion, *, viewer: Principal,
    clock: Clock, tz: tzinfo, uploads: Sequence[opinion_photos.Upload] = (),
    uploads_dir: Path,
) -> Opinion:
    """Apply ``command.action`` for ``viewer``; ``command.version`` is the version the viewer
    saw, so acting on a stale page is refused rather than silently applied."""
    item = await _visible(db, viewer, opinion_id)
    parties = parties_of(viewer, site_id=item.site_id, department_id=item.department_id)
    authorize(command.action, parties)
    if command.version != item.version:
        # Checked before the state: the loser of a race learns why, not a puzzling refusal.
        raise Conflict("Someone else changed this item first. Please look at its current "
                       "state and try again.")
    step = plan(item.status, command.action, parties)
    errors: dict[str, str] = {}
    public_note: str | None = None
    if publishes(step) and command.public_note is not None:
        # The public answer and the internal note are apart: the answer is required, the
        # note stays in the timeline only.
        public_note = command.public_note
        if not public_note:
            errors["public_note"] = N_("This field is required.")
    elif step.note_required and not command.note:
        errors["note"] = N_("This field is required.")
    department_id: int | None = None
    workdays = DEFAULT_REPLY_WORKDAYS
    if step.needs_department:
        department_id = command.department_id
        if not await is_active(db, Department, department_id):
            errors["department_id"] = N_("Choose one of the options.")
        if command.workdays is not None:
            workdays = command.workdays
    merged_into_id: int | None = None
    if step.needs_target:
        merged_into_id = command.merged_into_id
        if merged_into_id is None:
            errors["merged_into_id"] = N_("This field is required.")
        elif merged_into_id == item.id:
            errors["merged_into_id"] = N_("An item cannot be merged into itself.")
        else:
            target = await db.get(Opinion, merged_into_id)
            if target is None or target.status in (OpinionStatus.REJECTED,
                                                   OpinionStatus.TERMINATED):
                errors["merged_into_id"] = N_("Choose an item that is still open or "
                                              "resolved.")
    photos: list[opinion_photos.Photo] = []
    if step.takes_photos:
        try:
            photos = opinion_photos.check(uploads)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationFailed("Please correct the marked fields.", field_errors=errors)
    now = clock()
    deadline = None
    if step.new_deadline:
        deadline = due_in_workdays(now, workdays, calendar=await load_calendar(db), tz=tz)
    await apply(db, item, step, actor_id=viewer.user_id, now=now, note=command.note,
                public_note=public_note, department_id=department_id, deadline=deadline,
                photos=photos, merged_into_id=merged_into_id,
                uploads_dir=uploads_dir, clock=clock)
    if publishes(step):
        await resident_notice.opinion_answered(db, item, clock=clock)
    return item


def publishes(step: Transition) -> bool:
    """The step sets the public answer: the result, or the reason told to the resident."""
    return step.target is OpinionStatus.RESOLVED or step.action in (Action.REJECT,
                                                                    Action.TERMINATE)


async def compare_and_set(db: AsyncSession, item: Opinion, values: dict[str, Any]) -> None:
    """UPDATE ... WHERE id = :id AND version = :seen; Conflict when someone was faster."""
    stmt = (update(Opinion)
            .where(Opinion.id == item.id, Opinion.version == item.version)
            .values(**values, version=item.version + 1)
            .execution_options(synchronize_session=False))
    result = cast("CursorResult[Any]", await db.execute(stmt))
    if result.rowcount != 1:
        raise Conflict("Someone else changed this item first. Please look at its current "
                       "state and try again.")
    for key, value in {**values, "version": item.version + 1}.items():
        set_committed_value(item, key, value)


async def apply(
    db: AsyncSession, item: Opinion, step: Transition, *, actor_id: int | None,
    now: datetime, note: str, clock: Clock, public_note: str | None = None,
    department_id: int | None = None,
    deadline: Deadline | None = None, photos: Sequence[opinion_photos.Photo] = (),
    uploads_dir: Path | None = None, merged_into_id: int | None = None,
) -> OpinionEvent:
    """Move ``item`` along ``step`` (already planned): CAS update, timeline, audit, inbox.

    ``public_note`` is the public answer of a step that publishes one; None publishes
    ``note`` (callers that do not keep the two apart)."""
    published = note if public_note is None else public_note
    before, before_department, before_due = item.status, item.department_id, item.due_day
    values: dict[str, Any] = {"status": step.target, "updated_at": now}
    if department_id is not None:
        values["department_id"] = department_id
    if deadline is not None:
        values.update(due_day=deadline.day, due_at=deadline.at, escalated_at=None)
    if step.action is Action.ACCEPT:
        values["accepted_at"] = now
    if step.is_reply and item.first_reply_at is None:
        values["first_reply_at"] = now
    if is_overdue(item, now) and item.overdue_at is None:
        values["overdue_at"] = now
    if step.target is OpinionStatus.RESOLVED:
        values.update(resolved_at=now, public_note=published)
    if step.action is Action.REOPEN:
        values.update(resolved_at=None, public_note="")
    if step.action in (Action.REJECT, Action.TERMINATE):
        values["public_note"] = published
    if step.target in FINISHED:
        values["finished_at"] = now
    if merged_into_id is not None:
        values["merged_into_id"] = merged_into_id
    await compare_and_set(db, item, values)
    event = OpinionEvent(opinion_id=item.id, at=now, actor_id=actor_id, action=step.action.value,
                         from_status=before, to_status=step.target, note=note,
                         department_id=department_id,
                         due_day=deadline.day if deadline else None)
    db.add(event)
    await db.flush()
    if photos:
        assert uploads_dir is not None
        _add_photos(db, item.id, event.id, photos, actor_id, now, uploads_dir)
    changes: dict[str, object] = {"status": [before.value, step.target.value]}
    if department_id is not None:
        changes["department_id"] = [before_department, department_id]
    if deadline is not None:
        changes["due_day"] = [before_due.isoformat() if before_due else None,
                              deadline.day.isoformat()]
    if photos:
        changes["photos"] = [None, len(photos)]
    if merged_into_id is not None:
        changes["merged_into_id"] = [None, merged_into_id]
    audit.record(db, at=now, actor_id=actor_id, action=f"opinion.{step.action.value}",
                 target_type="opinion", target_id=item.id, changes=changes)
    await _notify(db, item, step, event, clock)
    return event


NOTICES: dict[Action, tuple[str, str]] = {
    Action.ACCEPT: ("department", N_("Opinion item #%(id)s was assigned to your department; "
                                    "reply by %(due)s")),
    Action.REASSIGN: ("department", N_("Opinion item #%(id)s was assigned to your department; "
                                      "reply by %(due)s")),
    Action.REOPEN: ("department", N_("Opinion item #%(id)s was reopened: the resident is not "
                                    "satisfied; reply by %(due)s")),
    Action.RESOLVE: ("site", N_("Opinion item #%(id)s was resolved: please confirm it with "
                               "the resident")),
    Action.REJECT: ("site", N_("Opinion item #%(id)s was rejected")),
    Action.TERMINATE: ("site", N_("Opinion item #%(id)s was terminated")),
    Action.MERGE: ("site", N_("Opinion item #%(id)s was merged into another item about the "
                             "same matter")),
    Action.AUTO_CLOSE: ("site", N_("Opinion item #%(id)s was closed automatically")),
}


async def _notify(db: AsyncSession, item: Opinion, step: Transition, event: OpinionEvent,
                  clock: Clock) -> None:
    notice = NOTICES.get(step.action)
    if notice is None:
        return
    who, title = notice
    if who == "department":
        ids = await inbox.recipients(db, department_id=item.department_id)
    else:
        ids = await inbox.recipients(db, site_ids=[item.site_id], deputy_id=item.deputy_id)
    await inbox.deliver(db, ids, inbox.Message(
        kind=f"opinion.{step.action.value}", title=title, body=event.note,
        params={"id": item.id, "due": item.due_day.isoformat() if item.due_day else ""},
        link=f"/opinions/{item.id}", dedupe_key=f"opinion:{item.id}:event:{event.id}"),
        clock=clock)
