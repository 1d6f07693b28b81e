"""Telling a resident that their item has an answer: an SMS or e-mail, if they asked.

Only where the resident ticked the box on the filing form (`ResidentReceipt.notify`) and
left a usable contact: a mainland mobile number or an e-mail address. The message says
that there is an answer and gives the status-page link with the receipt code; it never
carries the resident's name or the answer itself (an SMS is read on a lock screen). It is
written to the outbox in the publishing transaction, like every notice (docs/notices.md):
routed by the kind ``resident_answer``, quiet hours kept by the sender for SMS.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.clock import Clock
from server.core.errors import N_
from server.models import Opinion, OutboxEntry, Question, ResidentReceipt
from server.notify import outbox, routing
from server.notify.inbox import Message
from server.residents.receipts import display

KIND = "resident_answer"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def reachable(contact: str) -> tuple[str, str] | None:
    """(transport, address) for a contact a message can reach, or None.

    A mainland mobile number (spaces, dashes and a +86 / 86 prefix are tolerated) goes by
    SMS; an e-mail address by e-mail. A landline or anything else reaches nobody.
    """
    raw = contact.strip()
    if EMAIL_RE.match(raw):
        return "email", raw
    digits = re.sub(r"[\s-]", "", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return ("sms", digits) if MOBILE_RE.match(digits) else None


def status_link(code: str) -> str:
    """The status page for ``code``, relative: the sender makes it absolute
    (YIZHAN_PUBLIC_URL)."""
    return f"/r/status?code={quote(code)}"


async def _tell(db: AsyncSession, receipt: ResidentReceipt | None, contact: str | None,
                version: int, *, clock: Clock) -> list[OutboxEntry]:
    if receipt is None or not receipt.notify:
        return []
    reach = reachable(contact or "")
    if reach is None:
        return []
    transport, address = reach
    targets = await routing.plan_contact(db, KIND, transport, address)
    item = f"opinion:{receipt.opinion_id}" if receipt.opinion_id else \
        f"question:{receipt.question_id}"
    return await outbox.write(db, targets, Message(
        kind=KIND, title=N_("Your matter has an answer. Receipt code %(code)s"),
        body=N_("Open the link to read it, or enter your receipt code on the status page."),
        params={"code": display(receipt.code)}, link=status_link(receipt.code),
        dedupe_key=f"{KIND}:{item}:{version}"), clock=clock)


async def opinion_answered(db: AsyncSession, item: Opinion, *,
                           clock: Clock) -> list[OutboxEntry]:
    """The opinion's public answer was published (resolved, rejected or terminated)."""
    receipt = await db.scalar(select(ResidentReceipt)
                              .where(ResidentReceipt.opinion_id == item.id))
    return await _tell(db, receipt, item.contact, item.version, clock=clock)


async def question_answered(db: AsyncSession, question: Question, *,
                            clock: Clock) -> list[OutboxEntry]:
    """The legal question's answer (its summary) was recorded."""
    receipt = await db.scalar(select(ResidentReceipt)
                              .where(ResidentReceipt.question_id == question.id))
    return await _tell(db, receipt, question.contact, question.version, clock=clock)
