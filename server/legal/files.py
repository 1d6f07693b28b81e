"""Files attached to legal questions: photos and PDF scans (a contract, a court letter).

A thin layer over `server.opinions.photos`, which already checks images by their magic
bytes and stores files once under ``var/uploads`` by content hash: here PDF is accepted
too, and a file must also be what its name and declared type say it is, so a photo
renamed ``.pdf`` is refused rather than served as something it is not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from server.core.errors import N_, ValidationFailed
from server.core.fields import clean_text
from server.opinions import photos as opinion_photos

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 4
PDF = "application/pdf"
# The types we take, and the file name endings each may carry.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    PDF: (".pdf",),
}
# A declared type that says nothing (browsers send it for unknown endings).
_UNSPECIFIC = {"", "application/octet-stream"}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")


@dataclass(frozen=True)
class FileUpload:
    filename: str
    content_type: str  # as the browser declared it
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    stored: opinion_photos.Photo  # sha256, sniffed content type and bytes
    filename: str


def sniff(data: bytes) -> str | None:
    """The type by magic bytes: the photo types, or PDF."""
    found = opinion_photos.sniff(data)
    if found is not None:
        return found
    return PDF if data.startswith(b"%PDF-") else None


def clean_name(filename: str) -> str:
    """The base name only, under the text rule (no control characters, ANSI escapes or
    bidirectional overrides: ``photo\u202egnp.exe`` must not show as ``photoexe.png``),
    without quotes, at most 120 characters."""
    base = PureWindowsPath(PurePosixPath(clean_text(filename)).name).name
    return _UNSAFE_NAME.sub("", base).strip()[-120:]


def _declared(upload: FileUpload) -> set[str]:
    """The types the upload claims to be, by its declared type and its name's ending."""
    claims = set()
    declared = upload.content_type.split(";")[0].strip().lower()
    if declared not in _UNSPECIFIC:
        claims.add(_ALIASES.get(declared, declared))
    suffix = PurePosixPath(clean_name(upload.filename).lower()).suffix
    claims.update(kind for kind, endings in EXTENSIONS.items() if suffix in endings)
    return claims


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Please correct the marked fields.", field_errors={field: message})


def check(uploads: Sequence[FileUpload], *, field: str = "attachments") -> list[CheckedFile]:
    """Every upload checked, or ValidationFailed naming the field."""
    given = [u for u in uploads if u.data or u.filename]
    if len(given) > MAX_FILES:
        raise _fail(field, N_("At most 4 files per question."))
    out: list[CheckedFile] = []
    for upload in given:
        if len(upload.data) > MAX_FILE_BYTES:
            raise _fail(field, N_("A file may be at most 5 MB."))
        kind = sniff(upload.data)
        if kind is None:
            raise _fail(field, N_("Only photos (JPEG, PNG, WebP) and PDF files are accepted."))
        claims = _declared(upload)
        if claims and claims != {kind}:
            raise _fail(field, N_("The file's content does not match its type."))
        out.append(CheckedFile(
            opinion_photos.Photo(hashlib.sha256(upload.data).hexdigest(), kind, upload.data),
            clean_name(upload.filename)))
    return out


def store(root: Path, checked: CheckedFile) -> Path:
    return opinion_photos.store(root, checked.stored)


def path_of(root: Path, sha256: str) -> Path:
    return opinion_photos.path_of(root, sha256)
