"""Residents' phone photos: checked by opening them, re-encoded without their metadata.

The page shrinks photos to at most 1600 px before upload; the server does not trust that.
Pillow must open and verify the file; it is then turned upright, shrunk if still larger,
and re-encoded as JPEG, which drops every EXIF field (camera, time, owner). The position
(the GPS block) is kept only when the resident chose to share the place.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from server.core.errors import N_, ValidationFailed
from server.opinions.photos import Photo

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
MAX_PIXELS = 40_000_000
GPS_IFD = 0x8825
FIELD = "photos"


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed("Please correct the marked fields.", field_errors={FIELD: message})


def clean(data: bytes, *, keep_location: bool) -> Photo:
    """A re-encoded JPEG of `data`, or ValidationFailed when it is not a usable image."""
    if len(data) > MAX_PHOTO_BYTES:
        raise _fail(N_("A photo may be at most 5 MB."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise _fail(N_("This photo is too large."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            gps = dict(exif.get_ifd(GPS_IFD)) if keep_location else {}
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError):
        raise _fail(N_("This file is not a photo we can read.")) from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if gps:
        kept = Image.Exif()
        kept[GPS_IFD] = gps
        upright.save(out, "JPEG", quality=85, exif=kept.tobytes())
    else:
        upright.save(out, "JPEG", quality=85)
    encoded = out.getvalue()
    return Photo(hashlib.sha256(encoded).hexdigest(), "image/jpeg", encoded)


def clean_all(uploads: Sequence[Upload], *, keep_location: bool) -> list[Photo]:
    given = [u for u in uploads if u.data]
    if len(given) > MAX_PHOTOS:
        raise _fail(N_("At most 3 photos."))
    return [clean(u.data, keep_location=keep_location) for u in given]
