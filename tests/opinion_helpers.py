"""Helpers for the opinion tests: principals of the demo accounts, items and actions."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import SHANGHAI
from server.accounts.users import Principal
from server.models import Department, Opinion, OpinionCategory, Site, User
from server.opinions import items as opinions
from server.opinions.commands import create_from_fields, transition_from_fields
from tests.conftest import MutableClock

UPLOADS = Path("/nonexistent-uploads")


async def principal(db: AsyncSession, username: str) -> Principal:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return Principal.of(user)


async def site_id(db: AsyncSession, code: str) -> int:
    site = await db.scalar(select(Site).where(Site.code == code))
    assert site is not None
    return site.id


async def department_id(db: AsyncSession, code: str) -> int:
    dept = await db.scalar(select(Department).where(Department.code == code))
    assert dept is not None
    return dept.id


async def category_id(db: AsyncSession, name: str = "设施维修") -> int:
    category = await db.scalar(select(OpinionCategory).where(OpinionCategory.name == name))
    assert category is not None
    return category.id


async def record(db: AsyncSession, clock: MutableClock, who: str = "site01", *,
                 uploads_dir: Path = UPLOADS, **fields: str) -> Opinion:
    viewer = await principal(db, who)
    data = {"text": "小区路灯坏了三盏，晚上出行不便。", "category_id": str(await category_id(db)),
            "resident_name": "张大爷", "contact": "13800000000", **fields}
    if "site_id" not in data and viewer.site_id is None:
        data["site_id"] = str(await site_id(db, "site01"))
    return await opinions.create(db, create_from_fields(data, needs_site=viewer.site_id is None), viewer=viewer, clock=clock,
                                 uploads_dir=uploads_dir)


async def act(db: AsyncSession, clock: MutableClock, who: str, item_id: int, action: str,
              **fields: str) -> Opinion:
    """Apply ``action`` as ``who`` with the item's current version."""
    item = await db.get(Opinion, item_id)
    assert item is not None
    await db.refresh(item)
    data = {"action": action, "version": str(item.version), **fields}
    if action in ("reassign", "update", "resolve", "reopen", "reject", "terminate"):
        data.setdefault("note", f"{action} note")
    return await opinions.transition(db, item_id, transition_from_fields(data),
                                     viewer=await principal(db, who),
                                     clock=clock, tz=SHANGHAI, uploads_dir=UPLOADS)


async def accept(db: AsyncSession, clock: MutableClock, item_id: int, dept: str = "court",
                 who: str = "host", action: str = "accept", **fields: str) -> Opinion:
    """Accept (or reassign, or try any action) with a department chosen."""
    return await act(db, clock, who, item_id, action,
                     department_id=str(await department_id(db, dept)), **fields)


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(raw)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
