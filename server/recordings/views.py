"""What the recording pages show: rows for lists, the clickable event list, and each
answered question's "watch this answer" link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.errors import N_
from server.models import (
    Department,
    Deputy,
    Programme,
    ProgrammeSession,
    Recording,
    RecordingMark,
    Site,
    User,
)
from server.recordings.access import may_watch
from server.recordings.index import offset_of, read_index

SITE_TAG, USER_TAG = "site:", "user:"
# Where "watch this answer" starts: when the question came up, else when it was marked
# answered (a question answered without "now answering" first).
ANSWER_LABELS = ("now-answering", "question-answered")


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingRow:
    id: int
    room: str
    started_at: datetime
    duration_s: float
    session_id: int | None
    session_label: str | None  # programme name and who was on duty
    recovered: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class TimelineEntry:
    offset: float
    kind: str  # floor, spotlight, question, marker
    text: str  # a msgid with %(name)s / %(id)s, or a server marker's own label
    params: dict[str, object]
    question_id: int | None = None


async def rows(db: AsyncSession, recordings: list[Recording]) -> list[RecordingRow]:
    session_ids = {r.session_id for r in recordings if r.session_id is not None}
    labels: dict[int, str] = {}
    if session_ids:
        result = await db.execute(
            select(ProgrammeSession.id, Programme.name, Department.name, Deputy.name)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .outerjoin(Department, Department.id == ProgrammeSession.department_id)
            .outerjoin(Deputy, Deputy.id == ProgrammeSession.deputy_id)
            .where(ProgrammeSession.id.in_(session_ids)))
        for ident, programme, department, deputy in result:
            unit = department or deputy
            labels[ident] = f"{programme} · {unit}" if unit else programme
    return [RecordingRow(id=r.id, room=r.room, started_at=r.started_at,
                         duration_s=r.duration_s, session_id=r.session_id,
                         session_label=labels.get(r.session_id) if r.session_id else None,
                         recovered=r.recovered) for r in recordings]


async def _names(db: AsyncSession, participant_ids: set[str]) -> dict[str, str]:
    """Participant keys (``site:3``, ``user:5``) → the names people know them by."""
    sites = {int(p[len(SITE_TAG):]) for p in participant_ids
             if p.startswith(SITE_TAG) and p[len(SITE_TAG):].isdigit()}
    users = {int(p[len(USER_TAG):]) for p in participant_ids
             if p.startswith(USER_TAG) and p[len(USER_TAG):].isdigit()}
    names: dict[str, str] = {}
    if sites:
        for site in await db.scalars(select(Site).where(Site.id.in_(sites))):
            names[f"{SITE_TAG}{site.id}"] = site.display_name or site.name
    if users:
        for user in await db.scalars(select(User).where(User.id.in_(users))):
            names[f"{USER_TAG}{user.id}"] = user.display_name
    return names


async def timeline(db: AsyncSession, directory: Path, recording: Recording
                   ) -> list[TimelineEntry]:
    """The index as people read it: the floor, the spotlight, questions and markers."""
    index = read_index(directory / recording.index_file)
    if index is None:
        return []
    wanted = [e for e in index.events
              if e["kind"] in ("floor_given", "marker")
              or (e["kind"] == "spotlight" and isinstance(e.get("participant_id"), str))]
    names = await _names(db, {str(e["participant_id"]) for e in wanted
                              if isinstance(e.get("participant_id"), str)})
    entries = []
    for event in wanted:
        offset = offset_of(event)
        if event["kind"] in ("floor_given", "spotlight"):
            who = str(event["participant_id"])
            entries.append(TimelineEntry(
                offset=offset, kind="floor" if event["kind"] == "floor_given" else "spotlight",
                text=N_("Floor to %(name)s") if event["kind"] == "floor_given"
                else N_("Spotlight on %(name)s"),
                params={"name": names.get(who, who)}))
            continue
        label = str(event.get("label", ""))[:200]
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        question = data.get("question") if isinstance(data, dict) else None
        if isinstance(question, int) and not isinstance(question, bool) and label in (
                "now-answering", "question-answered", "question-raised"):
            text = {"now-answering": N_("Now answering question #%(id)s"),
                    "question-answered": N_("Question #%(id)s answered"),
                    "question-raised": N_("Question #%(id)s raised live")}[label]
            entries.append(TimelineEntry(offset=offset, kind="question", text=text,
                                         params={"id": question}, question_id=question))
        else:
            entries.append(TimelineEntry(offset=offset, kind="marker", text=label, params={}))
    return entries


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerLink:
    recording_id: int
    offset: float

    @property
    def url(self) -> str:
        return f"/recordings/{self.recording_id}?t={self.offset:.1f}"


async def answer_links(db: AsyncSession, viewer: Principal, question_ids: list[int]
                       ) -> dict[int, AnswerLink]:
    """Each question's place in a recording this viewer may watch."""
    if not question_ids:
        return {}
    found = list(await db.execute(
        select(RecordingMark, Recording)
        .join(Recording, Recording.id == RecordingMark.recording_id)
        .where(RecordingMark.question_id.in_(set(question_ids)),
               RecordingMark.label.in_(ANSWER_LABELS), Recording.deleted_at.is_(None))
        .order_by(Recording.started_at, RecordingMark.offset_s)))
    allowed: dict[int, bool] = {}
    by_question: dict[int, list[tuple[RecordingMark, Recording]]] = {}
    for mark, recording in found:
        if recording.id not in allowed:
            allowed[recording.id] = await may_watch(db, viewer, recording)
        if allowed[recording.id]:
            by_question.setdefault(mark.question_id, []).append((mark, recording))
    return {question: _answer_start(marks) for question, marks in by_question.items()}


def _answer_start(marks: list[tuple[RecordingMark, Recording]]) -> AnswerLink:
    """In the latest recording that holds the question: the last "now answering" before
    it was marked answered, else the "answered" marker itself."""
    latest = marks[-1][1]
    own = [m for m, r in marks if r.id == latest.id]
    answered = [m.offset_s for m in own if m.label == "question-answered"]
    until = answered[-1] if answered else float("inf")
    started = [m.offset_s for m in own if m.label == "now-answering" and m.offset_s <= until]
    offset = started[-1] if started else (answered[-1] if answered else own[-1].offset_s)
    return AnswerLink(recording_id=latest.id, offset=offset)
