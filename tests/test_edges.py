"""The known bad inputs at the public edges: each gets a clear 4xx and changes nothing.

Every case here was reported (or found by tests/test_fuzz_routes.py) as a 500, a leak or
garbage stored as sent; the property test covers the same ground with generated values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import (
    DeviceToken,
    Opinion,
    OpinionCategory,
    OpinionStatus,
    QuestionAttachment,
)
from tests.conftest import CSRF_RE
from tests.question_helpers import FALLING, PNG, known, post

SignedIn = Callable[[str], Awaitable[TestClient]]
HUGE = 99999999999999999999


async def token(c: TestClient, path: str = "/opinions") -> str:
    match = CSRF_RE.search(await (await c.get(path)).text())
    assert match
    return match.group(1)


async def count(c: TestClient, model: type) -> int:
    async with session_factory(c.app[ENGINE])() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def json_error(resp: object) -> dict[str, object]:
    body = await resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


async def test_huge_opinion_id_is_not_found(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    for path in (f"/opinions/{HUGE}", f"/api/opinions/{HUGE}", f"/opinions/photos/{HUGE}",
                 f"/open311/v2/requests/{HUGE}.json", f"/legal/questions/{HUGE}"):
        resp = await host.get(path)
        assert resp.status == 404, path
        text = json.dumps(await resp.json(), ensure_ascii=False) \
            if resp.content_type == "application/json" else await resp.text()
        assert ("未找到" in text) or ("页面不存在" in text), path


async def test_huge_category_id_in_the_api_is_a_field_error(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    before = await count(site01, Opinion)
    resp = await site01.post("/api/opinions", headers={"X-CSRF-Token": await token(site01)},
                             json={"text": "路灯坏了", "category_id": HUGE, "anonymous": True})
    assert resp.status == 422
    assert (await json_error(resp))["fields"] == {"category_id": "请从选项中选择。"}
    assert await count(site01, Opinion) == before


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"a": ' * 50_000 + "1" + "}" * 50_000,
], ids=["deep-array", "deep-field", "deep-object"])
async def test_deeply_nested_json_is_refused(signed_in: SignedIn, body: str) -> None:
    site01 = await signed_in("site01")
    before = await count(site01, Opinion)
    resp = await site01.post("/api/opinions", data=body, headers={
        "X-CSRF-Token": await token(site01), "Content-Type": "application/json"})
    assert resp.status == 400
    assert await json_error(resp) == {"code": "bad_request",
                                      "message": "请求正文不是有效的 JSON。"}
    assert await count(site01, Opinion) == before


@pytest.mark.parametrize("body", [b"{", b'{"text": "\xff"}', b"", b"\xef\xbb\xbf{}x"],
                         ids=["truncated", "not-utf8", "empty", "trailing"])
async def test_broken_json_is_refused(signed_in: SignedIn, body: bytes) -> None:
    site01 = await signed_in("site01")
    resp = await site01.post("/api/opinions", data=body, headers={
        "X-CSRF-Token": await token(site01), "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await json_error(resp))["message"] == "请求正文不是有效的 JSON。"


async def test_attendance_day_past_2099_is_refused(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "٢٠٢٦-٠١-٠١", "2026-01-01\x00"):
        resp = await host.get("/rooms/street/attendance", params={"day": day})
        assert resp.status == 422, day
        assert "请输入 1970-01-01 至 2099-12-31 之间的日期" in await resp.text(), day


@pytest.mark.parametrize("name", ["start_date", "end_date"])
@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+00:00",
    "2026-02-30T00:00:00+08:00", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00",
])
async def test_open311_dates_at_the_edges_are_refused(signed_in: SignedIn, name: str,
                                                      value: str) -> None:
    host = await signed_in("host")
    resp = await host.get("/open311/v2/requests.json", params={name: value})
    assert resp.status == 422
    [error] = await resp.json()
    assert error["code"] == 422
    assert error["description"].startswith(name)


async def test_open311_dates_inside_the_range_still_work(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    async with session_factory(host.app[ENGINE])() as db:
        category = await db.scalar(select(OpinionCategory.id).limit(1))
    resp = await host.post("/api/opinions", headers={"X-CSRF-Token": await token(host)},
                           json={"text": "路灯坏了", "category_id": category, "site_id": 1,
                                 "anonymous": True})
    assert resp.status == 201, await resp.text()
    ident = (await resp.json())["id"]
    # Open311 lists published items only (docs/opinions.md): publish this one.
    async with session_factory(host.app[ENGINE])() as db, db.begin():
        await db.execute(update(Opinion).where(Opinion.id == ident).values(
            status=OpinionStatus.RESOLVED, public_note="已修复"))
    resp = await host.get("/open311/v2/requests.json", params={
        "start_date": "1970-01-02T00:00:00+08:00", "end_date": "2099-12-30T00:00:00Z"})
    assert resp.status == 200
    assert str(ident) in [r["service_request_id"] for r in await resp.json()]
    resp = await host.get("/open311/v2/requests.json", params={
        "start_date": "1970-01-02T00:00:00+08:00", "end_date": "1970-01-03T00:00:00Z"})
    assert resp.status == 200
    assert await resp.json() == []  # the range really filters


async def test_moving_a_session_to_year_one_is_a_field_error(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    schedule = await (await host.get("/schedule")).text()
    session_id = re.findall(r"/schedule/sessions/(\d+)", schedule)[0]
    path = f"/schedule/sessions/{session_id}"
    before = await (await host.get(path)).text()
    for day in ("0001-01-01", "9999-12-31"):
        resp = await host.post(f"{path}/move", data={
            "_csrf": await token(host, path), "date": day, "time": "09:00", "version": "1"},
            allow_redirects=False)
        assert resp.status == 422, day
        assert "请输入 1970-01-01 至 2099-12-31 之间的日期" in await resp.text()
    assert await (await host.get(path)).text() == before


def multipart(fields: dict[str, str], files: list[tuple[str, bytes]], field: str,
              filename_header: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand, so a file name can hold what no client library
    would put there (a NUL, a raw quote)."""
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for _name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                     .encode() + b"filename=" + filename_header +
                     b"\r\nContent-Type: image/png\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("filename", [
    b'"scan\x00.png"', b'"a"b.png"', b'"\xe2\x80\xaegnp.exe"', b'"\x1b[31mred.png"',
    b'"../../etc/passwd.png"', b"\"" + b"x" * 4000 + b".png\"",
    b"\"" + b"x" * 9000 + b".png\"",
], ids=["nul", "quote", "rtl-override", "ansi", "dot-dot", "long", "line-past-8-kib"])
async def test_odd_file_names_never_break_an_upload(signed_in: SignedIn,
                                                    filename: bytes) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    body, content_type = multipart({
        "_csrf": await token(site01, "/legal"), "session_id": str(ids["s1"]),
        "text": "楼上漏水", "category_id": str(ids["侵权"]), "anonymous": "1"},
        [("x", PNG)], "attachments", filename)
    resp = await site01.post("/legal/questions/new", data=body,
                             headers={"Content-Type": content_type}, allow_redirects=False)
    assert resp.status in (303, 400, 422), await resp.text()
    async with session_factory(site01.app[ENGINE])() as db:
        names = list(await db.scalars(select(QuestionAttachment.filename)))
    for name in names:
        assert not re.search(r'[\x00-\x1f\x7f"\\/\u202a-\u202e\u2066-\u2069]', name), name
        assert len(name) <= 120
    if resp.status == 422:
        assert names == []
        assert "请更正标出的字段" in await resp.text()
    if resp.status == 400:  # a part header that is no HTTP (a NUL, a line past 8 KiB)
        assert names == []
        assert "无法读取该请求" in await resp.text()


async def test_rtl_override_never_reaches_a_stored_file_name(signed_in: SignedIn) -> None:
    site01 = await signed_in("site01")
    ids = await known(site01)
    body, content_type = multipart({
        "_csrf": await token(site01, "/legal"), "session_id": str(ids["s1"]),
        "text": "楼上漏水", "category_id": str(ids["侵权"]), "anonymous": "1"},
        [("x", PNG)], "attachments", '"photo\u202egnp.png"'.encode())
    resp = await site01.post("/legal/questions/new", data=body,
                             headers={"Content-Type": content_type}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    async with session_factory(site01.app[ENGINE])() as db:
        assert list(await db.scalars(select(QuestionAttachment.filename))) == ["photognp.png"]


@pytest.mark.parametrize(("filename", "status"), [
    (b'"a\x00b.png"', 400), ('"a\u202eb.png"'.encode(), 303)], ids=["nul", "rtl"])
async def test_opinion_photo_names(signed_in: SignedIn, filename: bytes,
                                   status: int) -> None:
    site01 = await signed_in("site01")
    before = await count(site01, Opinion)
    async with session_factory(site01.app[ENGINE])() as db:
        category = await db.scalar(select(OpinionCategory.id).limit(1))
    body, content_type = multipart({
        "_csrf": await token(site01), "text": "井盖松动", "category_id": str(category),
        "anonymous": "1"}, [("x", PNG)], "photos", filename)
    resp = await site01.post("/opinions/new", data=body,
                             headers={"Content-Type": content_type}, allow_redirects=False)
    assert resp.status == status, await resp.text()
    assert await count(site01, Opinion) == before + (status == 303)


async def test_a_header_line_over_8_kib_is_a_400(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    resp = await host.get("/opinions", headers={"X-Filler": "a" * 8 * 1024})
    assert resp.status == 400
    assert "Got more than 8190 bytes" in await resp.text()
    assert (await host.get("/opinions")).status == 200


async def test_device_label_is_cleaned_and_user_id_bounded(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/admin/devices")).text()
    site_user = re.findall(r'<option value="(\d+)"', page)[0]
    csrf = await token(admin, "/admin/devices")
    before = await count(admin, DeviceToken)
    for user_id in (str(HUGE), "-1", "٣", "1\x00"):
        resp = await admin.post("/admin/devices", data={
            "_csrf": csrf, "user_id": user_id, "label": "PC"})
        assert resp.status in (404, 422), user_id
    assert await count(admin, DeviceToken) == before
    resp = await admin.post("/admin/devices", data={
        "_csrf": csrf, "user_id": site_user, "label": "\x1b[31m会议室\u202e电脑\x00 "})
    assert resp.status == 200
    async with session_factory(admin.app[ENGINE])() as db:
        labels = list(await db.scalars(select(DeviceToken.label).order_by(DeviceToken.id)))
    assert labels[-1] == "会议室电脑"


async def test_workday_far_in_the_future_is_refused(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    csrf = await token(admin, "/schedule/workdays")
    resp = await admin.post("/schedule/workdays", data={
        "_csrf": csrf, "day": "9999-12-31", "kind": "holiday", "name": "x"})
    assert resp.status == 422
    assert "请输入 1970-01-01 至 2099-12-31 之间的日期" in await resp.text()
    page = await (await admin.get("/schedule/workdays", params={"year": "9999"})).text()
    assert "9999-12-31" not in page
    resp = await admin.post("/schedule/workdays/9999-12-31/delete", data={"_csrf": csrf})
    assert resp.status in (404, 422)


async def test_live_queue_json_hides_other_sites_residents(signed_in: SignedIn) -> None:
    site01, site02, host = (await signed_in("site01"), await signed_in("site02"),
                            await signed_in("host"))
    ids = await known(site01)
    status, page, _ = await post(site01, "/legal/questions/new", {
        "session_id": str(ids["s1"]), "text": FALLING, "category_id": str(ids["侵权"]),
        "resident_name": "王阿姨", "contact": "13800001111"})
    assert status == 303, page
    for path in (f"/legal/sessions/{ids['s1']}/queue.json", "/legal/queue.json?room=legal"):
        resp = await site02.get(path)
        assert resp.status == 200, path
        body = await resp.text()
        assert "王阿姨" not in body and "13800001111" not in body, path
        [item] = (await resp.json())["queued"]
        assert (item["site_id"], item["resident"], item["text"]) == (
            ids["site01"], None, FALLING), path
        # Its own site and the street office still see the name.
        for insider in (site01, host):
            [item] = (await (await insider.get(path)).json())["queued"]
            assert item["resident"] == "王阿姨", path
