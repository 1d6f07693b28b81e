"""Admin forms: create, edit, deactivate, and validation errors that change nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import AuditEntry, Department, Deputy, Site, User
from tests.conftest import CSRF_RE, csrf_of, login
from tests.test_auth import replay, saved_cookie, try_login

SignedIn = Callable[[str], Awaitable[TestClient]]


async def post_form(c: TestClient, path: str, data: dict[str, str]) -> tuple[int, str]:
    page = await (await c.get(path if path.endswith("/new") or path[-1].isdigit()
                              else "/")).text()
    token = CSRF_RE.search(page)
    assert token
    resp = await c.post(path, data={**data, "_csrf": token.group(1)}, allow_redirects=False)
    return resp.status, await resp.text()


def field_errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="(\w+)">([^<]*)<', page))


async def counts(c: TestClient) -> dict[str, int]:
    async with session_factory(c.app[ENGINE])() as db:
        return {m.__name__: await db.scalar(select(func.count()).select_from(m)) or 0
                for m in (Site, Department, Deputy, User, AuditEntry)}


GOOD_SITE = {"code": "site15", "name": "新村社区", "display_name": "新村", "kind": "community",
             "position": "15"}

INVALID = [
    ("sites", {**GOOD_SITE, "code": ""}, {"code": "此项为必填项。"}),
    ("sites", {**GOOD_SITE, "code": "Bad Code!"}, {"code": "只能使用小写字母、数字、“-”和“_”（最多 32 个字符）。"}),
    ("sites", {**GOOD_SITE, "code": "site01"}, {"code": "该编码已被使用。"}),
    ("sites", {**GOOD_SITE, "kind": "city", "position": "x", "display_name": "x" * 41},
     {"kind": "请从选项中选择。", "position": "请输入整数。", "display_name": "内容过长。"}),
    ("departments", {"code": "court", "name": "法院"}, {"code": "该编码已被使用。"}),
    ("departments", {"code": "arbitration", "name": ""}, {"name": "此项为必填项。"}),
    ("deputies", {"name": "", "kind": "mayor"}, {"name": "此项为必填项。", "kind": "请从选项中选择。"}),
    ("users", {"username": "host", "display_name": "X", "role": "host", "password": "long-enough"},
     {"username": "该用户名已被使用。"}),
    ("users", {"username": "new_site", "display_name": "X", "role": "site", "password": "short"},
     {"password": "至少 8 个字符。", "site_id": "该角色必须填写此项。"}),
    ("users", {"username": "long.pw", "display_name": "X", "role": "host",
               "password": "p" * 1025}, {"password": "内容过长。"}),
    ("users", {"username": "x", "display_name": "X", "role": "officer", "department_id": "999",
               "password": "long-enough"}, {"department_id": "请从选项中选择。"}),
    ("users", {"username": "x y", "display_name": "", "role": "root", "password": "long-enough"},
     {"username": "只能使用字母、数字、“.”、“-”和“_”。", "display_name": "此项为必填项。",
      "role": "请从选项中选择。"}),
]


@pytest.mark.parametrize(("entity", "data", "errors"), INVALID)
async def test_invalid_forms_show_errors_and_change_nothing(
    signed_in: SignedIn, entity: str, data: dict[str, str], errors: dict[str, str]
) -> None:
    admin = await signed_in("admin")
    before = await counts(admin)
    status, page = await post_form(admin, f"/admin/{entity}/new", data)
    assert status == 422
    assert field_errors(page) == errors
    assert "请更正标出的字段。" in page
    assert await counts(admin) == before


async def test_create_edit_deactivate_site_with_audit(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post_form(admin, "/admin/sites/new", GOOD_SITE)
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        site = await db.scalar(select(Site).where(Site.code == "site15"))
    assert site is not None
    assert (site.name, site.kind.value, site.position, site.active) == (
        "新村社区", "community", 15, True)
    status, _ = await post_form(admin, f"/admin/sites/{site.id}",
                                {**GOOD_SITE, "name": "新村社区（东）"})
    assert status == 303
    status, _ = await post_form(admin, f"/admin/sites/{site.id}/deactivate", {})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        site = await db.get(Site, site.id)
        log = list(await db.scalars(select(AuditEntry).where(AuditEntry.target_type == "site")
                                    .order_by(AuditEntry.id)))
    assert site is not None
    assert (site.name, site.active) == ("新村社区（东）", False)
    assert [e.action for e in log] == ["site.create", "site.update", "site.deactivate"]
    assert log[1].changes == {"name": ["新村社区", "新村社区（东）"]}
    page = await (await admin.get("/admin/sites")).text()
    assert "已停用" in page


async def test_edit_unknown_id_is_404_and_changes_nothing(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    before = await counts(admin)
    status, _ = await post_form(admin, "/admin/sites/9999", GOOD_SITE)
    assert status == 404
    assert await counts(admin) == before


async def test_new_user_can_sign_in_and_deactivated_user_cannot(
    signed_in: SignedIn, client: TestClient
) -> None:
    admin = await signed_in("admin")
    async with session_factory(admin.app[ENGINE])() as db:
        dept = await db.scalar(select(Department).where(Department.code == "court"))
    assert dept is not None
    status, _ = await post_form(admin, "/admin/users/new", {
        "username": "judge.li", "display_name": "李法官", "role": "officer",
        "department_id": str(dept.id), "site_id": "1", "password": "a-good-password"})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        user = await db.scalar(select(User).where(User.username == "judge.li"))
    assert user is not None
    assert (user.department_id, user.site_id) == (dept.id, None)  # stray link dropped
    assert user.password_hash.startswith("$argon2id$")
    await login(client, "judge.li", "a-good-password")
    assert "李法官" in await (await client.get("/")).text()
    status, _ = await post_form(admin, f"/admin/users/{user.id}/deactivate", {})
    assert status == 303
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303  # the open session ends with the account


async def test_admin_cannot_deactivate_self(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    async with session_factory(admin.app[ENGINE])() as db:
        me = await db.scalar(select(User).where(User.username == "admin"))
    assert me is not None
    status, page = await post_form(admin, f"/admin/users/{me.id}/deactivate", {})
    assert status == 422
    assert "不能停用自己的账号" in page


async def test_device_token_form_errors(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    before = await counts(admin)
    page = await (await admin.get("/admin/devices")).text()
    token = CSRF_RE.search(page)
    assert token
    resp = await admin.post("/admin/devices", data={"user_id": "", "_csrf": token.group(1)})
    assert resp.status == 422
    assert field_errors(await resp.text()) == {"user_id": "请从选项中选择。"}
    non_site_id = re.search(r"/admin/users/(\d+)\">编辑", await (await admin.get("/admin/users"))
                        .text())
    assert non_site_id
    resp = await admin.post("/admin/devices", data={"user_id": non_site_id.group(1), "label": "x",
                                                    "_csrf": token.group(1)})
    assert resp.status == 422
    assert "设备令牌仅用于站点账号。" in await resp.text()
    assert await counts(admin) == before


async def test_site_text_is_stored_as_one_clean_line(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post_form(admin, "/admin/sites/new", {
        **GOOD_SITE, "name": " 新村\u202e社区\x1b[31m\r\n（东）\x07 ", "display_name": "新\u2066村\t"})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        site = await db.scalar(select(Site).where(Site.code == "site15"))
    assert site is not None
    assert (site.name, site.display_name) == ("新村社区 （东）", "新村")


async def test_deputy_and_department_names_are_cleaned_too(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post_form(admin, "/admin/departments/new",
                                {"code": "arbitration", "name": "仲裁\u202e委员会\n"})
    assert status == 303
    status, _ = await post_form(admin, "/admin/deputies/new", {
        "name": "赵\x00六", "kind": "cppcc", "title": "区政协\u202d委员\r\n"})
    assert status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        dept = await db.scalar(select(Department).where(Department.code == "arbitration"))
        deputy = await db.scalar(select(Deputy).where(Deputy.name == "赵六"))
    assert dept is not None and deputy is not None
    assert (dept.name, deputy.title) == ("仲裁委员会", "区政协委员")


@pytest.mark.parametrize("path", [
    "/admin/sites/99999999999999999999", "/admin/departments/99999999999999999999",
    "/admin/deputies/99999999999999999999/deactivate", "/admin/sites/-1",
    "/admin/devices/99999999999999999999/revoke",
])
async def test_ids_past_any_row_are_404_and_change_nothing(
    signed_in: SignedIn, path: str
) -> None:
    admin = await signed_in("admin")
    before = await counts(admin)
    assert (await admin.get(path)).status in (404, 405)
    status, page = await post_form(admin, path, GOOD_SITE)
    assert status == 404
    assert "未找到" in page
    assert await counts(admin) == before


async def test_category_ids_past_any_row_are_404(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post_form(admin, "/opinions/categories/99999999999999999999",
                                {"name": "x", "position": "1"})
    assert status == 404


async def test_category_names_are_cleaned_and_unique(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, _ = await post_form(admin, "/opinions/categories",
                                {"name": "噪音\u202e扰民\x1b[0m\n", "position": "9"})
    assert status == 303
    assert "噪音扰民" in await (await admin.get("/opinions/categories")).text()
    status, page = await post_form(admin, "/opinions/categories",
                                   {"name": " 噪音扰民 ", "position": "10"})
    assert status == 422
    assert field_errors(page) == {"name": "该名称已被使用。"}


async def user_named(c: TestClient, username: str) -> User:
    async with session_factory(c.app[ENGINE])() as db:
        user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


async def test_password_reset_by_an_admin_ends_the_users_old_sessions(
    signed_in: SignedIn, client: TestClient
) -> None:
    admin, host = await signed_in("admin"), await signed_in("host")
    cookie = saved_cookie(host)
    user = await user_named(admin, "host")
    form = {"username": "host", "display_name": "主持人（新）", "role": "host"}
    # An edit that keeps the password keeps the sessions.
    status, _ = await post_form(admin, f"/admin/users/{user.id}", form)
    assert status == 303
    assert (await host.get("/", allow_redirects=False)).status == 200
    status, _ = await post_form(admin, f"/admin/users/{user.id}",
                                {**form, "password": "a-new-password"})
    assert status == 303
    assert await replay(host, cookie) == (303, "/login 401")
    assert (await try_login(client, "host", "demo-password"))[0] == 401
    await login(client, "host", "a-new-password")
    assert (await client.get("/", allow_redirects=False)).status == 200
    async with session_factory(admin.app[ENGINE])() as db:
        log = list(await db.scalars(select(AuditEntry).where(
            AuditEntry.target_type == "user", AuditEntry.target_id == str(user.id))
            .order_by(AuditEntry.id)))
    assert [e.changes for e in log] == [
        {"display_name": [user.display_name, "主持人（新）"]},
        {"password": ["***", "***"]}]


async def test_deactivation_and_reactivation_end_the_old_sessions(
    signed_in: SignedIn, client: TestClient
) -> None:
    admin, host = await signed_in("admin"), await signed_in("host")
    cookie = saved_cookie(host)
    user = await user_named(admin, "host")
    status, _ = await post_form(admin, f"/admin/users/{user.id}/deactivate", {})
    assert status == 303
    assert await replay(host, cookie) == (303, "/login 401")
    assert (await try_login(client, "host", "demo-password"))[0] == 401
    status, _ = await post_form(admin, f"/admin/users/{user.id}/activate", {})
    assert status == 303
    # Reactivating the account does not bring its old cookies back.
    assert await replay(host, cookie) == (303, "/login 401")
    await login(client, "host")
    assert (await client.get("/", allow_redirects=False)).status == 200


async def test_a_password_reset_leaves_the_sites_device_sign_in_alone(
    signed_in: SignedIn, client: TestClient
) -> None:
    admin = await signed_in("admin")
    site = await user_named(admin, "site01")
    page = await (await admin.get("/admin/devices")).text()
    resp = await admin.post("/admin/devices", data={
        "user_id": str(site.id), "label": "会议室电脑", "_csrf": CSRF_RE.search(page).group(1)})
    token = (await resp.text()).split('data-testid="new-token">')[1].split("<")[0]
    resp = await client.post("/device", data={"token": token,
                                              "_csrf": await csrf_of(client, "/device")},
                             allow_redirects=False)
    assert resp.status == 303
    status, _ = await post_form(admin, f"/admin/users/{site.id}", {
        "username": "site01", "display_name": site.display_name, "role": "site",
        "site_id": str(site.site_id), "password": "a-new-password"})
    assert status == 303
    # The PC's cookie session is over, but its device token signs it in again at once.
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 200
    resp = await client.get("/", headers={"Authorization": f"Bearer {token}",
                                          "Accept": "application/json"})
    assert resp.status == 200


@pytest.mark.parametrize("path", ["/legal/categories", "/opinions/categories"])
async def test_the_category_editor_has_a_heading_over_each_control(signed_in: SignedIn,
                                                                   path: str) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get(path)).text()
    table = re.search(r'data-testid="category-table">(.*?)</table>', page, re.S)
    assert table
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table.group(1))
    assert heads == ["名称", "排序", "状态", "操作"]
    rows = re.findall(r"<tr [^>]*data-category=\"\d+\">(.*?)</tr>", table.group(1), re.S)
    assert rows
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert len(cells) == 4
        assert 'name="name"' in cells[0] and 'name="position"' in cells[1]
        assert cells[2].strip() in ("启用", "停用")
        assert "<form" in cells[3] and "保存" in cells[3]
