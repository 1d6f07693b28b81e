"""Plain views of questions for pages, the queue, the packet and exports.

Who sees a question in full (its contact, its files): its own site, the street office, and
the officers of the department on duty for its session or following it up. Everyone
else who may look at a session's queue sees the question without its contact or files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from server.accounts.users import Principal
from server.core.errors import N_
from server.legal.categories import category_names
from server.legal.consultation import department_names
from server.models import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Outcome,
    ProgrammeSession,
    Question,
    QuestionAttachment,
    QuestionStatus,
    Role,
    Site,
    Source,
    User,
)
from server.residents.places import PlaceView, resident_places

STATUS_LABELS = {
    QuestionStatus.QUEUED: N_("In the queue"),
    QuestionStatus.ANSWERED: N_("Answered"),
    QuestionStatus.MERGED: N_("Merged with another question"),
    QuestionStatus.REJECTED: N_("Not accepted"),
}
OUTCOME_LABELS = {
    Outcome.LIVE: N_("Answered live"),
    Outcome.WRITTEN: N_("Answered in writing later"),
    Outcome.FOLLOW_UP: N_("Follow-up"),
    Outcome.CARRIED_OVER: N_("Carried over to the next session"),
}
FOLLOW_UP_KIND_LABELS = {
    FollowUpKind.ONSITE: N_("On-site consultation"),
    FollowUpKind.MEDIATION: N_("Mediation"),
}
FOLLOW_UP_STATUS_LABELS = {
    FollowUpStatus.PLANNED: N_("Planned"),
    FollowUpStatus.IN_PROGRESS: N_("In progress"),
    FollowUpStatus.CLOSED: N_("Closed"),
    FollowUpStatus.CANCELLED: N_("Cancelled"),
}
OPEN_FOLLOW_UPS = (FollowUpStatus.PLANNED, FollowUpStatus.IN_PROGRESS)


def visible_to(viewer: Principal) -> ColumnElement[bool]:
    """The questions `viewer` sees in full."""
    if viewer.role in (Role.ADMIN, Role.HOST):
        return true()
    if viewer.role is Role.SITE and viewer.site_id is not None:
        return Question.site_id == viewer.site_id
    if viewer.role is Role.OFFICER and viewer.department_id is not None:
        on_duty = select(ProgrammeSession.id).where(
            ProgrammeSession.department_id == viewer.department_id)
        following = select(FollowUp.question_id).where(
            FollowUp.department_id == viewer.department_id)
        return or_(Question.session_id.in_(on_duty), Question.id.in_(following))
    return false()



@dataclass(frozen=True)
class Names:
    sites: dict[int, str]
    categories: dict[int, str]
    departments: dict[int, str]
    users: dict[int, str]


async def load_names(db: AsyncSession) -> Names:
    sites = {s.id: s.name for s in await db.scalars(select(Site).order_by(Site.position))}
    users = {u.id: u.display_name for u in await db.scalars(select(User))}
    return Names(sites=sites, categories=await category_names(db),
                 departments=await department_names(db), users=users)


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class FollowUpView:
    id: int
    question_id: int
    kind: FollowUpKind
    kind_label: str
    department_id: int
    department: str
    due_on: date
    status: FollowUpStatus
    status_label: str
    note: str
    closed_at: datetime | None
    version: int

    @property
    def open(self) -> bool:
        return self.status in OPEN_FOLLOW_UPS


def follow_up_view(row: FollowUp, names: Names) -> FollowUpView:
    return FollowUpView(
        id=row.id, question_id=row.question_id, kind=row.kind,
        kind_label=FOLLOW_UP_KIND_LABELS[row.kind], department_id=row.department_id,
        department=names.departments.get(row.department_id, ""), due_on=row.due_on,
        status=row.status, status_label=FOLLOW_UP_STATUS_LABELS[row.status], note=row.note,
        closed_at=row.closed_at, version=row.version)


@dataclass(frozen=True)
class LinkView:
    """Another question this one points at (merged into, merged from, carried)."""

    id: int
    session_id: int
    site: str
    text: str
    status: QuestionStatus
    status_label: str
    answer_summary: str
    outcome_label: str | None


@dataclass(frozen=True)
class QuestionView:
    id: int
    session_id: int
    requested_session_id: int | None
    site_id: int
    site: str
    category_id: int
    category: str
    text: str
    resident_name: str | None
    contact: str | None  # None: not shown to this viewer
    full: bool  # the viewer may see the contact and the files
    status: QuestionStatus
    status_label: str
    outcome: Outcome | None
    outcome_label: str | None
    answer_summary: str
    answered_at: datetime | None
    answered_by: str
    reject_reason: str
    position: int
    raised_live: bool
    answering: bool
    submitted_at: datetime
    submitted_by: str
    """The staff member who submitted it; "" when the resident filed it (``from_resident``)."""
    changed_at: datetime
    version: int
    from_resident: bool = False
    """Filed by the resident from the site's QR page."""
    place: PlaceView | None = None
    """Where the resident said it is (shown to those who see the question in full)."""
    attachments: tuple[AttachmentView, ...] = ()
    follow_up: FollowUpView | None = None
    merged_into: LinkView | None = None
    merged_from: tuple[LinkView, ...] = ()
    carried_from: LinkView | None = None
    carried_to: LinkView | None = None

    @property
    def queued(self) -> bool:
        return self.status is QuestionStatus.QUEUED


def _link(row: Question, names: Names) -> LinkView:
    return LinkView(id=row.id, session_id=row.session_id, site=names.sites.get(row.site_id, ""),
                    text=row.text, status=row.status, status_label=STATUS_LABELS[row.status],
                    answer_summary=row.answer_summary,
                    outcome_label=OUTCOME_LABELS[row.outcome] if row.outcome else None)


async def views(db: AsyncSession, rows: Sequence[Question], *, viewer: Principal,
                names: Names | None = None) -> list[QuestionView]:
    """Views of `rows` in their order, with files, follow-ups and links loaded at once."""
    if not rows:
        return []
    names = names or await load_names(db)
    ids = [q.id for q in rows]
    full = set(await db.scalars(select(Question.id).where(Question.id.in_(ids),
                                                          visible_to(viewer))))
    files: dict[int, list[AttachmentView]] = {}
    for a in await db.scalars(select(QuestionAttachment).where(
            QuestionAttachment.question_id.in_(ids)).order_by(QuestionAttachment.id)):
        files.setdefault(a.question_id, []).append(
            AttachmentView(a.id, a.filename, a.content_type, a.size))
    _, places = await resident_places(db, question_ids=ids)
    follow_ups = {f.question_id: follow_up_view(f, names) for f in await db.scalars(
        select(FollowUp).where(FollowUp.question_id.in_(ids)))}
    linked_ids = {q.merged_into_id for q in rows if q.merged_into_id} | {
        q.carried_from_id for q in rows if q.carried_from_id}
    others = {q.id: q for q in await db.scalars(
        select(Question).where(or_(Question.id.in_(linked_ids), Question.merged_into_id.in_(ids),
                                   Question.carried_from_id.in_(ids))))}
    merged_from: dict[int, list[LinkView]] = {}
    carried_to: dict[int, LinkView] = {}
    for other in sorted(others.values(), key=lambda q: q.id):
        if other.merged_into_id in ids:
            merged_from.setdefault(other.merged_into_id, []).append(_link(other, names))
        if other.carried_from_id in ids:
            carried_to[other.carried_from_id] = _link(other, names)
    out = []
    for q in rows:
        shown = q.id in full
        into = others.get(q.merged_into_id) if q.merged_into_id else None
        origin = others.get(q.carried_from_id) if q.carried_from_id else None
        out.append(QuestionView(
            id=q.id, session_id=q.session_id, requested_session_id=q.requested_session_id,
            site_id=q.site_id, site=names.sites.get(q.site_id, ""), category_id=q.category_id,
            category=names.categories.get(q.category_id, ""), text=q.text,
            resident_name=q.resident_name, contact=q.contact if shown else None, full=shown,
            status=q.status, status_label=STATUS_LABELS[q.status], outcome=q.outcome,
            outcome_label=OUTCOME_LABELS[q.outcome] if q.outcome else None,
            answer_summary=q.answer_summary, answered_at=q.answered_at,
            answered_by=names.users.get(q.answered_by_id, "") if q.answered_by_id else "",
            reject_reason=q.reject_reason, position=q.position, raised_live=q.raised_live,
            answering=q.answering_at is not None and q.status is QuestionStatus.QUEUED,
            submitted_at=q.submitted_at, submitted_by=(names.users.get(q.submitted_by_id, "")
                          if q.submitted_by_id is not None else ""),
            changed_at=q.changed_at, version=q.version,
            from_resident=q.source is Source.RESIDENT,
            place=places.get(q.id) if shown else None,
            attachments=tuple(files.get(q.id, ())) if shown else (),
            follow_up=follow_ups.get(q.id),
            merged_into=_link(into, names) if into else None,
            merged_from=tuple(merged_from.get(q.id, ())),
            carried_from=_link(origin, names) if origin else None,
            carried_to=carried_to.get(q.id)))
    return out


async def session_questions(db: AsyncSession, session_id: int) -> list[Question]:
    """A session's questions in queue order."""
    return list(await db.scalars(select(Question).where(Question.session_id == session_id)
                                 .order_by(Question.position, Question.id)))
