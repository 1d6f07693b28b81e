"""Residents' phone photos: checked by opening them, re-encoded without their metadata.

The page shrinks photos to at most 1600 px before upload; the server does not trust that.
Pillow must open and verify the file; it is then turned upright, shrunk if still larger,
and re-encoded as JPEG, which drops every EXIF field (camera, time, owner). The position
(the GPS block) is kept only when the resident chose to share the place, and only until
the retention job takes it out again (:func:`without_exif`, losslessly).
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


def without_exif(data: bytes) -> bytes:
    """``data`` (a JPEG) without its EXIF segments (APP1 ``Exif``), every other byte kept:
    the picture is not decoded or encoded again. Anything that does not read as a JPEG's
    header comes back as it is."""
    if not data.startswith(b"\xff\xd8"):
        return data
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return data
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: the rest as it is
            out += data[i:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[i:i + 2]
            i += 2
            continue
        end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if end <= i + 3 or end > len(data):
            return data
        if not (marker == 0xE1 and data[i + 4:i + 10] == b"Exif\x00\x00"):
            out += data[i:end]
        i = end
    return data

