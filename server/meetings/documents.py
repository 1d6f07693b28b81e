"""Documents for the wall: an uploaded PDF or picture, checked and rendered page by page.

The media engine draws no PDF: it shows pages already rendered as PNG files, at most the
wall's size, so a page turn costs a file read and no rendering. Pages are kept under
``var/documents/<sha256>/`` (``page-001.png`` ... and ``document.json``): the same file
uploaded again is not rendered again, and the pages outlive a restart. A refused upload
leaves nothing behind: pages are rendered into a temporary folder that is renamed into
place only when every page is done.

PDFs are rendered with pypdfium2 (PDFium); PDFium is not thread-safe, so one rendering
runs at a time (they run in a worker thread, off the event loop).

Each room remembers the documents shown on its wall (``room_document``: the digest, the
title, when and by whom), so a presenter can show one again without uploading it again:
only a document shown in that room before, and only while its pages are still kept.

The pages are kept as long as the recordings (the administrator's one number, since the
recordings carry those pages anyway): every night :func:`run` forgets what no room has
shown within that many days and deletes the pages nothing remembers any more, with one
audit entry of the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath

import pypdfium2 as pdfium
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import utc
from server.core import audit
from server.core.errors import N_, PayloadTooLarge, ValidationFailed
from server.core.fields import clean_text
from server.core.jobs import JobRuntime
from server.models import RoomDocument
from server.recordings import retention as recording_retention

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_PAGES = 100  # said in the error message
MAX_PICTURE_PIXELS = 40_000_000  # a 40-megapixel photo; bigger ones are refused, not decoded
FIELD = "document"
PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
META = "document.json"
RECENT = 10  # the documents a room offers to show again, newest first
# A folder nothing remembers is left this long (real time) before it is deleted: it may be a
# rendering whose showing is being written now, or one still being rendered.
UNCLAIMED_GRACE_S = 24 * 3600
AUDIT_RETENTION = "document.retention"
DIGEST = re.compile(r"[0-9a-f]{64}")
_PDFIUM = threading.Lock()
log = logging.getLogger("yizhan.documents")


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentUpload:
    filename: str
    data: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderedDocument:
    id: str  # the sha256 of the uploaded file
    title: str
    kind: str  # the sniffed type
    pages: tuple[Path, ...]  # PNG files, in page order
    fresh: bool = False  # rendered by this call (not found from an earlier upload)

    def forget(self) -> None:
        """Remove a fresh rendering whose showing was refused, so the refusal changes nothing."""
        if self.fresh and self.pages:
            shutil.rmtree(self.pages[0].parent, ignore_errors=True)


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={FIELD: message})


def sniff(data: bytes) -> str | None:
    """The type by magic bytes, whatever the name or declared type say."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def check(upload: DocumentUpload) -> str:
    """The upload's type, or a ``ValidationFailed`` that says what is wrong with it."""
    if not upload.data:
        raise _fail(N_("Choose a PDF, PNG or JPEG file to show."))
    if len(upload.data) > MAX_DOCUMENT_BYTES:
        raise too_large()
    kind = sniff(upload.data)
    if kind is None:
        raise _fail(N_("Only PDF files and PNG or JPEG pictures can be shown on the wall."))
    return kind


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(N_("A document may be at most 20 MB."),
                           field_errors={FIELD: N_("A document may be at most 20 MB.")})


def title_of(filename: str) -> str:
    """The file's name without folders or ending, under the text rule; at most 120 characters."""
    base = PureWindowsPath(PurePosixPath(clean_text(filename)).name).name
    stem = PurePosixPath(base).stem if "." in base else base
    return stem.strip()[:120]


def render(upload: DocumentUpload, *, root: Path, width: int, height: int) -> RenderedDocument:
    """Check and render ``upload`` into ``root`` (or find it rendered before); blocking."""
    kind = check(upload)
    digest = hashlib.sha256(upload.data).hexdigest()
    title = title_of(upload.filename)
    folder = root / digest
    done = _load(folder, title)
    if done is not None:
        return done
    root.mkdir(parents=True, exist_ok=True)
    work = root / f".{digest}.{secrets.token_hex(4)}"
    work.mkdir()
    try:
        count = _render_pdf(upload.data, work, width, height) if kind == PDF \
            else _render_picture(upload.data, work, width, height)
        (work / META).write_text(json.dumps({"kind": kind, "pages": count}), encoding="utf-8")
        try:
            os.replace(work, folder)
        except OSError:  # rendered meanwhile by another upload of the same file
            if not (folder / META).is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    loaded = _load(folder, title)
    if loaded is None:  # pragma: no cover - the folder was just written
        raise RuntimeError(f"rendered document {digest} is incomplete")
    return replace(loaded, fresh=True)


def load(root: Path, digest: str, title: str) -> RenderedDocument | None:
    """A document rendered before, by its sha256; None if it is not (or no longer) kept."""
    if DIGEST.fullmatch(digest) is None:
        return None
    return _load(root / digest, title)


def _in_use(folder: Path) -> None:
    """Touch a rendered folder that is about to be shown: the nightly sweep leaves folders
    written within a day alone, so it cannot take pages from under a wall."""
    with contextlib.suppress(OSError):
        os.utime(folder)


def _page_name(index: int) -> str:
    return f"page-{index + 1:03d}.png"


def _load(folder: Path, title: str) -> RenderedDocument | None:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pages = tuple(folder / _page_name(i) for i in range(int(meta["pages"])))
    if not all(page.is_file() for page in pages):
        return None
    _in_use(folder)
    return RenderedDocument(id=folder.name, title=title, kind=str(meta["kind"]), pages=pages)


def _fit(w: float, h: float, width: int, height: int) -> float:
    return min(width / w, height / h)


def _render_pdf(data: bytes, folder: Path, width: int, height: int) -> int:
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise _fail(N_("The PDF could not be read: it may be damaged or protected by a "
                           "password.")) from None
        try:
            count = len(pdf)
            if count == 0:
                raise _fail(N_("The PDF has no pages."))
            if count > MAX_PAGES:
                raise _fail(N_("A document may have at most 100 pages."))
            for index in range(count):
                page = pdf[index]
                try:
                    w, h = page.get_size()
                    if w < 1 or h < 1:
                        raise _fail(N_("The PDF could not be read: it may be damaged or "
                                       "protected by a password."))
                    bitmap = page.render(scale=_fit(w, h, width, height), rev_byteorder=True)
                    image = bitmap.to_pil().convert("RGB")
                    image.save(folder / _page_name(index), format="PNG", compress_level=3)
                finally:
                    page.close()
        except pdfium.PdfiumError:
            raise _fail(N_("The PDF could not be read: it may be damaged or protected by a "
                           "password.")) from None
        finally:
            pdf.close()
    return count


def _render_picture(data: bytes, folder: Path, width: int, height: int) -> int:
    unreadable = N_("The picture could not be read: it may be damaged.")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PICTURE_PIXELS:
                raise _fail(N_("The picture is too large (at most 40 megapixels)."))
            opened.load()
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except ValidationFailed:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise _fail(unreadable) from None
    scale = _fit(image.width, image.height, width, height)
    if scale < 1:
        image = image.resize((max(2, round(image.width * scale)),
                              max(2, round(image.height * scale))), Image.Resampling.LANCZOS)
    image.save(folder / _page_name(0), format="PNG", compress_level=3)
    return 1


# -- what each room has shown ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ShownDocument:
    id: str  # the sha256
    title: str
    pages: int
    shown_at: datetime


async def remember(db: AsyncSession, room: str, rendered: RenderedDocument, *,
                   by: int | None, at: datetime) -> None:
    """Note that ``rendered`` went on ``room``'s wall now (again, if it had before)."""
    for _attempt in range(2):  # the same file shown twice at once: the second one updates
        row = await db.scalar(select(RoomDocument).where(
            RoomDocument.room == room, RoomDocument.document == rendered.id))
        if row is not None:
            row.title, row.pages = rendered.title, len(rendered.pages)
            row.shown_by_id, row.shown_at = by, utc(at)
            return
        try:
            async with db.begin_nested():
                db.add(RoomDocument(room=room, document=rendered.id, title=rendered.title,
                                    pages=len(rendered.pages), shown_by_id=by, shown_at=utc(at)))
            return
        except IntegrityError:
            continue


async def shown(db: AsyncSession, room: str, *, limit: int = RECENT) -> list[ShownDocument]:
    """The documents shown in ``room``, most recently shown first."""
    rows = await db.scalars(
        select(RoomDocument).where(RoomDocument.room == room)
        .order_by(RoomDocument.shown_at.desc(), RoomDocument.id.desc()).limit(limit))
    return [ShownDocument(id=r.document, title=r.title, pages=r.pages, shown_at=r.shown_at)
            for r in rows]


async def shown_before(db: AsyncSession, room: str, digest: str) -> ShownDocument | None:
    row = await db.scalar(select(RoomDocument).where(
        RoomDocument.room == room, RoomDocument.document == digest))
    return None if row is None else ShownDocument(
        id=row.document, title=row.title, pages=row.pages, shown_at=row.shown_at)


# -- retention ---------------------------------------------------------------------------------


async def purge(db: AsyncSession, root: Path, *, keep_days: int,
                now: datetime) -> tuple[int, int]:
    """Forget the showings older than ``keep_days`` and delete the pages that no showing
    remembers any more; how many showings and folders went."""
    cutoff = utc(now) - timedelta(days=keep_days)
    expired = list(await db.scalars(select(RoomDocument).where(
        RoomDocument.shown_at < cutoff)))
    for row in expired:
        await db.delete(row)
    await db.flush()
    remembered = set(await db.scalars(select(RoomDocument.document).distinct()))
    folders = await asyncio.to_thread(_sweep, root, remembered)
    if expired or folders:
        audit.record(db, at=now, actor_id=None, action=AUDIT_RETENTION,
                     target_type="room_document", target_id=cutoff.date().isoformat(),
                     changes={"showings": len(expired), "documents": folders,
                              "keep_days": keep_days})
    return len(expired), folders


def _sweep(root: Path, remembered: set[str]) -> int:
    """Delete the rendered folders nothing remembers (and renderings that died half-way),
    once older than the grace; how many documents went. Blocking."""
    folders = 0
    if not root.is_dir():
        return 0
    for folder in sorted(root.iterdir()):
        unclaimed = folder.name.startswith(".") or (
            DIGEST.fullmatch(folder.name) is not None and folder.name not in remembered)
        # File ages are real time (the app's clock may be a test's).
        if (folder.is_dir() and unclaimed
                and time.time() - folder.stat().st_mtime > UNCLAIMED_GRACE_S):
            shutil.rmtree(folder, ignore_errors=True)
            folders += not folder.name.startswith(".")
    return folders


async def run(runtime: JobRuntime) -> None:
    """The nightly job: documents kept as long as recordings."""
    async with runtime.database() as db, db.begin():
        days = await recording_retention.keep_days(db)
        showings, folders = await purge(db, runtime.settings.var_dir / "documents",
                                        keep_days=days, now=runtime.clock())
    log.info("documents retention: %d showings forgotten, %d documents deleted",
             showings, folders)

