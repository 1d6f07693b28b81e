"""A site's record of its questions and their answers: the printable list for the
community notice board (no names, no contacts: it hangs in a public corridor)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.errors import Forbidden, NotFound
from server.legal.consultation import SessionInfo, infos
from server.legal.views import QuestionView, views
from server.models import ProgrammeSession, Question, QuestionStatus, Role, Site

ON_BOARD = (QuestionStatus.QUEUED, QuestionStatus.ANSWERED, QuestionStatus.MERGED)


@dataclass(frozen=True)
class Board:
    site_id: int
    site: str
    session: SessionInfo | None
    sessions: list[SessionInfo]  # the sessions the site has questions in, newest first
    questions: list[QuestionView]


async def board(db: AsyncSession, viewer: Principal, *, site_id: int | None,
                session_id: int | None) -> Board:
    if viewer.role is Role.SITE:
        if site_id is not None and site_id != viewer.site_id:
            raise Forbidden("A site sees only its own board.")
        site_id = viewer.site_id
    if site_id is None:
        first = await db.scalar(select(Site).where(Site.active)
                                .order_by(Site.position, Site.id).limit(1))
        if first is None:
            raise NotFound("Not found.")
        site_id = first.id
    site = await db.get(Site, site_id)
    if site is None:
        raise NotFound("Not found.")
    ids = list(await db.scalars(
        select(ProgrammeSession.id).where(ProgrammeSession.id.in_(
            select(Question.session_id).where(Question.site_id == site_id)))
        .order_by(ProgrammeSession.starts_at.desc())))
    sessions = await infos(db, ids)
    ordered = [sessions[i] for i in ids if i in sessions]
    chosen = sessions.get(session_id) if session_id is not None else \
        (ordered[0] if ordered else None)
    if session_id is not None and chosen is None:
        raise NotFound("Not found.")
    rows = list(await db.scalars(select(Question).where(
        Question.site_id == site_id, Question.session_id == chosen.id,
        Question.status.in_(ON_BOARD)).order_by(Question.position, Question.id))) \
        if chosen else []
    return Board(site_id=site.id, site=site.name, session=chosen, sessions=ordered,
                 questions=await views(db, rows, viewer=viewer))
