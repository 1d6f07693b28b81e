"""Retention: name, phone and position of resident-filed items go RETENTION_YEARS after the
item is finished, and not a day before; staff items and open items keep theirs; the audit
log has the counts only; a second run changes nothing; the job runs from the app."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import job_table
from server.core import jobs
from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from server.models import (
    AuditEntry,
    Opinion,
    OpinionPhoto,
    OpinionStatus,
    Question,
    QuestionStatus,
    ResidentPlace,
    ResidentReceipt,
)
from server.opinions.photos import Photo, path_of, store
from server.residents import retention
from server.residents.photos import GPS_IFD, clean
from server.residents.retention import AUDIT_ACTION, RETENTION_YEARS, purge, years_before
from tests.board_helpers import as_resident
from tests.conftest import MutableClock
from tests.opinion_helpers import accept, act, local, record
from tests.question_helpers import ask, fresh


async def personal(db: AsyncSession, model: type[Opinion] | type[Question], ident: int
                   ) -> tuple[str | None, str]:
    row: Opinion | Question | None = await db.get(model, ident)
    assert row is not None
    await db.refresh(row)
    return row.resident_name, row.contact


async def places(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(ResidentPlace)) or 0)


async def audits(db: AsyncSession) -> list[dict[str, object]]:
    rows = await db.scalars(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)
                            .order_by(AuditEntry.id))
    return [dict(entry.changes) for entry in rows]


async def test_personal_data_goes_after_the_period_and_only_for_residents(
    db_session: AsyncSession, clock: MutableClock,
) -> None:
    db = db_session
    finished = local(2026, 11, 23)
    clock.now = finished
    # A resident's opinion, resolved and confirmed (finished), with a shared position.
    confirmed = await record(db, clock)
    await as_resident(db, confirmed, at=finished, place="3号楼", latitude=31.2, longitude=121.4)
    await accept(db, clock, confirmed.id)
    await act(db, clock, "court", confirmed.id, "resolve")
    await act(db, clock, "site01", confirmed.id, "confirm")
    await db.execute(update(ResidentReceipt).where(ResidentReceipt.opinion_id == confirmed.id)
                     .values(satisfaction_note="张大爷：修得太慢，电话13800000000"))
    # A resident's opinion rejected at once.
    rejected = await record(db, clock)
    await as_resident(db, rejected, at=finished, place="菜场门口")
    await act(db, clock, "host", rejected.id, "reject")
    # A resident's opinion still being handled, and a staff-filed finished one.
    open_item = await record(db, clock)
    await as_resident(db, open_item, at=finished, place="车棚")
    await accept(db, clock, open_item.id)
    staff_item = await record(db, clock)
    await act(db, clock, "host", staff_item.id, "reject")
    # A resident's question rejected, and one still queued.
    asked = (await ask(db, clock)).question_id
    await as_resident(db, await fresh(db, asked), at=finished, place="活动室")
    await db.execute(update(Question).where(Question.id == asked)
                     .values(status=QuestionStatus.REJECTED, reject_reason="不属于法律问题",
                             changed_at=finished))
    queued = (await ask(db, clock)).question_id
    await as_resident(db, await fresh(db, queued), at=finished)
    assert await places(db) == 4

    # One minute before the period is over: nothing changes.
    clock.now = finished.replace(year=finished.year + RETENTION_YEARS) - timedelta(minutes=1)
    assert await purge(db, clock=clock) == retention.Purged(opinions=0, questions=0, places=0)
    assert await personal(db, Opinion, confirmed.id) == ("张大爷", "13800000000")
    assert await personal(db, Question, asked) == ("王阿姨", "13800001111")
    assert await places(db) == 4
    assert await audits(db) == []

    # One minute after: the finished resident items lose name, phone and place.
    clock.now = finished.replace(year=finished.year + RETENTION_YEARS) + timedelta(minutes=1)
    assert await purge(db, clock=clock) == retention.Purged(opinions=2, questions=1, places=3,
                                                            notes=1)
    assert list(await db.scalars(select(ResidentReceipt.satisfaction_note).where(
        ResidentReceipt.opinion_id == confirmed.id))) == [""]
    assert await personal(db, Opinion, confirmed.id) == (None, "")
    assert await personal(db, Opinion, rejected.id) == (None, "")
    assert await personal(db, Question, asked) == (None, "")
    assert (await db.get(Opinion, confirmed.id)).status is OpinionStatus.CONFIRMED  # type: ignore[union-attr]
    # Open items and staff items keep theirs; the open item keeps its place.
    assert await personal(db, Opinion, open_item.id) == ("张大爷", "13800000000")
    assert await personal(db, Opinion, staff_item.id) == ("张大爷", "13800000000")
    assert await personal(db, Question, queued) == ("王阿姨", "13800001111")
    assert list(await db.scalars(select(ResidentPlace.place))) == ["车棚"]
    # The audit log has the counts, never the data.
    entries = await audits(db)
    assert entries == [{"finished_before": years_before(clock.now, RETENTION_YEARS).isoformat(),
                        "years": RETENTION_YEARS, "opinions": 2, "questions": 1,
                        "places": 3, "notes": 1, "photos": 0}]
    assert "张大爷" not in str(entries) and "1380000" not in str(entries)

    # A second run changes nothing and logs nothing.
    assert await purge(db, clock=clock) == retention.Purged(opinions=0, questions=0, places=0)
    assert len(await audits(db)) == 1


def test_years_before_handles_the_leap_day() -> None:
    assert years_before(datetime(2028, 2, 29, 3, 0), 3) == datetime(2025, 2, 28, 3, 0)
    assert years_before(datetime(2029, 3, 1, 3, 0), 3) == datetime(2026, 3, 1, 3, 0)


async def test_job_is_registered_and_runs_with_the_app(
    app_factory: Callable[..., object], aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    clock: MutableClock,
) -> None:
    app = app_factory()
    assert isinstance(app, web.Application)
    job = job_table(app[SETTINGS]).daily_job("daily:retention")
    assert job is not None and job.handler is retention.run
    assert job.spec.at == time(3, 0)
    assert job.spec.timezone == app[SETTINGS].timezone
    client = await aiohttp_client(app)
    async with session_factory(client.app[ENGINE])() as db, db.begin():
        item = await record(db, clock)
        receipt = await as_resident(db, item, at=clock.now, place="3号楼")
        await act(db, clock, "host", item.id, "reject")
    finished = clock.now
    clock.now = finished.replace(year=finished.year + RETENTION_YEARS, hour=19)
    await jobs.run_daily_job("daily:retention")  # what APScheduler calls at 03:00
    await jobs.run_daily_job("daily:retention")  # and once more after a restart
    async with session_factory(client.app[ENGINE])() as db:
        assert await personal(db, Opinion, item.id) == (None, "")
        assert await db.scalar(select(ResidentPlace).where(
            ResidentPlace.receipt_id == receipt.id)) is None
        assert len(await audits(db)) == 1


def _jpeg(rgb: tuple[int, int, int], *, position: bool) -> Photo:
    """A phone photo as filing stores it: re-encoded, its GPS block kept if shared."""
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (31.0, 12.0, 30.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(out, "JPEG", exif=exif.tobytes())
    return clean(out.getvalue(), keep_location=position)


def _gps(path: Path) -> dict[int, object]:
    with Image.open(path) as image:
        return dict(image.getexif().get_ifd(GPS_IFD))


async def test_the_position_in_residents_photos_goes_with_their_shared_place(
    db_session: AsyncSession, clock: MutableClock, tmp_path: Path,
) -> None:
    db = db_session
    finished = local(2026, 11, 23)
    clock.now = finished
    located = await record(db, clock)  # the resident shared the phone's position
    await as_resident(db, located, at=finished, place="3号楼", latitude=31.2, longitude=121.4)
    await act(db, clock, "host", located.id, "reject")
    worded = await record(db, clock)  # words only: its photo never carried a position
    await as_resident(db, worded, at=finished, place="车棚")
    await act(db, clock, "host", worded.id, "reject")
    sent = {located.id: _jpeg((200, 30, 30), position=True),
            worded.id: _jpeg((30, 30, 200), position=False)}
    for opinion_id, photo in sent.items():
        store(tmp_path, photo)
        db.add(OpinionPhoto(opinion_id=opinion_id, event_id=None, sha256=photo.sha256,
                            content_type="image/jpeg", size=photo.size, uploaded_at=finished,
                            uploaded_by_id=None))
    await db.flush()
    old = path_of(tmp_path, sent[located.id].sha256)
    assert _gps(old)  # kept at filing, as the resident chose

    clock.now = finished.replace(year=finished.year + RETENTION_YEARS) + timedelta(minutes=1)
    purged = await purge(db, clock=clock, uploads_dir=tmp_path)
    assert (purged.places, purged.photos) == (2, 1)
    rows = {r.opinion_id: r for r in await db.scalars(select(OpinionPhoto))}
    new = path_of(tmp_path, rows[located.id].sha256)
    assert rows[located.id].sha256 != sent[located.id].sha256 and new.exists()
    assert _gps(new) == {} and not old.exists()  # the old file had no other user
    assert rows[located.id].size == new.stat().st_size
    with Image.open(new) as image:
        assert max(abs(a - b) for a, b in zip(image.getpixel((32, 24)), (200, 30, 30),
                                              strict=True)) < 8
    assert rows[worded.id].sha256 == sent[worded.id].sha256  # nothing to take out
    assert (await audits(db))[-1]["photos"] == 1
    again = await purge(db, clock=clock, uploads_dir=tmp_path)
    assert again == retention.Purged(opinions=0, questions=0, places=0)
