"""The administrator's notice pages and a user's own preferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.keys import DATABASE
from server.models import DeliveryLogEntry, NoticeChannel, OutboxEntry, Role, User
from server.notify import inbox, routing
from tests.conftest import CSRF_RE, MutableClock

SignedIn = Callable[[str], Awaitable[TestClient]]
KEY = "wecom-robot-key-zz-9876"


async def post(c: TestClient, path: str, data: dict[str, str], *, page: str = "/admin/notices",
               csrf: bool = True) -> tuple[int, str, str]:
    body = await (await c.get(page)).text()
    token = CSRF_RE.search(body)
    fields = {**data, "_csrf": token.group(1) if token and csrf else ""}
    resp = await c.post(path, data=fields, allow_redirects=False)
    return resp.status, resp.headers.get("Location", ""), await resp.text()


async def test_channel_secrets_are_sealed_and_never_shown_in_full(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    status, where, _ = await post(admin, "/admin/notices/channels", {
        "name": "法院群", "transport": "wecom", "scope": "street", "key": KEY,
        "enabled": "1"})
    assert (status, where) == (303, "/admin/notices")
    listing = await (await admin.get("/admin/notices")).text()
    assert "••••9876" in listing and KEY not in listing and "zz-9876" not in listing
    async with admin.app[DATABASE]() as db:
        row = (await db.scalars(select(NoticeChannel))).one()
    assert row.sealed_secrets is not None and KEY not in row.sealed_secrets
    assert row.secret_hints == {"key": "••••9876"}
    edit = await (await admin.get(f"/admin/notices/channels/{row.id}")).text()
    assert "••••9876" in edit and KEY not in edit
    # Saving with the secret left blank keeps it; the page never had it to send back.
    status, _, _ = await post(admin, f"/admin/notices/channels/{row.id}", {
        "name": "法院群（新）", "transport": "wecom", "scope": "street", "key": ""},
        page=f"/admin/notices/channels/{row.id}")
    assert status == 303
    async with admin.app[DATABASE]() as db:
        again = await db.get(NoticeChannel, row.id)
        assert again is not None
        assert (again.name, again.enabled, again.secret_hints) == (
            "法院群（新）", False, {"key": "••••9876"})
        assert again.sealed_secrets != row.sealed_secrets  # sealed afresh, same secret
    # A bad form changes nothing and names the field.
    status, _, body = await post(admin, "/admin/notices/channels", {
        "name": "", "transport": "fax", "scope": "street", "key": "ABCDEFGH12345678"})
    assert status == 422
    assert 'data-field-error="transport"' in body and "ABCDEFGH12345678" not in body
    async with admin.app[DATABASE]() as db:
        assert len((await db.scalars(select(NoticeChannel))).all()) == 1


async def test_the_routing_table_is_edited_by_the_administrator(signed_in: SignedIn) -> None:
    admin = await signed_in("admin")
    page = await (await admin.get("/admin/notices")).text()
    assert 'name="questions.packet|department_group" value="1" ' in page
    checked = {f"{kind}|{aud}": "1" for kind, auds in routing.DEFAULT_ROUTES.items()
               for aud in auds}
    checked["questions.packet|street_office"] = "1"
    del checked["session.room_open|site_group"]
    status, _, _ = await post(admin, "/admin/notices/routes", checked)
    assert status == 303
    async with admin.app[DATABASE]() as db:
        table = await routing.routes(db)
    assert table["questions.packet"] == ("department_group", "street_office")
    assert table["session.room_open"] == ()
    assert table["session.reminder_24h"] == ("department_group", "person")
    host = await signed_in("host")
    status, _, _ = await post(host, "/admin/notices/routes", {}, page="/")
    assert status == 403
    async with admin.app[DATABASE]() as db:
        assert (await routing.routes(db))["questions.packet"] == (
            "department_group", "street_office")


async def test_the_delivery_log_and_send_again_are_for_the_administrator_with_csrf(
    signed_in: SignedIn, clock: MutableClock
) -> None:
    admin = await signed_in("admin")
    status, _, _ = await post(admin, "/admin/notices/channels", {
        "name": "街道群", "transport": "wecom", "scope": "street", "key": KEY,
        "enabled": "1"})
    assert status == 303
    async with admin.app[DATABASE]() as db, db.begin():
        await routing.save_routes(db, routing.SaveRoutes({"opinion.escalated":
                                                          ("street_office",)}), clock=clock)
        hosts = await inbox.recipients(db, roles=[Role.HOST])
        await inbox.deliver(db, hosts, inbox.Message(
            kind="opinion.escalated", title="Opinion item #%(id)s is overdue (due %(due)s) "
            "and was escalated to the street office", params={"id": 7, "due": "2026-11-20"},
            link="/opinions/7", dedupe_key="t:1"), clock=clock)
        row = (await db.scalars(select(OutboxEntry))).one()
        row.state, row.attempts, row.last_error = "dead", 3, "errcode 93000: invalid"
        db.add(DeliveryLogEntry(outbox_id=row.id, at=clock(), outcome="dead",
                                detail="errcode 93000: invalid"))
        outbox_id = row.id
    log = await (await admin.get("/admin/notices/log")).text()
    assert "民意事项 #7 已超期（期限 2026-11-20），已上报街道督办" in log and "errcode 93000: invalid" in log
    assert f'action="/admin/notices/log/{outbox_id}/again"' in log
    host = await signed_in("host")
    assert (await host.get("/admin/notices/log")).status == 403
    path = f"/admin/notices/log/{outbox_id}/again"
    assert (await post(host, path, {}, page="/"))[0] == 403
    assert (await post(admin, path, {}, page="/admin/notices/log", csrf=False))[0] == 403
    async with admin.app[DATABASE]() as db:
        assert (await db.get(OutboxEntry, outbox_id)).state == "dead"  # type: ignore[union-attr]
    clock.advance(seconds=5)
    status, where, _ = await post(admin, path, {}, page="/admin/notices/log")
    assert (status, where) == (303, "/admin/notices/log")
    async with admin.app[DATABASE]() as db:
        again = await db.get(OutboxEntry, outbox_id)
        assert again is not None
        assert (again.state, again.attempts, again.not_before) == (
            "pending", 0, clock.now)
    # Queued already: asking again is a conflict and changes nothing.
    assert (await post(admin, path, {}, page="/admin/notices/log"))[0] == 409
    assert (await post(admin, "/admin/notices/log/9999/again", {},
                       page="/admin/notices/log"))[0] == 404


async def test_a_user_sets_their_own_phone_and_the_channels_they_accept(
    signed_in: SignedIn
) -> None:
    court = await signed_in("court")
    inbox_page = await (await court.get("/inbox")).text()
    assert 'href="/inbox/preferences"' in inbox_page
    status, _, body = await post(court, "/inbox/preferences", {
        "phone": "138 0000 1234", "email": "court@example.cn", "accept_sms": "1"},
        page="/inbox/preferences")
    assert status == 200 and "已保存" in body
    async with court.app[DATABASE]() as db:
        user = (await db.scalars(select(User).where(User.username == "court"))).one()
        assert (user.phone, user.email) == ("13800001234", "court@example.cn")
        assert await routing.accepted(db, user.id) == ("sms",)
    status, _, body = await post(court, "/inbox/preferences", {
        "phone": "call me", "email": "nope", "accept_email": "1"}, page="/inbox/preferences")
    assert status == 422
    assert 'data-field-error="phone"' in body and 'data-field-error="email"' in body
    async with court.app[DATABASE]() as db:
        user = (await db.scalars(select(User).where(User.username == "court"))).one()
        assert (user.phone, await routing.accepted(db, user.id)) == ("13800001234", ("sms",))
