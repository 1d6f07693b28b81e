"""The JSON API and its OpenAPI description; the read-only Open311 GeoReport v2 view."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from sqlalchemy import func, select, update

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.edge.openapi import SPEC
from server.models import Opinion, OpinionCategory, Site
from tests.conftest import CSRF_RE, AppFactory, MutableClock
from tests.opinion_helpers import accept, act, record

SignedIn = Callable[[str], Awaitable[TestClient]]


async def token(c: TestClient) -> dict[str, str]:
    match = CSRF_RE.search(await (await c.get("/opinions")).text())
    assert match
    return {"X-CSRF-Token": match.group(1)}


def test_openapi_spec_validates() -> None:
    validate(SPEC)  # raises on any error


async def test_spec_is_served_and_matches_the_routes(app_factory: AppFactory) -> None:
    app = app_factory()
    routes = {(r.method, re.sub(r"\{(\w+)(:[^}]*)?\}", "{id}", r.resource.canonical))
              for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/opinions")
              and r.method != "HEAD"}
    documented = {(method.upper(), path) for path, ops in SPEC["paths"].items()
                  for method in ops}
    assert documented == routes


async def test_spec_is_public(client: TestClient) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    assert (await resp.json())["openapi"] == "3.0.3"


async def test_create_list_get_and_transition(signed_in: SignedIn) -> None:
    site01, host = await signed_in("site01"), await signed_in("host")
    categories = (await (await site01.get("/api/opinions/categories")).json())["items"]
    assert [c["name"] for c in categories] == [
        "设施维修", "环境卫生", "交通出行", "物业管理", "安全隐患", "文体设施", "其他"]
    resp = await site01.post("/api/opinions", headers=await token(site01), json={
        "text": "雨棚下有马蜂窝", "category_id": categories[4]["id"], "anonymous": True,
        "contact": "13700000000"})
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert {k: created[k] for k in ("text", "status", "anonymous", "resident_name", "contact",
                                    "version", "actions")} == {
        "text": "雨棚下有马蜂窝", "status": "received", "anonymous": True,
        "resident_name": None, "contact": "13700000000", "version": 1, "actions": []}
    assert [e["action"] for e in created["timeline"]] == ["create"]
    listing = await (await host.get("/api/opinions?status=received")).json()
    assert [i["id"] for i in listing["items"]] == [created["id"]]
    assert listing["total"] == 1
    detail = await (await host.get(f"/api/opinions/{created['id']}")).json()
    assert detail["actions"] == ["accept", "reject", "merge"]
    resp = await host.post(f"/api/opinions/{created['id']}/transitions",
                           headers=await token(host),
                           json={"action": "accept", "version": 1, "department_id": 1,
                                 "workdays": 3})
    assert resp.status == 200, await resp.text()
    accepted = await resp.json()
    assert (accepted["status"], accepted["department"]["name"], accepted["due_day"],
            accepted["version"]) == ("accepted", "区人民法院", "2026-11-26", 2)
    # A stale version is a 409 with a clear message; a refused action too.
    resp = await host.post(f"/api/opinions/{created['id']}/transitions",
                           headers=await token(host), json={"action": "reject", "version": 1})
    assert resp.status == 409
    assert (await resp.json())["error"]["message"] == (
        "其他人已先修改了此事项。请查看其当前状态后重试。")
    resp = await host.post(f"/api/opinions/{created['id']}/transitions",
                           headers=await token(host), json={"action": "reject", "version": 2,
                                                            "note": "x"})
    assert resp.status == 409
    assert await resp.json() == {"error": {"code": "transition_refused",
                                           "message": "只有新收到的事项才能不予受理。"}}
    # The deputy never sees the contact; another site never sees the item.
    deputy = await signed_in("deputy1")
    assert (await deputy.get(f"/api/opinions/{created['id']}")).status == 404
    site02 = await signed_in("site02")
    assert (await (await site02.get("/api/opinions")).json())["total"] == 0


async def test_api_errors(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    headers = await token(host)
    resp = await host.post("/api/opinions", headers=headers, data="not json")
    assert resp.status == 400
    assert (await resp.json())["error"]["message"] == "请求正文不是有效的 JSON。"
    resp = await host.post("/api/opinions", headers=headers, json=["a list"])
    assert resp.status == 422
    assert (await resp.json())["error"]["message"] == "请求内容必须是 JSON 对象。"
    resp = await host.post("/api/opinions", headers=headers, json={"text": ["a"]})
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"] == {"text": "请填写单个值。"}
    resp = await host.post("/api/opinions", headers=headers, json={"text": ""})
    body = await resp.json()
    assert resp.status == 422
    assert set(body["error"]["fields"]) == {"text", "site_id", "category_id", "resident_name"}
    resp = await host.post("/api/opinions", headers=headers, json={"text": {"zh": "a"}})
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"] == {"text": "请填写单个值。"}
    assert (await host.get("/api/opinions?limit=500")).status == 422
    assert (await host.get("/api/opinions/99999")).status == 404
    resp = await host.post("/api/opinions", json={"text": "x"})  # no CSRF token
    assert resp.status == 403
    court = await signed_in("court")
    resp = await court.post("/api/opinions", headers=await token(court), json={"text": "x"})
    assert resp.status == 403


async def test_open311_is_public_and_shows_only_published_items(
        signed_in: SignedIn, client: TestClient, clock: MutableClock) -> None:
    site01 = await signed_in("site01")
    now = clock
    async with session_factory(site01.app[ENGINE])() as db, db.begin():
        open_item = await record(db, now, resident_name="王小明", contact="13511112222")
        await accept(db, now, open_item.id)
        done = await record(db, now, resident_name="赵大妈", contact="幸福路 8 号",
                            text="雨棚下有马蜂窝，赵大妈家孩子被蛰过")
        await accept(db, now, done.id, dept="police")
        await act(db, now, "police", done.id, "resolve", note="内部：联系了赵大妈",
                  public_note="马蜂窝已清除")
        unpublished = await record(db, now)
        await accept(db, now, unpublished.id, dept="police")
        await act(db, now, "police", unpublished.id, "resolve", note="内部备注",
                  public_note="已处理")
        await db.execute(update(Opinion).where(Opinion.id == unpublished.id)
                         .values(public_note=""))
        rejected = await record(db, now)
        await act(db, now, "host", rejected.id, "reject", public_note="不属于本街道")
    services = await (await client.get("/open311/v2/services.json")).json()
    assert [s["service_name"] for s in services] == [
        "设施维修", "环境卫生", "交通出行", "物业管理", "安全隐患", "文体设施", "其他"]
    assert {k: v for k, v in services[0].items() if k != "service_code"} == {
        "service_name": "设施维修", "description": "", "metadata": False, "type": "batch",
        "keywords": "", "group": ""}
    # No sign-in needed.
    resp = await client.get("/open311/v2/requests.json", allow_redirects=False)
    assert resp.status == 200
    raw = json.dumps(await resp.json(), ensure_ascii=False)
    for personal in ("王小明", "13511112222", "赵大妈", "幸福路", "马蜂窝，", "内部"):
        assert personal not in raw
    requests = await resp.json()
    assert [r["service_request_id"] for r in requests] == [str(done.id)]
    first = requests[0]
    assert set(first) == {
        "service_request_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency_responsible", "service_notice", "requested_datetime",
        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
        "long", "media_url"}
    assert {k: first[k] for k in ("status", "status_notes", "description", "service_name",
                                  "agency_responsible", "requested_datetime",
                                  "expected_datetime", "address", "media_url")} == {
        "status": "closed", "status_notes": None, "description": "马蜂窝已清除",
        "service_name": "设施维修", "agency_responsible": "区公安分局",
        "requested_datetime": "2026-11-23T09:30:00+08:00",
        "expected_datetime": "2026-12-01T00:00:00+08:00", "address": "东坡村",
        "media_url": None}
    one = await (await client.get(f"/open311/v2/requests/{done.id}.json")).json()
    assert one == requests
    for hidden in (open_item.id, unpublished.id, rejected.id):
        assert (await client.get(f"/open311/v2/requests/{hidden}.json")).status == 404
    closed = await (await client.get("/open311/v2/requests.json?status=closed")).json()
    assert [r["service_request_id"] for r in closed] == [str(done.id)]
    assert await (await client.get("/open311/v2/requests.json?status=open")).json() == []
    bad = await client.get("/open311/v2/requests.json?status=maybe")
    assert bad.status == 422
    assert await bad.json() == [{"code": 422, "description": "status 只能是 open 或 closed。"}]
    # Signed-in callers see the same published view, nothing more.
    host = await signed_in("host")
    assert await (await host.get("/open311/v2/requests.json")).json() == requests


async def test_categories_are_admin_editable(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/opinions/categories")).text()
    csrf = CSRF_RE.search(page)
    assert csrf
    form = {"_csrf": csrf.group(1)}
    resp = await admin.post("/opinions/categories", data={**form, "name": "噪音扰民",
                                                          "position": "8"},
                            allow_redirects=False)
    assert resp.status == 303
    resp = await admin.post("/opinions/categories", data={**form, "name": "噪音扰民",
                                                          "position": "9"})
    assert resp.status == 422
    assert 'data-field-error="name">该名称已被使用。<' in await resp.text()
    names = [c["name"] for c in (await (await admin.get("/api/opinions/categories")).json())
             ["items"]]
    assert names[-1] == "噪音扰民"
    # The row (a table row of the category editor) whose order is 1.
    ident = re.search(r'<tr [^>]*data-category="(\d+)">(?:(?!</tr>).)*?<input name="position" '
                      r'form="category-\1" type="number" min="0" max="999" value="1"', page,
                      re.S)
    assert ident
    resp = await admin.post(f"/opinions/categories/{ident.group(1)}",
                            data={**form, "active": "0"}, allow_redirects=False)
    assert resp.status == 303
    new_form = await (await admin.get("/opinions/new")).text()
    assert "设施维修" not in new_form and "噪音扰民" in new_form
    host = await signed_in("host")
    assert (await host.get("/opinions/categories")).status == 403



TOO_BIG = 99999999999999999999  # past 2**31-1: no row can have it


async def _count(c: TestClient) -> int:
    async with session_factory(c.app[ENGINE])() as db:
        return await db.scalar(select(func.count()).select_from(Opinion)) or 0


async def _ids(c: TestClient) -> tuple[int, int]:
    async with session_factory(c.app[ENGINE])() as db:
        site = await db.scalar(select(Site.id).where(Site.code == "site01"))
        category = await db.scalar(select(OpinionCategory.id)
                                   .where(OpinionCategory.name == "设施维修"))
    assert site is not None and category is not None
    return site, category


async def test_ids_no_row_can_have_are_not_found(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    for path in (f"/opinions/{TOO_BIG}", f"/api/opinions/{TOO_BIG}",
                 f"/opinions/photos/{TOO_BIG}", f"/open311/v2/requests/{TOO_BIG}.json"):
        assert (await host.get(path)).status == 404, path
    resp = await host.post(f"/api/opinions/{TOO_BIG}/transitions", headers=await token(host),
                           json={"action": "accept", "version": 1})
    assert resp.status == 404
    resp = await host.get(f"/open311/v2/requests.json?service_request_id={TOO_BIG}")
    assert resp.status == 422  # a list of item numbers, so a bad one is the caller's error
    assert [e["code"] for e in await resp.json()] == [422]


async def test_api_ids_out_of_range_are_field_errors(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    site, _ = await _ids(host)
    resp = await host.post("/api/opinions", headers=await token(host), json={
        "text": "路灯坏了", "site_id": site, "category_id": TOO_BIG, "anonymous": True})
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"] == {"category_id": "请从选项中选择。"}
    resp = await host.post("/api/opinions", headers=await token(host), json={
        "text": "路灯坏了", "site_id": True, "category_id": "1.5", "anonymous": True})
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"] == {"site_id": "请从选项中选择。",
                                                      "category_id": "请从选项中选择。"}
    assert await _count(host) == 0


async def test_typed_json_values_are_read_as_such(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    site, category = await _ids(host)
    resp = await host.post("/api/opinions", headers=await token(host), json={
        "text": "路灯坏了", "site_id": site, "category_id": category, "anonymous": False,
        "resident_name": None})
    assert resp.status == 422  # false is not anonymous, and null is no name
    assert (await resp.json())["error"]["fields"] == {
        "resident_name": "请填写居民姓名，或勾选“匿名”。"}
    resp = await host.post("/api/opinions", headers=await token(host), json={
        "text": "路灯坏了", "site_id": site, "category_id": category, "anonymous": True,
        "deputy_id": None})
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert (created["anonymous"], created["deputy"]) == (True, None)


async def test_text_is_stored_cleaned(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    site, category = await _ids(host)
    resp = await host.post("/api/opinions", headers=await token(host), json={
        "text": "路灯\x00坏了\x1b[31m三盏\x1b[0m\u202e。\r\n第二行 ",
        "site_id": site, "category_id": category, "resident_name": "张\t大爷\n",
        "contact": "\u202e138\x0000000000"})
    assert resp.status == 201, await resp.text()
    ident = (await resp.json())["id"]
    async with session_factory(host.app[ENGINE])() as db:
        item = await db.get(Opinion, ident)
    assert item is not None
    # NUL dropped (not cut), ANSI escapes whole, bidi override gone, CRLF a line break.
    assert (item.text, item.resident_name, item.contact) == (
        "路灯坏了三盏。\n第二行", "张 大爷", "13800000000")


async def test_form_and_api_record_the_same_item(signed_in: SignedIn) -> None:
    host = await signed_in("host")
    site, category = await _ids(host)
    fields = {"text": "楼道灯不亮\r\n已两周", "site_id": site, "category_id": category,
              "resident_name": " 李阿姨 ", "contact": "13900001111"}
    headers = await token(host)
    resp = await host.post("/opinions/new", allow_redirects=False, data={
        "_csrf": headers["X-CSRF-Token"], **{k: str(v) for k, v in fields.items()}})
    assert resp.status == 303, await resp.text()
    resp = await host.post("/api/opinions", headers=headers, json=fields)
    assert resp.status == 201, await resp.text()
    columns = ("text", "site_id", "category_id", "resident_name", "contact", "deputy_id",
               "recorded_by_id", "status", "received_at", "public_note", "version")
    async with session_factory(host.app[ENGINE])() as db:
        rows = list(await db.scalars(select(Opinion).order_by(Opinion.id)))
    stored = [{c: getattr(row, c) for c in columns} for row in rows]
    assert len(stored) == 2
    assert stored[0] == stored[1]
    assert stored[0]["text"] == "楼道灯不亮\n已两周"
    assert stored[0]["resident_name"] == "李阿姨"
