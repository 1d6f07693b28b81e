"""Documents on the wall: the upload's checks, the rendering, and the page in the decoded wall."""

from __future__ import annotations

import io
import os
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import select

from server.app import job_table
from server.core import jobs
from server.core.keys import DATABASE, SETTINGS
from server.meetings import documents
from server.meetings.registry import REGISTRY
from server.models import AuditEntry, RecordingPolicy, RoomDocument
from tests.conftest import csrf_of
from tests.support.loopback import loopback_ice
from tests.support.pdf import solid_pdf
from tests.test_rooms_app import SQLITE, RoomApp, room_app, tile_colour

__all__ = ["loopback_ice", "room_app"]  # fixtures: ICE on 127.0.0.1 only (autouse), the app

RED, GREEN, BLUE, GREY = (210, 30, 30), (30, 190, 40), (30, 40, 210), (128, 128, 128)
WALL = (640, 360)


def _png(rgb: tuple[int, int, int], size: tuple[int, int], kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, rgb).save(out, format=kind)
    return out.getvalue()


def _centre(path: Path) -> tuple[int, ...]:
    with Image.open(path) as image:
        return tuple(image.convert("RGB").getpixel((image.width // 2, image.height // 2)))


def _close(a: tuple[int, ...], b: tuple[int, int, int]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 3


# -- rendering ------------------------------------------------------------------------------


def test_a_pdf_is_rendered_page_by_page_to_fit_the_wall(tmp_path: Path) -> None:
    upload = documents.DocumentUpload(filename="C:\\docs\\民法典第1254条.pdf",
                                      data=solid_pdf([RED, GREEN, BLUE]))
    rendered = documents.render(upload, root=tmp_path, width=1280, height=720)
    assert rendered.title == "民法典第1254条"
    assert rendered.kind == documents.PDF
    assert [p.name for p in rendered.pages] == ["page-001.png", "page-002.png", "page-003.png"]
    for page, rgb in zip(rendered.pages, [RED, GREEN, BLUE], strict=True):
        with Image.open(page) as image:
            assert image.height == 720 and 505 <= image.width <= 510  # A4 at the wall's height
        assert _close(_centre(page), rgb)
    # The same file again is found, not rendered again.
    before = [p.stat().st_mtime_ns for p in rendered.pages]
    again = documents.render(upload, root=tmp_path, width=1280, height=720)
    assert again.pages == rendered.pages and again.id == rendered.id
    assert [p.stat().st_mtime_ns for p in again.pages] == before


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_picture_becomes_one_page_no_larger_than_the_wall(tmp_path: Path, kind: str) -> None:
    upload = documents.DocumentUpload(filename="notice.jpg", data=_png(BLUE, (2000, 1500), kind))
    rendered = documents.render(upload, root=tmp_path, width=1280, height=720)
    (page,) = rendered.pages
    with Image.open(page) as image:
        assert image.size == (960, 720)
    tolerance = 12 if kind == "JPEG" else 3  # JPEG is lossy
    assert max(abs(a - b) for a, b in zip(_centre(page), BLUE, strict=True)) <= tolerance


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "Choose a PDF, PNG or JPEG file to show."),
        (b"GIF89a" + b"\0" * 100, "Only PDF files and PNG or JPEG pictures can be shown on the wall."),
        (b"hello, world", "Only PDF files and PNG or JPEG pictures can be shown on the wall."),
        (b"%PDF-1.4\nthis is no PDF at all\n%%EOF",
         "The PDF could not be read: it may be damaged or protected by a password."),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "The picture could not be read: it may be damaged."),
        (solid_pdf([RED] * (documents.MAX_PAGES + 1)), "A document may have at most 100 pages."),
    ],
    ids=["empty", "gif", "text", "corrupt-pdf", "corrupt-png", "too-many-pages"],
)
def test_unfit_files_are_refused_and_leave_nothing_behind(
    tmp_path: Path, data: bytes, error: str
) -> None:
    upload = documents.DocumentUpload(filename="x.pdf", data=data)
    with pytest.raises(documents.ValidationFailed) as info:
        documents.render(upload, root=tmp_path, width=1280, height=720)
    assert info.value.message == error
    assert info.value.field_errors == {"document": error}
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + b"0" * documents.MAX_DOCUMENT_BYTES
    with pytest.raises(documents.PayloadTooLarge):
        documents.render(documents.DocumentUpload(filename="big.pdf", data=data),
                         root=tmp_path, width=1280, height=720)
    assert list(tmp_path.iterdir()) == []


# -- the upload ------------------------------------------------------------------------------


async def _upload(http: TestClient, room: str, data: bytes, *, filename: str = "art1254.pdf",
                  csrf: bool = True, headers: dict[str, str] | None = None,
                  ) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("document", io.BytesIO(data), filename=filename, content_type="application/pdf")
    sent = dict(headers or {})
    sent["Accept"] = "application/json"
    if csrf and "Authorization" not in sent:
        sent["X-CSRF-Token"] = await csrf_of(http, "/rooms")
    response = await http.post(f"/rooms/{room}/documents", data=form, headers=sent)
    return response.status, await response.json()


def _rendered(room_app: RoomApp) -> list[Path]:
    root = room_app.http.app[SETTINGS].var_dir / "documents"
    return sorted(root.iterdir()) if root.exists() else []


@SQLITE
async def test_the_host_shows_a_pdf_and_everyone_is_told_which_page(room_app: RoomApp) -> None:
    host = await room_app.participant("host")
    site = await room_app.participant("site01")
    http = await room_app.signed_in("host")
    status, body = await _upload(http, "street", solid_pdf([RED, GREEN]))
    assert status == 201, body
    assert body["pages"] == 2 and body["title"] == "art1254"
    host_id = host.of_type("welcome")[0]["participant_id"]
    for client in (host, site):
        state = await client.expect("room_state", lambda n: n["presentation"] is not None)
        assert state["presentation"] == {
            "kind": "document", "presenter_id": host_id, "presenter_name": "街道会议主持人",
            "title": "art1254", "page": 1, "pages": 2,
        }
    (folder,) = _rendered(room_app)
    assert folder.name == body["document"]
    with Image.open(folder / "page-001.png") as image:
        assert image.height == WALL[1]
    shown = room_app.http.app[REGISTRY].presentation("street")
    assert shown is not None
    assert shown["files"] == [str(folder / "page-001.png"), str(folder / "page-002.png")]


@SQLITE
async def test_uploads_are_refused_with_clear_errors_and_change_nothing(
    room_app: RoomApp,
) -> None:
    registry = room_app.http.app[REGISTRY]
    host_http = await room_app.signed_in("host")
    pdf = solid_pdf([RED])

    status, body = await _upload(host_http, "street", pdf)  # nobody in the room yet
    assert (status, body["error"]["code"]) == (409, "conflict")
    site = await room_app.participant("site01")
    status, body = await _upload(host_http, "street", pdf)  # the host is not in it
    assert (status, body["error"]["code"]) == (409, "conflict")
    await room_app.participant("host")

    status, body = await _upload(host_http, "nowhere", pdf)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await _upload(host_http, "street", pdf, csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf")
    token = await room_app.device_token("site01")
    status, body = await _upload(room_app.http, "street", pdf,
                                 headers={"Authorization": f"Bearer {token}"})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    officer = await room_app.signed_in("court")  # no speaker in the street's room
    await room_app.participant("court")
    status, body = await _upload(officer, "street", pdf)
    assert (status, body["error"]["code"]) == (403, "forbidden")

    refusals = [
        (b"not a document", 422, "invalid"),
        (b"%PDF-1.7\ngarbage", 422, "invalid"),
        (b"%PDF-1.4\n" + b"0" * documents.MAX_DOCUMENT_BYTES, 413, "too_large"),
    ]
    for data, code, kind in refusals:
        status, body = await _upload(host_http, "street", data)
        assert (status, body["error"]["code"]) == (code, kind), body
        assert body["error"]["fields"]["document"]
    assert registry.presentation("street") is None
    assert _rendered(room_app) == []
    assert all(n["presentation"] is None for n in site.of_type("room_state"))


@pytest.mark.media
@SQLITE
async def test_a_site_decodes_the_uploaded_page_in_its_wall(room_app: RoomApp) -> None:
    host = await room_app.participant("host", colour=GREY, receive_audio=False)
    site = await room_app.participant("site01", colour=GREY, receive_audio=False)
    for client in (host, site):
        await client.connect_media()
    await site.wait_frames(1)
    http = await room_app.signed_in("host")
    status, _ = await _upload(http, "street", solid_pdf([RED, BLUE]))
    assert status == 201
    layout = await site.expect("layout", lambda n: n["mode"] == "presentation")
    area = layout["presentation"]

    def shows(rgb: tuple[int, int, int]) -> bool:
        if site.latest_frame is None:
            return False
        image = site.latest_frame.to_ndarray(format="rgb24")
        return bool(np.abs(tile_colour(image, area) - rgb).max() < 40)

    await site.until(lambda: shows(RED))
    await host.send("document_page", page=2)
    await site.until(lambda: shows(BLUE))


# -- showing again -----------------------------------------------------------------------------


async def _again(http: TestClient, room: str, digest: str, *, csrf: bool = True,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    sent = {"Accept": "application/json", **(headers or {})}
    if csrf and "Authorization" not in sent:
        sent["X-CSRF-Token"] = await csrf_of(http, "/rooms")
    response = await http.post(f"/rooms/{room}/documents/{digest}", headers=sent)
    return response.status, await response.json()


@SQLITE
async def test_a_document_shown_before_is_shown_again_without_uploading(
    room_app: RoomApp,
) -> None:
    registry = room_app.http.app[REGISTRY]
    host = await room_app.participant("host")
    site = await room_app.participant("site01")
    http = await room_app.signed_in("host")
    status, first = await _upload(http, "street", solid_pdf([RED, GREEN]))
    assert status == 201, first
    room_app.clock.advance(minutes=1)
    status, second = await _upload(http, "street", solid_pdf([BLUE]), filename="notice.pdf")
    assert status == 201, second
    listed = await (await http.get("/rooms/street/documents")).json()
    assert [(d["document"], d["title"], d["pages"]) for d in listed["documents"]] == [
        (second["document"], "notice", 1), (first["document"], "art1254", 2)]  # newest first

    await host.send("stop_presentation")
    await site.expect("room_state", lambda n: n["presentation"] is None)
    mark = len(site.notices)
    room_app.clock.advance(minutes=1)
    status, body = await _again(http, "street", first["document"])
    assert (status, body["title"], body["pages"]) == (200, "art1254", 2)
    state = await site.expect("room_state", lambda n: n["presentation"] is not None, after=mark)
    assert (state["presentation"]["title"], state["presentation"]["page"],
            state["presentation"]["pages"]) == ("art1254", 1, 2)
    folder = _rendered(room_app)[[p.name for p in _rendered(room_app)].index(first["document"])]
    shown = registry.presentation("street")
    assert shown is not None and shown["files"] == [str(folder / "page-001.png"),
                                                    str(folder / "page-002.png")]
    listed = await (await http.get("/rooms/street/documents")).json()
    assert [d["document"] for d in listed["documents"]] == [first["document"],
                                                            second["document"]]

    # Refused, each with its reason, and the wall keeps what it shows.
    never = "0" * 64
    status, body = await _again(http, "street", never)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await _again(http, "street", second["document"], csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf")
    token = await room_app.device_token("site01")
    bearer = {"Authorization": f"Bearer {token}"}
    status, body = await _again(room_app.http, "street", second["document"], headers=bearer)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert (await room_app.http.get("/rooms/street/documents", headers=bearer)).status == 403
    officer = await room_app.signed_in("court")  # no speaker in the street's room
    assert (await officer.get("/rooms/street/documents")).status == 403
    assert (await http.get("/rooms/legal/documents")).status == 409  # not live: no list
    status, body = await _again(http, "legal", first["document"])  # not live there
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert (await http.post(f"/rooms/street/documents/{'x' * 64}", headers={
        "X-CSRF-Token": await csrf_of(http, "/rooms")})).status == 404  # not a digest
    for page in (folder / "page-001.png", folder / "page-002.png"):
        page.unlink()  # the pages are no longer kept
    status, body = await _again(http, "street", first["document"])
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert "upload it again" in body["error"]["message"] or "重新上传" in body["error"]["message"]
    assert registry.presentation("street") == shown


# -- how long the pages are kept ---------------------------------------------------------------


@SQLITE
async def test_documents_are_kept_as_long_as_recordings_then_deleted_and_logged(
    room_app: RoomApp,
) -> None:
    app = room_app.http.app
    root, now = app[SETTINGS].var_dir / "documents", room_app.clock.now

    def folder(name: str, *, days_old: float) -> Path:
        path = root / name
        path.mkdir(parents=True)
        (path / "page-001.png").write_bytes(_png(GREY, (8, 8)))
        then = time.time() - days_old * 86400  # file ages are real time
        os.utime(path, (then, then))
        return path

    old, shared, forgotten, fresh = "a" * 64, "b" * 64, "c" * 64, "d" * 64
    paths = {name: folder(name, days_old=3) for name in (old, shared, forgotten)}
    paths[fresh] = folder(fresh, days_old=0)  # just rendered: its showing is being written
    died = folder(".eeee.1234", days_old=2)  # a rendering that died half-way
    other = folder("notes", days_old=90)  # not ours: left alone
    async with app[DATABASE]() as db, db.begin():
        db.add(RecordingPolicy(id=1, keep_days=30, updated_at=now, updated_by_id=None))
        for room, digest, days in (("street", old, 31), ("street", shared, 40),
                                   ("legal", shared, 5)):
            db.add(RoomDocument(room=room, document=digest, title="t", pages=1,
                                shown_by_id=None, shown_at=now - timedelta(days=days)))
    job = job_table(app[SETTINGS]).daily_job("daily:documents")
    assert job is not None and job.handler is documents.run and job.spec.at == clock_time(3, 45)
    await jobs.run_daily_job("daily:documents")  # what APScheduler calls at 03:45
    assert not paths[old].exists() and not paths[forgotten].exists() and not died.exists()
    assert paths[shared].exists() and paths[fresh].exists() and other.exists()
    async with app[DATABASE]() as db:
        kept = [(r.room, r.document) for r in await db.scalars(select(RoomDocument))]
        logged = [dict(e.changes) for e in await db.scalars(select(AuditEntry).where(
            AuditEntry.action == documents.AUDIT_RETENTION))]
    assert kept == [("legal", shared)]
    assert logged == [{"showings": 2, "documents": 2, "keep_days": 30}]
    await jobs.run_daily_job("daily:documents")  # again: nothing more to do, nothing logged
    async with app[DATABASE]() as db:
        assert len(list(await db.scalars(select(AuditEntry).where(
            AuditEntry.action == documents.AUDIT_RETENTION)))) == 1

