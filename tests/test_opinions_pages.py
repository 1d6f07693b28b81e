"""Opinion pages as each role uses them: record with photos, who sees what, uploads."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Sequence

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from server.models import Department, Deputy, Opinion, OpinionCategory, OpinionPhoto, Site
from tests.conftest import CSRF_RE
from tests.opinion_helpers import JPEG, WEBP, png_bytes

SignedIn = Callable[[str], Awaitable[TestClient]]


async def csrf(c: TestClient, path: str = "/opinions") -> str:
    match = CSRF_RE.search(await (await c.get(path)).text())
    assert match
    return match.group(1)


async def ids(c: TestClient) -> dict[str, int]:
    async with session_factory(c.app[ENGINE])() as db:
        out = {s.code: s.id for s in await db.scalars(select(Site))}
        out |= {d.code: d.id for d in await db.scalars(select(Department))}
        out |= {f"deputy{d.id}": d.id for d in await db.scalars(select(Deputy))}
        out |= {c.name: c.id for c in await db.scalars(select(OpinionCategory))}
    return out


async def submit(c: TestClient, path: str, fields: dict[str, str],
                 photos: Sequence[tuple[str, bytes, str]] = ()) -> tuple[int, str, str]:
    form = FormData()
    form.add_field("_csrf", await csrf(c))
    for key, value in fields.items():
        form.add_field(key, value)
    for name, data, content_type in photos:
        form.add_field("photos", io.BytesIO(data), filename=name, content_type=content_type)
    resp = await c.post(path, data=form, allow_redirects=False)
    return resp.status, await resp.text(), resp.headers.get("Location", "")


def field_errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="(\w+)">([^<]*)<', page))


async def new_item(c: TestClient, **fields: str) -> int:
    known = await ids(c)
    data = {"text": "楼道窗户松动，刮风时有掉落危险。", "category_id": str(known["安全隐患"]),
            "resident_name": "李阿姨", "contact": "13900001111", **fields}
    status, page, location = await submit(c, "/opinions/new", data,
                                          [("window.png", png_bytes(), "image/png")])
    assert status == 303, page
    return int(location.rsplit("/", 1)[1])


async def transition(c: TestClient, item_id: int, **fields: str) -> tuple[int, str]:
    page = await (await c.get(f"/opinions/{item_id}")).text()
    version = re.search(r'name="version" value="(\d+)"', page)
    data = {"version": version.group(1) if version else "1", **fields}
    status, body, _ = await submit(c, f"/opinions/{item_id}/transition", data)
    return status, body


async def test_site_records_and_sees_only_its_own(signed_in: SignedIn) -> None:
    site01, site02 = await signed_in("site01"), await signed_in("site02")
    item_id = await new_item(site01, site_id="999")  # a site's own site wins over the form
    page = await (await site01.get(f"/opinions/{item_id}")).text()
    assert "楼道窗户松动" in page
    assert 'data-testid="opinion-contact">13900001111<' in page
    assert re.search(r'<img src="/opinions/photos/\d+"', page)
    async with session_factory(site01.app[ENGINE])() as db:
        item = await db.get(Opinion, item_id)
        assert item is not None
        assert item.site_id == (await ids(site01))["site01"]
    assert f'data-opinion="{item_id}"' in await (await site01.get("/opinions")).text()
    # Another site: not in its list, the item and its photos do not exist for it.
    assert f'data-opinion="{item_id}"' not in await (await site02.get("/opinions")).text()
    assert (await site02.get(f"/opinions/{item_id}")).status == 404
    photo_id = re.search(r'/opinions/photos/(\d+)', page)
    assert photo_id
    assert (await site02.get(f"/opinions/photos/{photo_id.group(1)}")).status == 404
    status, _ = await transition(site02, item_id, action="confirm")
    assert status == 404


async def test_department_sees_and_acts_only_on_assigned_items(signed_in: SignedIn) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    court, police = await signed_in("court"), await signed_in("police")
    known = await ids(site01)
    item_id = await new_item(site01)
    assert (await court.get(f"/opinions/{item_id}")).status == 404  # not assigned yet
    status, _ = await transition(host, item_id, action="accept",
                                 department_id=str(known["court"]), workdays="3")
    assert status == 303
    court_page = await (await court.get(f"/opinions/{item_id}")).text()
    assert 'data-testid="opinion-contact">13900001111<' in court_page
    assert 'data-action="update"' in court_page and 'data-action="resolve"' in court_page
    assert 'data-action="accept"' not in court_page
    assert f'data-opinion="{item_id}"' in await (await court.get("/opinions")).text()
    # Another department: neither in the list nor reachable, nor can it act.
    assert f'data-opinion="{item_id}"' not in await (await police.get("/opinions")).text()
    assert (await police.get(f"/opinions/{item_id}")).status == 404
    status, _ = await transition(police, item_id, action="resolve", note="不是我们的")
    assert status == 404
    api = await police.get(f"/api/opinions/{item_id}")
    assert api.status == 404
    # The site may not act for the department, nor assign.
    status, page = await transition(site01, item_id, action="resolve", note="x")
    assert status == 403
    status, _, _ = await submit(
        court, f"/opinions/{item_id}/transition",
        {"action": "update", "version": "2", "note": "已联系物业，明天上门"},
        [("fix.jpg", JPEG, "image/jpeg"), ("fix.webp", WEBP, "image/webp")])
    assert status == 303
    page = await (await site01.get(f"/opinions/{item_id}")).text()
    assert "已联系物业，明天上门" in page
    assert len(re.findall(r'<img src="/opinions/photos/\d+"', page)) == 3
    # Reassigned away, the court loses the item.
    status, _ = await transition(host, item_id, action="reassign",
                                 department_id=str(known["police"]), note="转交公安分局")
    assert status == 303
    assert (await court.get(f"/opinions/{item_id}")).status == 404
    assert (await police.get(f"/opinions/{item_id}")).status == 200


async def test_deputy_records_and_contact_stays_hidden(signed_in: SignedIn) -> None:
    deputy1, deputy2 = await signed_in("deputy1"), await signed_in("deputy2")
    site03, site01 = await signed_in("site03"), await signed_in("site01")
    known = await ids(deputy1)
    item_id = await new_item(deputy1, site_id=str(known["site03"]), deputy_id="999")
    page = await (await deputy1.get(f"/opinions/{item_id}")).text()
    assert "楼道窗户松动" in page
    assert "13900001111" not in page  # a deputy does not see the contact
    assert "王建国" in page  # linked to the deputy who recorded it, whatever the form said
    site_page = await (await site03.get(f"/opinions/{item_id}")).text()
    assert 'data-testid="opinion-contact">13900001111<' in site_page
    assert (await deputy2.get(f"/opinions/{item_id}")).status == 404
    assert (await site01.get(f"/opinions/{item_id}")).status == 404
    # Items collected at deputy1's duty hours by a site are deputy1's to follow too.
    linked = await new_item(site01, deputy_id=str(known["deputy1"]))
    assert (await deputy1.get(f"/opinions/{linked}")).status == 200
    assert (await deputy2.get(f"/opinions/{linked}")).status == 404
    officer = await signed_in("court")
    assert (await officer.get("/opinions/new")).status == 403


async def test_new_item_form_errors_in_chinese(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    status, page, _ = await submit(host, "/opinions/new", {"text": "", "category_id": "x"})
    assert status == 422
    assert field_errors(page) == {"text": "此项为必填项。", "site_id": "请从选项中选择。",
                                  "category_id": "请从选项中选择。",
                                  "resident_name": "请填写居民姓名，或勾选“匿名”。"}
    status, page, _ = await submit(host, "/opinions/new", {
        "text": "长" * 1001, "site_id": "1", "category_id": "1", "anonymous": "1"})
    assert status == 422
    assert field_errors(page) == {"text": "内容过长。"}
    async with session_factory(host.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Opinion)) == 0


@pytest.mark.parametrize(("photo", "error"), [
    (("notes.jpg", b"GIF89a" + b"\x00" * 20, "image/jpeg"), "只接受 JPEG、PNG 和 WebP 格式的照片。"),
    (("scan.pdf", b"%PDF-1.7\n" + b"\x00" * 20, "application/pdf"), "只接受 JPEG、PNG 和 WebP 格式的照片。"),
    (("big.jpg", JPEG[:3] + b"\x00" * (5 * 1024 * 1024 - 2), "image/jpeg"), "每张照片不能超过 5 MB。"),
], ids=["gif-named-jpeg", "pdf", "too-big"])
async def test_upload_checks(signed_in: SignedIn, photo: tuple[str, bytes, str],
                             error: str) -> None:
    site01 = await signed_in("site01")
    known = await ids(site01)
    status, page, _ = await submit(site01, "/opinions/new", {
        "text": "井盖破损", "category_id": str(known["安全隐患"]), "anonymous": "1"}, [photo])
    assert status == 422
    assert field_errors(page) == {"photos": error}
    async with session_factory(site01.app[ENGINE])() as db:
        assert await db.scalar(select(func.count()).select_from(Opinion)) == 0
        assert await db.scalar(select(func.count()).select_from(OpinionPhoto)) == 0


async def test_request_over_the_body_limit_is_413(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    limit = site01.app[SETTINGS].max_upload_bytes
    status, page, _ = await submit(site01, "/opinions/new", {"text": "x", "anonymous": "1"},
                                   [("huge.jpg", JPEG[:3] + b"\x00" * limit, "image/jpeg")])
    assert status == 413
    assert "上传的文件过大。" in page


async def test_photos_are_served_only_to_readers_and_stored_by_hash(
        signed_in: SignedIn) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    court, deputy = await signed_in("court"), await signed_in("deputy1")
    item_id = await new_item(site01)
    async with session_factory(site01.app[ENGINE])() as db:
        photo = await db.scalar(select(OpinionPhoto).where(OpinionPhoto.opinion_id == item_id))
    assert photo is not None
    url = f"/opinions/photos/{photo.id}"
    for reader in (site01, host):
        resp = await reader.get(url)
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.read() == png_bytes()
    for outsider in (court, deputy):
        assert (await outsider.get(url)).status == 404
    stored = site01.app[SETTINGS].uploads_dir / photo.sha256[:2] / photo.sha256
    assert stored.read_bytes() == png_bytes()
    assert (await host.get("/opinions/photos/99999")).status == 404


async def test_refused_transition_shows_why_in_chinese(signed_in: SignedIn) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    item_id = await new_item(site01)
    status, page = await transition(host, item_id, action="confirm")
    assert status == 409
    assert "只有已办结的事项才能确认。" in page
    status, page = await transition(host, item_id, action="accept", department_id="")
    assert status == 422
    assert field_errors(page) == {"department_id": "请从选项中选择。"}


async def test_lists_filter_and_flag(signed_in: SignedIn) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    first = await new_item(site01, text="垃圾露天堆放")
    second = await new_item(site01, text="单元门口没有扶手")
    status, _ = await transition(host, second, action="reject", note="重复事项")
    assert status == 303
    page = await (await host.get("/opinions?status=rejected")).text()
    assert f'data-opinion="{second}"' in page and f'data-opinion="{first}"' not in page
    page = await (await host.get("/opinions?q=扶手")).text()
    assert f'data-opinion="{second}"' in page and f'data-opinion="{first}"' not in page
    assert (await host.get("/opinions?site_id=abc")).status == 422
    page = await (await site01.get(f"/opinions/{second}")).text()
    assert 'data-testid="opinion-public-note">重复事项<' in page
