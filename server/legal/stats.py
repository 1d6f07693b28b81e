"""Figures of the legal consultation day: per session, per site, per department, per
category over time (collected, answered, carried over, follow-ups).

Every active site, every active legal department and every active category is listed,
also with nothing to count, and every table has a total row: each question belongs to one
session, one site and one category, and each session to one department, so the total row
is the column sums."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from server.accounts import directory
from server.legal.categories import list_categories
from server.legal.consultation import LEGAL, SessionInfo, infos
from server.legal.views import OPEN_FOLLOW_UPS
from server.models import (
    FollowUp,
    Outcome,
    Programme,
    ProgrammeSession,
    Question,
    QuestionStatus,
)

DEFAULT_DAYS = 365


@dataclass(frozen=True)
class Counts:
    collected: int = 0  # sent in ahead (carried-over questions included)
    raised_live: int = 0
    answered: int = 0  # answered live, in writing or with a follow-up
    carried_over: int = 0
    follow_ups: int = 0
    follow_ups_open: int = 0
    rejected: int = 0
    merged: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.collected, self.raised_live, self.answered, self.carried_over,
                self.follow_ups, self.follow_ups_open, self.rejected, self.merged)


@dataclass(frozen=True)
class SessionRow:
    session: SessionInfo
    counts: Counts


@dataclass(frozen=True)
class SiteRow:
    site: str
    counts: Counts


@dataclass(frozen=True)
class DepartmentRow:
    department: str
    sessions: int
    counts: Counts


@dataclass(frozen=True)
class CategoryRow:
    category: str
    by_month: list[int]

    @property
    def total(self) -> int:
        return sum(self.by_month)


@dataclass(frozen=True)
class QuestionStats:
    since: datetime
    sessions: list[SessionRow]
    sites: list[SiteRow]
    departments: list[DepartmentRow]
    months: list[str]
    categories: list[CategoryRow]
    total: Counts

    @property
    def month_totals(self) -> list[int]:
        return [sum(c.by_month[i] for c in self.categories) for i in range(len(self.months))]

    @property
    def category_total(self) -> int:
        return sum(c.total for c in self.categories)


def _counts(questions: list[Question], follow_ups: dict[int, FollowUp]) -> Counts:
    answered = [q for q in questions if q.status is QuestionStatus.ANSWERED]
    mine = [follow_ups[q.id] for q in questions if q.id in follow_ups]
    return Counts(
        collected=sum(1 for q in questions if not q.raised_live),
        raised_live=sum(1 for q in questions if q.raised_live),
        answered=sum(1 for q in answered if q.outcome is not Outcome.CARRIED_OVER),
        carried_over=sum(1 for q in answered if q.outcome is Outcome.CARRIED_OVER),
        follow_ups=len(mine), follow_ups_open=sum(1 for f in mine if f.status in OPEN_FOLLOW_UPS),
        rejected=sum(1 for q in questions if q.status is QuestionStatus.REJECTED),
        merged=sum(1 for q in questions if q.status is QuestionStatus.MERGED))


async def question_stats(db: AsyncSession, *, now: datetime,
                         days: int = DEFAULT_DAYS) -> QuestionStats:
    since = utc(now) - timedelta(days=days)
    session_ids = list(await db.scalars(
        select(ProgrammeSession.id).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(LEGAL, ProgrammeSession.starts_at >= since,
               ProgrammeSession.id.in_(select(Question.session_id)))))
    sessions = await infos(db, session_ids)
    questions = list(await db.scalars(select(Question).where(
        Question.session_id.in_(session_ids)))) if session_ids else []
    follow_ups = {f.question_id: f for f in await db.scalars(select(FollowUp).where(
        FollowUp.question_id.in_([q.id for q in questions])))} if questions else {}
    by_session: dict[int, list[Question]] = {}
    for q in questions:
        by_session.setdefault(q.session_id, []).append(q)
    ordered = sorted(sessions.values(), key=lambda s: s.starts_at, reverse=True)
    rows = [SessionRow(s, _counts(by_session.get(s.id, []), follow_ups)) for s in ordered]
    by_site: dict[int, list[Question]] = {}
    for q in questions:
        by_site.setdefault(q.site_id, []).append(q)
    site_rows = [SiteRow(site.name, _counts(by_site.get(site.id, []), follow_ups))
                 for site in await directory.list_sites(db)
                 if site.active or site.id in by_site]
    departments: dict[str, list[SessionRow]] = {
        d.name: [] for d in await directory.list_departments(db, active_only=True)
        if d.is_legal}
    for row in rows:
        departments.setdefault(row.session.department_name or "—", []).append(row)
    dept_rows = [DepartmentRow(name, len(group), sum((r.counts for r in group), Counts()))
                 for name, group in sorted(departments.items())]
    months = sorted({s.local_start.strftime("%Y-%m") for s in sessions.values()})
    tally: Counter[tuple[int, str]] = Counter()
    for q in questions:
        if q.status is not QuestionStatus.MERGED:
            tally[(q.category_id, sessions[q.session_id].local_start.strftime("%Y-%m"))] += 1
    categories = [CategoryRow(c.name, [tally[(c.id, m)] for m in months])
                  for c in await list_categories(db)
                  if c.active or any(tally[(c.id, m)] for m in months)]
    return QuestionStats(
        since=since, sessions=rows, sites=site_rows, departments=dept_rows, months=months,
        categories=categories, total=sum((r.counts for r in rows), Counts()))
