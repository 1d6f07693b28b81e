"""A recording's event index (the JSON beside the WebM), read for people and for links.

The recorder writes every room event with its offset in seconds from the start of the
file. People want a short list from it: who had the floor, who was in the spotlight, and
the server's markers (a question being answered, answered, raised live). Links want each
question's place.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("yizhan.recordings")

# The legal queue's markers (server/legal/live_queue.py) that name a question.
QUESTION_MARKERS = ("now-answering", "question-answered", "question-raised")


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexFile:
    room_id: str
    file: str
    started_at: str | None
    duration: float | None
    recovered: bool
    events: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True, slots=True)
class QuestionMark:
    question_id: int
    label: str
    offset: float


def read_index(path: Path) -> IndexFile | None:
    """The index, or None when it is missing or not one the recorder wrote."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("room_id"), str) \
            or not isinstance(raw.get("file"), str):
        return None
    events = [e for e in raw.get("events") or [] if isinstance(e, dict)
              and isinstance(e.get("kind"), str) and _offset(e) is not None]
    duration = raw.get("duration")
    return IndexFile(
        room_id=raw["room_id"], file=raw["file"],
        started_at=raw.get("started_at") if isinstance(raw.get("started_at"), str) else None,
        duration=float(duration) if isinstance(duration, int | float) else None,
        recovered=bool(raw.get("recovered")), events=events)


def _offset(event: dict[str, Any]) -> float | None:
    value = event.get("offset")
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def offset_of(event: dict[str, Any]) -> float:
    return _offset(event) or 0.0


def question_marks(index: IndexFile) -> list[QuestionMark]:
    """Every marker of the legal queue that names a question, in order."""
    marks = []
    for event in index.events:
        data = event.get("data")
        if event["kind"] != "marker" or event.get("label") not in QUESTION_MARKERS \
                or not isinstance(data, dict):
            continue
        question = data.get("question")
        if isinstance(question, int) and not isinstance(question, bool) and question > 0:
            marks.append(QuestionMark(question_id=question, label=str(event["label"]),
                                      offset=offset_of(event)))
    return marks
