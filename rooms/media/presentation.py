"""What a room presents on its wall besides the cameras: a document's page or a screen.

A document arrives already rendered: one PNG file per page, at about the wall's size,
made by whoever uploaded it (the engine draws no PDF). Only the page on show is read,
converted to yuv420p once, and handed to the compositor as a still picture, which scales
it once and leaves it alone until the page or the layout changes. A shared screen is a
participant's second video source (its own connection, publish-only), shown in the same
place. File names and counts are plain strings and numbers, so a registry in another
process can be told the same.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import av

from rooms.errors import UserError

MAX_PAGES = 500  # the engine's own bound; the server's upload limit is lower
MAX_TITLE_CHARS = 200
DOCUMENT_KEY = "~document"  # the compositor's name for the page on show
SCREEN_KEY = "~screen"  # ... and for the shared screen (no participant key starts with "~")
SCREEN_ASPECT = 16 / 9  # until its first picture, a screen is taken to be 16:9
_PNG = b"\x89PNG\r\n\x1a\n"
_MAX_SIDE = 8192


class PresentationKind(StrEnum):
    DOCUMENT = "document"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    width: int
    height: int

    @property
    def aspect(self) -> float:
        return self.width / self.height


def read_page(path: str) -> Page:
    """A page's size from its PNG header; a file that is no PNG is refused."""
    try:
        with open(path, "rb") as file:
            head = file.read(24)
    except OSError:
        raise UserError(f"page file {path!r} cannot be read", code="bad-document") from None
    if len(head) < 24 or not head.startswith(_PNG) or head[12:16] != b"IHDR":
        raise UserError(f"page file {path!r} is not a PNG image", code="bad-document")
    width, height = struct.unpack(">II", head[16:24])
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise UserError(f"page file {path!r} has an unusable size", code="bad-document")
    return Page(path, width, height)


def load_page(page: Page) -> av.VideoFrame:
    """The page as a yuv420p picture (run it off the event loop: it reads and decodes)."""
    decoder = av.CodecContext.create("png", "r")
    frames = decoder.decode(av.Packet(Path(page.path).read_bytes()))
    if not frames:
        raise UserError(f"page file {page.path!r} could not be decoded", code="bad-document")
    frame = frames[0]
    if not isinstance(frame, av.VideoFrame):
        raise UserError(f"page file {page.path!r} is no picture", code="bad-document")
    return frame.reformat(width=frame.width // 2 * 2 or 2, height=frame.height // 2 * 2 or 2,
                          format="yuv420p")


@dataclass(frozen=True, kw_only=True, slots=True)
class Presentation:
    """What is on show, by whom; ``page`` counts from 1 (documents only)."""

    kind: PresentationKind
    presenter: str
    title: str = ""
    pages: tuple[Page, ...] = ()
    page: int = 1

    @property
    def key(self) -> str:
        return DOCUMENT_KEY if self.kind is PresentationKind.DOCUMENT else SCREEN_KEY

    @property
    def aspect(self) -> float:
        if self.kind is PresentationKind.DOCUMENT:
            return self.pages[self.page - 1].aspect
        return SCREEN_ASPECT

    @property
    def current(self) -> Page | None:
        return self.pages[self.page - 1] if self.pages else None

    def to_dict(self, presenter_name: str) -> dict[str, Any]:
        """What clients are told (``room_state.presentation``) and a restore needs."""
        return {
            "kind": str(self.kind),
            "presenter_id": self.presenter,
            "presenter_name": presenter_name,
            "title": self.title,
            "page": self.page if self.pages else None,
            "pages": len(self.pages) if self.pages else None,
        }


def document(presenter: str, title: str, paths: list[str], page: int) -> Presentation:
    """A document presentation, every page file checked; raises ``UserError`` if unfit."""
    if not isinstance(title, str) or len(title) > MAX_TITLE_CHARS:
        raise UserError(f"a title is at most {MAX_TITLE_CHARS} characters", code="bad-document")
    if not 0 < len(paths) <= MAX_PAGES:
        raise UserError(f"a document has 1-{MAX_PAGES} pages", code="bad-document")
    pages = tuple(read_page(str(path)) for path in paths)
    check_page(page, len(pages))
    return Presentation(kind=PresentationKind.DOCUMENT, presenter=presenter, title=title,
                        pages=pages, page=page)


def check_page(page: int, pages: int) -> None:
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= pages:
        raise UserError(f"there is no page {page!r}: the document has pages 1-{pages}",
                        code="bad-page")
