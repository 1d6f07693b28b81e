"""What people ask of legal questions and follow-ups, as typed commands, and how the
pages' fields become them.

The use cases (`questions.submit`, `review.review`, `live_queue.now_answering` /
`answer` / `raise_live`, `follow_ups.update_follow_up`) take these commands, never raw
fields. The ``*_from_fields`` parsers read a form's (or any flat mapping's) fields with
`FieldReader`; a value that does not parse is a field error keyed by the command's field
name. What needs the database or the day (an active category, a site, a stale version, a
due date from today on) stays with the use case.

A ``version`` that is missing or not a number becomes 0, which no row has: the person is
told someone else changed the question first (409) and sees its current state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from server.core.errors import ValidationFailed
from server.core.fields import FieldReader, parse_id
from server.models import FollowUpKind, FollowUpStatus, Outcome

MAX_TEXT = 2000
MAX_NAME = 50
MAX_CONTACT = 100
MAX_REASON = 500
MAX_SUMMARY = 1000
MAX_NOTE = 1000

Move = Literal["up", "down", "top"]
MOVES: tuple[Move, ...] = ("up", "down", "top")
REVIEW_ACTIONS = ("category", "merge", "reject", *MOVES)


@dataclass(frozen=True, kw_only=True)
class SubmitQuestion:
    """A question for a session. ``site_id`` is the site's own for a site account (another
    one is refused); ``resident_name`` is None for an anonymous resident."""

    session_id: int
    text: str
    category_id: int | None
    site_id: int | None = None
    resident_name: str | None = None
    contact: str = ""


@dataclass(frozen=True, kw_only=True)
class SetCategory:
    version: int
    category_id: int | None


@dataclass(frozen=True, kw_only=True)
class MergeInto:
    """The question is a duplicate of ``into``."""

    version: int
    into: int | None


@dataclass(frozen=True, kw_only=True)
class RejectQuestion:
    version: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class MoveInQueue:
    version: int
    move: Move


ReviewCommand = SetCategory | MergeInto | RejectQuestion | MoveInQueue


@dataclass(frozen=True, kw_only=True)
class NowAnswering:
    version: int


@dataclass(frozen=True, kw_only=True)
class FollowUpRequest:
    """The follow-up promised with an answer. ``department_id`` None: the department on
    duty for the session."""

    kind: FollowUpKind
    due_on: date
    department_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class AnswerQuestion:
    version: int
    summary: str
    outcome: Outcome
    follow_up: FollowUpRequest | None = None


@dataclass(frozen=True, kw_only=True)
class RaiseLive:
    """A question a site raises live. ``category_id`` None: the fallback category."""

    site_id: int | None
    text: str = ""
    category_id: int | None = None
    answer_now: bool = True


@dataclass(frozen=True, kw_only=True)
class UpdateFollowUp:
    """``due_on`` / ``department_id`` None: unchanged."""

    version: int
    status: FollowUpStatus
    note: str = ""
    due_on: date | None = None
    department_id: int | None = None


def version_of(data: Mapping[str, object]) -> int:
    """The version the person saw; 0 (no row's) when missing or not a number."""
    return parse_id(data.get("version")) or 0


def _flag(data: Mapping[str, object], name: str, *, default: bool) -> bool:
    raw = data.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip() not in ("", "0")


def submit_from_fields(data: Mapping[str, object]) -> SubmitQuestion:
    form = FieldReader(data)
    site_id = form.optional_id("site_id")
    session_id = form.id("session_id")
    text = form.text("text", max_len=MAX_TEXT)
    category_id = form.optional_id("category_id")
    resident_name, contact = form.resident(max_name=MAX_NAME, max_contact=MAX_CONTACT)
    form.check()
    return SubmitQuestion(session_id=session_id, text=text, category_id=category_id,
                          site_id=site_id, resident_name=resident_name, contact=contact)


def review_from_fields(data: Mapping[str, object]) -> ReviewCommand:
    raw = data.get("action")
    action = raw.strip() if isinstance(raw, str) else ""
    if action not in REVIEW_ACTIONS:
        raise ValidationFailed("Unknown action.")
    version = version_of(data)
    form = FieldReader(data)
    command: ReviewCommand
    if action == "category":
        command = SetCategory(version=version, category_id=form.optional_id("category_id"))
    elif action == "merge":
        command = MergeInto(version=version, into=form.optional_id("into"))
    elif action == "reject":
        command = RejectQuestion(version=version,
                                 reason=form.text("reason", max_len=MAX_REASON))
    else:
        command = MoveInQueue(version=version,
                              move=next(m for m in MOVES if m == action))
    form.check()
    return command


def now_answering_from_fields(data: Mapping[str, object]) -> NowAnswering:
    return NowAnswering(version=version_of(data))


def answer_from_fields(data: Mapping[str, object]) -> AnswerQuestion:
    form = FieldReader(data)
    summary = form.text("summary", max_len=MAX_SUMMARY)
    outcome = form.choice("outcome", Outcome)
    follow_up: FollowUpRequest | None = None
    if outcome is Outcome.FOLLOW_UP:
        kind = form.choice("follow_up_kind", FollowUpKind)
        department_id = form.optional_id("follow_up_department_id")
        due_on = form.day("follow_up_due_on")
        if kind is not None:
            follow_up = FollowUpRequest(kind=kind, due_on=due_on,
                                        department_id=department_id)
    form.check()
    assert outcome is not None  # form.check() raised otherwise
    return AnswerQuestion(version=version_of(data), summary=summary, outcome=outcome,
                          follow_up=follow_up)


def raise_live_from_fields(data: Mapping[str, object]) -> RaiseLive:
    form = FieldReader(data)
    site_id = form.optional_id("site_id")
    text = form.text("text", max_len=MAX_TEXT, required=False)
    category_id = form.optional_id("category_id")
    form.check()
    return RaiseLive(site_id=site_id, text=text, category_id=category_id,
                     answer_now=_flag(data, "answer_now", default=True))


def update_follow_up_from_fields(data: Mapping[str, object]) -> UpdateFollowUp:
    form = FieldReader(data)
    status = form.choice("status", FollowUpStatus)
    note = form.text("note", max_len=MAX_NOTE, required=False)
    due_on = form.optional_day("due_on")
    department_id = form.optional_id("department_id")
    form.check()
    assert status is not None  # form.check() raised otherwise
    return UpdateFollowUp(version=version_of(data), status=status, note=note, due_on=due_on,
                          department_id=department_id)
