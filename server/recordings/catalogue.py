"""The catalogue of recordings: a row for every file the recorder finished.

A row is written when a recording stops (the rooms' hook event ``RecordingSaved``) and,
at start-up, for every index on disk that has none yet (recordings made while the
database was away, or recovered after a crash: the engine rebuilt their index and
remuxed the file first). Each row names its room and, when a programme session's window
covers it, the session; the legal queue's markers become each question's place in it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.planner import SessionStatus
from server.core.clock import Clock
from server.models import Programme, ProgrammeSession, Question, Recording, RecordingMark
from server.recordings.index import IndexFile, question_marks, read_index

log = logging.getLogger("yizhan.recordings")

# A session's room opens before its start and may run over: a recording this close to the
# session's window still belongs to it.
SESSION_SLACK = timedelta(minutes=30)


@dataclass(frozen=True, kw_only=True, slots=True)
class Saved:
    """What the recorder reports of a finished file."""

    room: str
    file: str
    index_file: str
    started_at: datetime
    duration: float
    recovered: bool = False


async def session_for(db: AsyncSession, room: str, started_at: datetime,
                      duration: float) -> int | None:
    """The session of ``room`` whose window overlaps the recording most (none: None)."""
    ends_at = started_at + timedelta(seconds=max(0.0, duration))
    rows = list(await db.execute(
        select(ProgrammeSession.id, ProgrammeSession.starts_at, ProgrammeSession.ends_at)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.room == room, ProgrammeSession.status == SessionStatus.PLANNED,
               ProgrammeSession.starts_at <= ends_at + SESSION_SLACK,
               ProgrammeSession.ends_at >= started_at - SESSION_SLACK)))
    best: tuple[float, float, int] | None = None
    for ident, starts, ends in rows:
        overlap = (min(ends + SESSION_SLACK, ends_at)
                   - max(starts - SESSION_SLACK, started_at)).total_seconds()
        distance = abs((starts - started_at).total_seconds())
        key = (-overlap, distance, ident)
        if best is None or key < best:
            best = key
    return best[2] if best is not None else None


async def register(db: AsyncSession, saved: Saved, index: IndexFile | None, *,
                   clock: Clock) -> Recording:
    """The row of a finished recording (the existing one if it is already listed)."""
    row = await db.scalar(select(Recording).where(Recording.file == saved.file))
    if row is not None:
        return row
    row = Recording(
        room=saved.room[:64], file=saved.file, index_file=saved.index_file,
        started_at=saved.started_at, duration_s=max(0.0, saved.duration),
        session_id=await session_for(db, saved.room, saved.started_at, saved.duration),
        recovered=saved.recovered, registered_at=clock(), deleted_at=None)
    db.add(row)
    await db.flush()
    marks = question_marks(index) if index is not None else []
    known = set(await db.scalars(select(Question.id).where(
        Question.id.in_({m.question_id for m in marks})))) if marks else set()
    for mark in marks:
        if mark.question_id in known:
            db.add(RecordingMark(recording_id=row.id, question_id=mark.question_id,
                                 label=mark.label, offset_s=mark.offset))
    log.info("recording %s of room %s listed", saved.file, saved.room,
             extra={"ctx_room": saved.room, "ctx_recording": row.id})
    return row


def _started_at(index: IndexFile) -> datetime | None:
    if index.started_at is None:
        return None
    try:
        value = datetime.fromisoformat(index.started_at)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _on_disk(directory: Path) -> list[tuple[Path, IndexFile]]:
    """Every recorder index in ``directory`` whose WebM is there too."""
    if not directory.is_dir():
        return []
    found = []
    for index_path in sorted(directory.glob("*.json")):
        index = read_index(index_path)
        if index is None:
            log.warning("%s is not a recording index; left as it is", index_path.name)
        elif (directory / Path(index.file).name).is_file():
            found.append((index_path, index))
    return found


async def scan(db: AsyncSession, directory: Path, *, clock: Clock) -> list[Recording]:
    """List every finished recording in ``directory`` that has no row yet."""
    found = await asyncio.to_thread(_on_disk, directory)
    listed = set(await db.scalars(select(Recording.file)))
    added = []
    for index_path, index in found:
        started_at = _started_at(index)
        name = Path(index.file).name
        if name in listed or started_at is None:
            continue
        added.append(await register(db, Saved(
            room=index.room_id, file=name, index_file=index_path.name,
            started_at=started_at, duration=index.duration or 0.0,
            recovered=index.recovered), index, clock=clock))
    return added
