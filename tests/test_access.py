"""Every route declares who may call it, and the declaration is enforced (table-driven)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.accounts.access import access_of, check_route_table, public
from server.models import Role
from tests.conftest import CSRF_RE, AppFactory, login

ACCOUNTS = {Role.ADMIN: "admin", Role.HOST: "host", Role.SITE: "site01",
            Role.OFFICER: "court", Role.DEPUTY: "deputy1"}
SAMPLE = {"entity": "sites", "ident": "1", "action": "activate", "code": "zh_CN", "room": "legal",
          "session_id": "1", "question_id": "1", "attachment_id": "1", "follow_up_id": "1",
          "category_id": "1", "recording_id": "1",
          "change_id": "1", "decision": "accept", "programme_id": "1", "day": "2026-10-01",
          "year": "2027", "feed_id": "1", "token": "not-a-feed-token", "notification_id": "1",
          "channel_id": "1", "outbox_id": "1", "message": "ab12", "document": "0" * 64,
          "meeting_id": "1"}


def concrete(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return SAMPLE[match.group(1).split(":")[0]]
    return re.sub(r"\{([^}]+)\}", fill, path)


def route_table(app: web.Application) -> list[tuple[str, str, web.AbstractRoute]]:
    rows = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        if route.method == "HEAD":
            continue
        rows.append((route.method, concrete(resource.canonical), route))
    # Sign-out last: it ends the session the other rows use.
    return sorted(rows, key=lambda r: (r[1] == "/logout", r[1], r[0]))


async def test_every_route_declares_access(app_factory: AppFactory) -> None:
    app = app_factory()
    assert all(access_of(route.handler) is not None for _m, _p, route in route_table(app))

    async def undeclared(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/undeclared", undeclared)
    with pytest.raises(RuntimeError, match="GET /undeclared"):
        check_route_table(app)


async def test_roles_are_enforced_on_every_route(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()
    server_client = await aiohttp_client(app)
    clients: dict[Role | None, TestClient] = {None: server_client}
    for role, username in ACCOUNTS.items():
        c = await aiohttp_client(server_client.server)
        await login(c, username)
        clients[role] = c
    checked = 0
    for method, path, route in route_table(app):
        access = access_of(route.handler)
        assert access is not None
        for role, c in clients.items():
            page = await (await c.get("/login" if role is None else "/")).text()
            token = CSRF_RE.search(page)
            data = {"_csrf": token.group(1) if token else ""}
            resp = await c.request(method, path, data=data if method == "POST" else None,
                                   allow_redirects=False)
            where = f"{method} {path} as {role}"
            if access.public:
                # Sign-in forms answer 401 for wrong credentials; never 403.
                assert resp.status != 403, where
            elif access.admits(role):
                assert resp.status not in (401, 403), where
                assert not resp.headers.get("Location", "").startswith("/login?"), where
            elif role is None:
                # Pages send a browser to sign in; JSON APIs and media files answer 401.
                expected = 303 if method == "GET" and not path.startswith("/api/") \
                    and not path.endswith("/video") else 401
                assert resp.status == expected, where
            else:
                assert resp.status == 403, where
                body = await resp.text()
                if path.startswith("/api/"):
                    body = json.loads(body)["error"]["message"]
                assert "您没有权限访问此页面" in body, where
            checked += 1
            if path == "/logout" and role is not None:
                await login(c, ACCOUNTS[role])
    assert checked >= 6 * 15


async def test_wrong_role_gets_json_error_for_json_clients(
    signed_in: Callable[[str], Awaitable[TestClient]],
) -> None:
    site = await signed_in("site01")
    resp = await site.get("/admin/users", headers={"Accept": "application/json"})
    assert resp.status == 403
    assert await resp.json() == {
        "error": {"code": "forbidden", "message": "您没有权限访问此页面。"}}


async def test_unknown_ids_are_404_and_errors_never_leak_a_trace(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()

    @public
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail /etc/passwd")

    app.router.add_get("/boom", boom)
    c = await aiohttp_client(app)
    await login(c, "admin")
    for path in ("/admin/sites/9999", "/admin/nothing", "/admin/sites/abc", "/no/such/page",
                 "/admin/notices/channels/9999", "/admin/notices/channels/abc",
                 "/admin/notices/channels/99999999999999999999"):
        resp = await c.get(path)
        assert resp.status == 404, path
        assert "页面不存在" in await resp.text() or "未找到" in await resp.text()
    resp = await c.get("/boom")
    body = await resp.text()
    assert resp.status == 500
    assert "系统内部错误" in body
    assert "secret detail" not in body
    assert "Traceback" not in body
    resp = await c.get("/boom", headers={"Accept": "application/json"})
    assert await resp.json() == {"error": {"code": "internal", "message": "系统内部错误。"}}


def test_the_residents_routes_are_public_and_the_poster_is_for_staff_and_the_site(
    app_factory: AppFactory,
) -> None:
    """The resident's pages need no account; the poster and its rotation need admin, host
    or the site (which may act only on its own site: tests/test_residents.py)."""
    app = app_factory()
    public_paths, staff_paths = set(), set()
    for method, path, route in route_table(app):
        access = access_of(route.handler)
        assert access is not None
        if path.startswith("/r/"):
            assert access.public, (method, path)
            public_paths.add((method, path))
        if path.startswith("/residents/"):
            assert not access.public and access.roles == {Role.ADMIN, Role.HOST, Role.SITE}
            staff_paths.add((method, path))
    assert public_paths == {("GET", "/r/status"), ("POST", "/r/status"),
                            ("POST", "/r/status/rate"), ("GET", "/r/photos/1"),
                            ("GET", "/r/not-a-feed-token"), ("POST", "/r/not-a-feed-token")}
    assert staff_paths == {("GET", "/residents/sites/1/poster"),
                           ("GET", "/residents/sites/1/qr.png"),
                           ("POST", "/residents/sites/1/rotate")}
