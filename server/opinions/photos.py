"""Photos of opinion items: checked by their first bytes, stored once by content hash.

A file's name and its declared content type are the uploader's word; the first bytes are
not. Only JPEG, PNG and WebP pass. Files live under ``var/uploads/<2 hex>/<sha256>``, so
the same photo uploaded twice is stored once, and the name says nothing about the item.
A file written for a transaction that then fails stays behind unreferenced: harmless, as
it is only ever served through a photo row of an item the reader may see.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from server.core.errors import N_, ValidationFailed

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 6


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Photo:
    sha256: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The image type by magic bytes, or None for anything we do not accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(uploads: Sequence[Upload], *, field: str = "photos") -> list[Photo]:
    """Every upload as a checked photo, or ValidationFailed naming the field."""
    given = [u for u in uploads if u.data or u.filename]
    if len(given) > MAX_PHOTOS:
        raise ValidationFailed("Please correct the marked fields.",
                               field_errors={field: N_("At most 6 photos at a time.")})
    photos: list[Photo] = []
    for upload in given:
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise ValidationFailed("Please correct the marked fields.",
                                   field_errors={field: N_("A photo may be at most 5 MB.")})
        content_type = sniff(upload.data)
        if content_type is None:
            raise ValidationFailed(
                "Please correct the marked fields.",
                field_errors={field: N_("Only JPEG, PNG and WebP photos are accepted.")})
        photos.append(Photo(hashlib.sha256(upload.data).hexdigest(), content_type, upload.data))
    return photos


def path_of(root: Path, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return root / sha256[:2] / sha256


def store(root: Path, photo: Photo) -> Path:
    """Write the file unless the same content is already there; atomic by rename."""
    target = path_of(root, photo.sha256)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(photo.data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
