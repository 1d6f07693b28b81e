"""A site's chat message in the consultation room becomes a live question, once.

A resident who cannot speak up (or whose site's microphone fails) types; the site, or
the street office (or the officers on duty) for any site's message, turns that message
into a question raised live: it joins the end of the session's queue (it does not jump
it), under the fallback category, and the stored message points at it. A second click,
by anyone, finds the question already there and says so; nothing is created twice.

Only messages written during a legal consultation session (the room window of a session
of a programme whose rotation is of legal departments) qualify, and only while that
session takes place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.clock import Clock
from server.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.legal.categories import fallback_category
from server.legal.consultation import LEGAL, require_runner, require_takes_place, session_info
from server.legal.live_queue import RoomCue, add_live_question
from server.models import Programme, Role, RoomChatMessage

CHAT_QUESTION_ROLES = frozenset({Role.ADMIN, Role.HOST, Role.OFFICER, Role.SITE})


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatQuestion:
    question_id: int
    session_id: int
    created: bool  # False: the message had become this question before


async def question_from_chat(db: AsyncSession, room: str, message_key: str, *,
                             viewer: Principal, clock: Clock
                             ) -> tuple[ChatQuestion, RoomCue | None]:
    row = await db.scalar(
        select(RoomChatMessage)
        .where(RoomChatMessage.room == room, RoomChatMessage.message_key == message_key)
        .with_for_update())
    if row is None:
        raise NotFound("There is no such chat message (yet); try again in a moment.")
    if viewer.role not in CHAT_QUESTION_ROLES:
        raise Forbidden("You may not do this for this session.")
    if row.site_id is None:
        raise ValidationFailed("Only a site's message can become a question.")
    if viewer.role is Role.SITE and viewer.site_id != row.site_id:
        raise Forbidden("Only your own site's messages can become your questions.")
    if row.question_id is not None and row.session_id is not None:
        return ChatQuestion(question_id=row.question_id, session_id=row.session_id,
                            created=False), None
    if row.deleted_at is not None:
        raise ValidationFailed("This message was deleted.")
    if row.session_id is None:
        raise ValidationFailed(
            "This message was not written during a legal consultation session.")
    try:
        info = await session_info(db, row.session_id)
    except NotFound:
        raise ValidationFailed(
            "This message was not written during a legal consultation session.") from None
    if viewer.role is not Role.SITE:
        require_runner(viewer, info)
    require_takes_place(info)
    category_id = await fallback_category(db)
    if category_id is None:
        raise ValidationFailed("Choose one of the categories on the list.")
    question = await add_live_question(
        db, info, site_id=row.site_id, category_id=category_id, text=row.text,
        answer_now=False, actor_id=viewer.user_id, clock=clock,
        audit_extra={"chat_message": [None, row.message_key]})
    linked = await db.execute(
        update(RoomChatMessage)
        .where(RoomChatMessage.id == row.id, RoomChatMessage.question_id.is_(None))
        .values(question_id=question.id).execution_options(synchronize_session=False))
    if linked.rowcount != 1:  # type: ignore[attr-defined]
        # Another click linked it between our read and now: this transaction rolls back.
        raise Conflict("This message has just become a question; reload to see it.")
    cue = RoomCue(info.room, "question-raised",
                  {"session": info.id, "question": question.id, "site": row.site_id,
                   "chat_message": row.message_key})
    return ChatQuestion(question_id=question.id, session_id=info.id, created=True), cue


async def room_takes_questions(db: AsyncSession, room: str) -> bool:
    """Whether a legal consultation programme holds its sessions in ``room``."""
    return await db.scalar(
        select(Programme.id).where(Programme.room == room, LEGAL).limit(1)) is not None
