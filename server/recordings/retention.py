"""How long recordings are kept, and the nightly job that deletes the expired ones.

The administrator sets the number of days (`RecordingPolicy`, one row; until then
`DEFAULT_KEEP_DAYS`). Every night the job deletes the WebM and the index of each
recording that started longer ago than that, marks its row deleted (the row stays, so
the catalogue still says what existed and when it went) and writes an audit entry per
recording. A file already gone is no error: the row is marked all the same, and the
audit entry says the file was missing. Files are removed before the transaction commits;
if the commit fails, the next night finds the rows again, with their files missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, ValidationFailed
from server.core.fields import FieldReader
from server.core.jobs import JobRuntime
from server.models import Recording, RecordingPolicy

log = logging.getLogger("yizhan.recordings.retention")

DEFAULT_KEEP_DAYS = 180
MAX_KEEP_DAYS = 3650  # ten years
AUDIT_DELETED = "recording.deleted"
AUDIT_POLICY = "recording.retention"


@dataclass(frozen=True, kw_only=True, slots=True)
class SetRetention:
    keep_days: int

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> SetRetention:
        form = FieldReader(data)
        days = form.integer("keep_days", minimum=1, maximum=MAX_KEEP_DAYS)
        if form.errors.get("keep_days") == N_("Out of range."):
            form.errors["keep_days"] = N_("Enter a number of days from 1 to 3650.")
        form.check()
        return cls(keep_days=days)


async def keep_days(db: AsyncSession) -> int:
    policy = await db.get(RecordingPolicy, 1)
    return policy.keep_days if policy is not None else DEFAULT_KEEP_DAYS


async def set_keep_days(db: AsyncSession, command: SetRetention, *, actor_id: int,
                        clock: Clock) -> None:
    if not 1 <= command.keep_days <= MAX_KEEP_DAYS:
        raise ValidationFailed("Please correct the marked fields.", field_errors={
            "keep_days": N_("Enter a number of days from 1 to 3650.")})
    now = clock()
    policy = await db.get(RecordingPolicy, 1)
    before = policy.keep_days if policy is not None else DEFAULT_KEEP_DAYS
    if policy is None:
        db.add(RecordingPolicy(id=1, keep_days=command.keep_days, updated_at=now,
                               updated_by_id=actor_id))
    else:
        policy.keep_days, policy.updated_at = command.keep_days, now
        policy.updated_by_id = actor_id
    audit.record(db, at=now, actor_id=actor_id, action=AUDIT_POLICY,
                 target_type="recording_policy", target_id=1,
                 changes={"keep_days": [before, command.keep_days]})


def _remove(path: Path) -> bool:
    """Delete ``path``; False when it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


async def purge(db: AsyncSession, directory: Path, *, clock: Clock) -> list[int]:
    """Delete the recordings older than the policy allows; their ids."""
    now = clock()
    days = await keep_days(db)
    cutoff = now - timedelta(days=days)
    expired = list(await db.scalars(select(Recording).where(
        Recording.deleted_at.is_(None), Recording.started_at < cutoff)
        .order_by(Recording.started_at, Recording.id)))
    for recording in expired:
        media = _remove(directory / Path(recording.file).name)
        index = _remove(directory / Path(recording.index_file).name)
        recording.deleted_at = now
        audit.record(db, at=now, actor_id=None, action=AUDIT_DELETED,
                     target_type="recording", target_id=recording.id,
                     changes={"file": [recording.file, None], "room": recording.room,
                              "started_at": recording.started_at.isoformat(),
                              "keep_days": days, "file_missing": not media,
                              "index_missing": not index})
        if not media:
            log.warning("recording %s was already gone when it expired", recording.file)
    return [r.id for r in expired]


async def run(runtime: JobRuntime) -> None:
    async with runtime.database() as db, db.begin():
        deleted = await purge(db, runtime.settings.recordings_dir, clock=runtime.clock)
    log.info("recordings retention: deleted %s", len(deleted))
