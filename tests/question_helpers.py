"""Helpers for the legal question tests: demo accounts, legal sessions, forms and files."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core.db import session_factory
from server.core.keys import ENGINE
from server.legal import questions
from server.legal.commands import submit_from_fields
from server.legal.files import FileUpload
from server.models import (
    Department,
    Programme,
    ProgrammeSession,
    Question,
    QuestionCategory,
    Site,
    UnitKind,
    User,
)
from tests.conftest import CSRF_RE, MutableClock
from tests.opinion_helpers import png_bytes

SignedIn = Callable[[str], Awaitable[TestClient]]
UPLOADS = Path("/nonexistent-uploads")
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = png_bytes()
FALLING = "楼上住户的花盆掉下来砸坏了我的车，找不到是谁家的，谁来赔？"
PARKING = "小区里的公共车位被外来车辆占用，物业能不能收费？谁来管？"


async def principal(db: AsyncSession, username: str) -> Principal:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return Principal.of(user)


async def legal_sessions(db: AsyncSession) -> list[ProgrammeSession]:
    """The legal consultation day's sessions, soonest first (the first is the court's)."""
    rows = await db.scalars(
        select(ProgrammeSession).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.unit_kind == UnitKind.DEPARTMENT).order_by(ProgrammeSession.starts_at))
    return list(rows)


async def duty_station_session(db: AsyncSession) -> ProgrammeSession:
    row = await db.scalar(
        select(ProgrammeSession).join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(Programme.unit_kind == UnitKind.DEPUTY).order_by(ProgrammeSession.starts_at))
    assert row is not None
    return row


async def category_id(db: AsyncSession, name: str = "侵权") -> int:
    row = await db.scalar(select(QuestionCategory).where(QuestionCategory.name == name))
    assert row is not None, name
    return row.id


async def site_id(db: AsyncSession, code: str) -> int:
    row = await db.scalar(select(Site).where(Site.code == code))
    assert row is not None
    return row.id


async def department_id(db: AsyncSession, code: str) -> int:
    row = await db.scalar(select(Department).where(Department.code == code))
    assert row is not None
    return row.id


async def ask(db: AsyncSession, clock: MutableClock, who: str = "site01", *,
              session: int | None = None, files: Sequence[FileUpload] = (),
              uploads_dir: Path = UPLOADS, **fields: str) -> questions.Submitted:
    """Submit a question as `who` (to the first legal session unless told otherwise)."""
    viewer = await principal(db, who)
    target = session if session is not None else (await legal_sessions(db))[0].id
    data = {"session_id": str(target), "text": FALLING, "category_id": str(await category_id(db)),
            "resident_name": "王阿姨", "contact": "13800001111", **fields}
    if viewer.site_id is None and "site_id" not in data:
        data["site_id"] = str(await site_id(db, "site01"))
    return await questions.submit(db, submit_from_fields(data), viewer=viewer, clock=clock, uploads=files,
                                  uploads_dir=uploads_dir)


async def fresh(db: AsyncSession, question_id: int) -> Question:
    row = await db.get(Question, question_id)
    assert row is not None
    await db.refresh(row)
    return row


# -- over HTTP -------------------------------------------------------------------------


async def csrf(c: TestClient, path: str = "/legal") -> str:
    match = CSRF_RE.search(await (await c.get(path)).text())
    assert match
    return match.group(1)


async def post(c: TestClient, path: str, fields: dict[str, str],
               files: Sequence[tuple[str, bytes, str]] = ()) -> tuple[int, str, str]:
    form = FormData()
    form.add_field("_csrf", await csrf(c))
    for key, value in fields.items():
        form.add_field(key, value)
    for name, data, content_type in files:
        form.add_field("attachments", io.BytesIO(data), filename=name,
                       content_type=content_type)
    resp = await c.post(path, data=form, allow_redirects=False)
    return resp.status, await resp.text(), resp.headers.get("Location", "")


def field_errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="(\w+)">([^<]*)<', page))


async def known(c: TestClient) -> dict[str, int]:
    """Ids by code or name: sites, departments, categories, and "s1".. for legal sessions."""
    async with session_factory(c.app[ENGINE])() as db:
        out = {s.code: s.id for s in await db.scalars(select(Site))}
        out |= {d.code: d.id for d in await db.scalars(select(Department))}
        out |= {q.name: q.id for q in await db.scalars(select(QuestionCategory))}
        out |= {f"s{n}": s.id for n, s in enumerate(await legal_sessions(db), start=1)}
    return out


async def submit_page(c: TestClient, **fields: str) -> tuple[int, str, str]:
    ids = await known(c)
    data = {"session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
            "resident_name": "王阿姨", "contact": "13800001111", **fields}
    return await post(c, "/legal/questions/new", data)


async def new_question(c: TestClient, **fields: str) -> int:
    status, page, location = await submit_page(c, **fields)
    assert status == 303, page
    return int(location.split("?")[0].rsplit("/", 1)[1])


async def version_of(c: TestClient, question_id: int) -> str:
    async with session_factory(c.app[ENGINE])() as db:
        row = await db.get(Question, question_id)
        assert row is not None
        return str(row.version)
