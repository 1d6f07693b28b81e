"""Helpers for the residents' channel tests: posters, the resident's form, photos."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from tests.conftest import CSRF_RE

TOKEN_RE = re.compile(r'/r/([A-Za-z0-9_-]{16,32})"')
KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')
NAME = "李秀兰"
PHONE = "13912345678"


async def poster_token(staff: TestClient, site_id: int) -> str:
    resp = await staff.get(f"/residents/sites/{site_id}/poster")
    assert resp.status == 200, await resp.text()
    match = TOKEN_RE.search(await resp.text())
    assert match
    return match.group(1)


def options(page: str, name: str) -> list[str]:
    block = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d+)"', block)


async def open_form(c: TestClient, token: str) -> dict[str, str]:
    resp = await c.get(f"/r/{token}")
    page = await resp.text()
    assert resp.status == 200, page
    csrf = CSRF_RE.search(page)
    key = KEY_RE.search(page)
    assert csrf and key
    return {"_csrf": csrf.group(1), "idempotency_key": key.group(1),
            "opinion_category_id": options(page, "opinion_category_id")[0],
            "question_category_id": options(page, "question_category_id")[0]}


def jpeg(width: int = 64, height: int = 48, *, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 60, 40))
    if exif is not None:
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


async def file(c: TestClient, token: str, *, form: dict[str, str] | None = None,
               photos: Sequence[tuple[str, bytes, str]] = (),
               headers: dict[str, str] | None = None, **fields: str) -> ClientResponse:
    base = form if form is not None else await open_form(c, token)
    data = {**base, "kind": "opinion", "text": "楼道窗户松了，刮风时砰砰响，怕掉下来砸到人。",
            "place": "3号楼2单元", "resident_name": NAME, "contact": PHONE, "consent": "1",
            **fields}
    body = FormData()
    for key, value in data.items():
        if value is not None:
            body.add_field(key, value)
    for name, content, content_type in photos:
        body.add_field("photos", io.BytesIO(content), filename=name, content_type=content_type)
    return await c.post(f"/r/{token}", data=body, allow_redirects=False, headers=headers)
