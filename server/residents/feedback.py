"""The resident says whether the result satisfied them, and why not.

Unsatisfied with a resolved opinion reopens it for the staff: the lifecycle's REOPEN
transition (resolved → in progress, a new deadline), taken by the resident party, with the
resident's reason as the timeline note. For an item already finished (confirmed, closed,
rejected, terminated) and for a legal question there is nothing to reopen: the rating is
kept and the site and the street office get an inbox notice to follow up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.deadlines import DEFAULT_REPLY_WORKDAYS, due_in_workdays
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import FieldReader
from server.models import Opinion, OpinionStatus, Role, Satisfaction
from server.notify import inbox
from server.opinions.items import apply
from server.opinions.lifecycle import Action, Party, plan
from server.residents.status import find, status_of
from server.schedule.workdays import load_calendar

MAX_NOTE = 500


@dataclass(frozen=True, kw_only=True)
class Rate:
    code: str
    satisfaction: Satisfaction
    note: str = ""


def rate_from_fields(data: dict[str, str]) -> Rate:
    form = FieldReader(data)
    code = form.line("code", max_len=20)
    satisfaction = form.choice("satisfaction", Satisfaction)
    note = form.text("note", max_len=MAX_NOTE, required=False)
    if satisfaction is Satisfaction.UNSATISFIED and not note:
        form.fail("note", N_("Please tell us what is not right, so we can act on it."))
    form.check()
    if satisfaction is None:
        raise ValidationFailed("Please correct the marked fields.")
    return Rate(code=code, satisfaction=satisfaction, note=note)


async def rate(db: AsyncSession, command: Rate, *, clock: Clock, tz: tzinfo,
               uploads_dir: Path) -> bool:
    """Record the rating; True when it reopened the item."""
    view = await status_of(db, command.code)
    receipt = await find(db, command.code)
    if view is None or receipt is None:
        raise NotFound("Not found.")
    if not view.can_rate:
        raise ValidationFailed("There is no result to rate yet.")
    now = clock()
    receipt.satisfaction = command.satisfaction
    receipt.satisfaction_note = command.note
    receipt.rated_at = now
    await db.flush()
    if command.satisfaction is Satisfaction.SATISFIED:
        return False
    reopened = False
    kind, ident = ("question", receipt.question_id)
    if receipt.opinion_id is not None:
        kind, ident = "opinion", receipt.opinion_id
        item = await db.get(Opinion, receipt.opinion_id)
        if item is not None and item.status is OpinionStatus.RESOLVED:
            step = plan(item.status, Action.REOPEN, {Party.RESIDENT})
            deadline = due_in_workdays(now, DEFAULT_REPLY_WORKDAYS,
                                       calendar=await load_calendar(db), tz=tz)
            await apply(db, item, step, actor_id=None, now=now,
                        note=command.note, deadline=deadline, clock=clock,
                        uploads_dir=uploads_dir)
            reopened = True
    if reopened:
        title = N_("The resident reopened opinion item #%(id)s: not satisfied")
    elif kind == "opinion":
        title = N_("The resident is not satisfied with opinion item #%(id)s")
    else:
        title = N_("The resident is not satisfied with the answer to legal question #%(id)s")
    link = f"/opinions/{ident}" if kind == "opinion" else f"/legal/questions/{ident}"
    recipients = await inbox.recipients(db, roles=(Role.HOST,), site_ids=[receipt.site_id])
    await inbox.deliver(db, recipients, inbox.Message(
        kind=f"{kind}.resident_unsatisfied", title=title, body=command.note,
        params={"id": ident, "kind": kind}, link=link,
        dedupe_key=f"{kind}:{ident}:unsatisfied:{now.isoformat()}"), clock=clock)
    return reopened
