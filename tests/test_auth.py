"""Sign-in, sign-out, CSRF, sessions and device tokens."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import AuditEntry, DeviceToken
from tests.conftest import CSRF_RE, MutableClock, csrf_of, login

SignedIn = Callable[[str], Awaitable[TestClient]]


async def test_anonymous_is_sent_to_login_with_next(client: TestClient) -> None:
    resp = await client.get("/admin/sites", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/admin/sites"


async def test_login_then_dashboard_then_logout(client: TestClient) -> None:
    await login(client, "host")
    resp = await client.get("/")
    text = await resp.text()
    assert resp.status == 200
    assert "街道会议主持人" in text and "工作台" in text
    token = CSRF_RE.search(text)
    assert token
    resp = await client.post("/logout", data={"_csrf": token.group(1)}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")
    resp = await client.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")


async def test_wrong_password_is_refused_without_saying_which_part(client: TestClient) -> None:
    for username, password in [("host", "wrong-password"), ("nobody", "demo-password")]:
        token = await csrf_of(client)
        resp = await client.post("/login", data={"username": username, "password": password,
                                                 "_csrf": token})
        assert resp.status == 401
        assert "用户名或密码错误" in await resp.text()
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303


async def test_login_redirect_never_leaves_the_site(client: TestClient) -> None:
    token = await csrf_of(client)
    resp = await client.post("/login", data={"username": "host", "password": "demo-password",
                                             "_csrf": token, "next": "//evil.example/x"},
                             allow_redirects=False)
    assert resp.headers["Location"] == "/"


async def test_post_without_or_with_wrong_csrf_is_rejected(client: TestClient) -> None:
    await csrf_of(client)
    for data in ({"username": "host", "password": "demo-password"},
                 {"username": "host", "password": "demo-password", "_csrf": "forged"}):
        resp = await client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 403
        assert "表单已过期" in await resp.text()
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303  # still signed out


async def test_csrf_rejection_changes_nothing(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    resp = await admin.post("/admin/sites/new", data={
        "code": "site99", "name": "x", "display_name": "x", "kind": "village", "position": "1",
        "_csrf": "forged"})
    assert resp.status == 403
    page = await (await admin.get("/admin/sites")).text()
    assert "site99" not in page


async def test_session_is_rotated_on_login(client: TestClient) -> None:
    await csrf_of(client)
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["yizhan_session"]
    await login(client, "host")
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["yizhan_session"]
    assert before.value != after.value


async def test_password_session_expires_after_twelve_hours(
    client: TestClient, clock: MutableClock
) -> None:
    await login(client, "host")
    clock.advance(hours=11)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(hours=2)
    resp = await client.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")


async def test_device_token_signs_in_and_revoking_it_signs_out(
    signed_in: SignedIn, client: TestClient, clock: MutableClock
) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/admin/devices")).text()
    user_id = re.search(r'<option value="(\d+)">[^<]*\(site01\)', page).group(1)
    resp = await admin.post("/admin/devices", data={
        "user_id": user_id, "label": "会议室电脑", "_csrf": CSRF_RE.search(page).group(1)})
    text = await resp.text()
    assert resp.status == 200
    token = text.split('data-testid="new-token">')[1].split("<")[0]
    assert len(token) >= 40

    device = client
    form_token = await csrf_of(device, "/device")
    resp = await device.post("/device", data={"token": token, "_csrf": form_token},
                             allow_redirects=False)
    assert resp.status == 303
    # Long after a password session would have expired, the PC is still signed in.
    clock.advance(days=30)
    resp = await device.get("/")
    assert resp.status == 200 and "东坡村会议室" in await resp.text()

    async with session_factory(admin.app[ENGINE])() as db:
        row = await db.scalar(select(DeviceToken))
        assert row is not None and row.revoked_at is None
    await login(admin, "admin")  # the admin's password session expired meanwhile
    page = await (await admin.get("/admin/devices")).text()
    resp = await admin.post(f"/admin/devices/{row.id}/revoke",
                            data={"_csrf": CSRF_RE.search(page).group(1)})
    assert resp.status == 200
    resp = await device.get("/", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/login")
    # The cookie alone does not sign it in again either.
    resp = await device.get("/", allow_redirects=False)
    assert resp.status == 303
    async with session_factory(admin.app[ENGINE])() as db:
        actions = list(await db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["device_token.issue", "device_token.revoke"]


async def test_unknown_device_token_is_refused(client: TestClient) -> None:
    token = await csrf_of(client, "/device")
    resp = await client.post("/device", data={"token": "not-a-token", "_csrf": token})
    assert resp.status == 401
    assert "设备令牌无效或已被吊销" in await resp.text()


async def test_bearer_device_token_needs_no_csrf_and_unknown_bearer_is_anonymous(
    client: TestClient,
) -> None:
    resp = await client.get("/", headers={"Authorization": "Bearer nope",
                                          "Accept": "application/json"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "not_authenticated"
