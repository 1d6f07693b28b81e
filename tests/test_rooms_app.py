"""The video rooms in the real app: authentication, origins, roles, attendance, the wall.

aiortc clients (tests/rooms/client.py) talk to the whole app over loopback:
sites sign in with device tokens (Bearer), the host with its session cookie.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from rooms import RoomConfig, RoomRegistry, UnknownRoom, UserError
from rooms.events import FloorGiven, HandRaised, Marker, SpeakingChanged
from rooms.identity import ParticipantIdentity
from rooms.identity import Role as RoomRole
from server.accounts import users as accounts
from server.accounts.directory import Actor
from server.accounts.users import Principal
from server.core import db
from server.core.config import ConfigError, TurnSettings, settings_from_env
from server.core.errors import Conflict, NotFound
from server.core.keys import DATABASE, SETTINGS
from server.edge import tls
from server.edge.room_socket import ON_DUTY
from server.meetings.attendance import AttendanceHooks, Stay, attendees, stays_on
from server.meetings.registry import REGISTRY, WALL, RegistryRoomControl
from server.meetings.room_access import KNOWN_ROOMS, EveryoneOnDuty, known_room, room_role
from server.meetings.room_control import ROOM_CONTROL
from server.meetings.turn import IceServer, ice_servers, turn_credential
from server.models import Attendance, Role, Site, User
from tests.conftest import FIXED_NOW, METRICS_AUTH, AppFactory, MutableClock, login
from tests.rooms.client import WAIT, RoomClient
from tests.support.loopback import TEST_WALL, loopback_ice, poll

__all__ = ["loopback_ice"]  # autouse: ICE on 127.0.0.1 only

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SHANGHAI = ZoneInfo("Asia/Shanghai")
COLOURS = {"host": (220, 30, 30), "site01": (30, 200, 40), "site02": (30, 40, 220)}


class AppRoomClient(RoomClient):
    """The protocol client, authenticated the way the real app wants it."""

    def __init__(self, http: TestClient, room: str, *, headers: dict[str, str],
                 **options: Any) -> None:
        super().__init__(http, room, "", **options)
        self.headers = headers

    async def open(self) -> None:
        self.ws = await self.http.ws_connect(f"/rooms/{self.room}/ws", headers=self.headers)
        self._tasks.append(asyncio.create_task(self._read()))


@dataclass
class RoomApp:
    http: TestClient
    clock: MutableClock
    aiohttp_client: Callable[..., Awaitable[TestClient]]
    clients: list[RoomClient] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return str(self.http.make_url("")).rstrip("/")

    async def device_token(self, username: str) -> str:
        if username not in self.tokens:
            async with self.http.app[DATABASE]() as session, session.begin():
                admin = await session.scalar(select(User).where(User.username == "admin"))
                user = await session.scalar(select(User).where(User.username == username))
                assert admin is not None and user is not None
                _, token = await accounts.issue_device_token(
                    session, user.id, "meeting room PC", actor=Actor(admin.id), clock=self.clock)
            self.tokens[username] = token
        return self.tokens[username]

    async def signed_in(self, username: str) -> TestClient:
        http = await self.aiohttp_client(self.http.server)
        await login(http, username)
        return http

    async def participant(
        self, username: str, *, room: str = "street", join: bool = True,
        headers: dict[str, str] | None = None, **options: Any,
    ) -> AppRoomClient:
        """Sites come in with a Bearer device token, everyone else with a session cookie."""
        if headers is None:
            if username.startswith("site"):
                http = self.http
                headers = {"Authorization": f"Bearer {await self.device_token(username)}"}
            else:
                http = await self.signed_in(username)
                headers = {"Origin": self.origin}
        else:
            http = self.http
        client = AppRoomClient(http, room, headers=headers, **options)
        self.clients.append(client)
        await client.open()
        if join:
            await client.join()
        return client


@pytest.fixture
async def room_app(
    app_factory: AppFactory, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> AsyncIterator[RoomApp]:
    app = app_factory()
    app[WALL] = TEST_WALL
    # These tests are about media and accounts, not about who is on duty when
    # (test_the_schedule_decides_who_is_on_duty covers that).
    app[ON_DUTY] = EveryoneOnDuty()
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    try:
        yield room_app
    finally:
        for client in room_app.clients:
            await client.close()
        registry = app.get(REGISTRY)
        if registry is not None:
            await poll(lambda: not registry.room_ids())


async def attendance_rows(app_http: TestClient) -> list[Attendance]:
    async with app_http.app[DATABASE]() as session:
        return list(await session.scalars(select(Attendance).order_by(Attendance.id)))


async def rows_after_leaving(app_http: TestClient, count: int) -> list[Attendance]:
    """The attendance rows once ``count`` stays are closed (the hooks write in the background)."""
    async with asyncio.timeout(WAIT):
        while True:
            rows = await attendance_rows(app_http)
            if len(rows) == count and all(r.left_at is not None for r in rows):
                return rows
            await asyncio.sleep(0.05)


def tile_colour(image: np.ndarray[Any, Any], tile: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Median colour of the middle half of a tile (rectangles come as fractions)."""
    height, width = image.shape[:2]
    x0, x1 = tile["x"] + tile["w"] / 4, tile["x"] + 3 * tile["w"] / 4
    y0, y1 = tile["y"] + tile["h"] / 4, tile["y"] + 3 * tile["h"] / 4
    region = image[int(y0 * height): int(y1 * height), int(x0 * width): int(x1 * width)]
    return np.asarray(np.median(region.reshape(-1, 3), axis=0))


def colours_match(client: RoomClient, layout: dict[str, Any], colours: dict[str, Any]) -> bool:
    assert client.latest_frame is not None
    image = client.latest_frame.to_ndarray(format="rgb24")
    return all(np.abs(tile_colour(image, tile) - colours[tile["participant_id"]]).max() < 45
               for tile in layout["tiles"])


# -- the wall through the real app ---------------------------------------------------------


@pytest.mark.media
@SQLITE
async def test_sites_and_host_each_find_every_colour_on_the_wall(room_app: RoomApp) -> None:
    started = room_app.clock.now
    clients = {name: await room_app.participant(name, colour=rgb, receive_audio=False)
               for name, rgb in COLOURS.items()}
    welcomes = {name: c.of_type("welcome")[0] for name, c in clients.items()}
    async with room_app.http.app[DATABASE]() as session:
        site01 = await session.scalar(select(Site).where(Site.code == "site01"))
        host = await session.scalar(select(User).where(User.username == "host"))
        assert site01 is not None and host is not None
    assert welcomes["host"]["role"] == "host"
    assert welcomes["host"]["participant_id"] == f"user:{host.id}"
    assert welcomes["site01"]["role"] == "site"
    assert welcomes["site01"]["participant_id"] == f"site:{site01.id}"
    assert welcomes["site01"]["display_name"] == "东坡村"
    assert welcomes["site02"]["display_name"] == "西岭村"
    colours = {welcomes[name]["participant_id"]: rgb for name, rgb in COLOURS.items()}

    await asyncio.gather(*(c.connect_media() for c in clients.values()))
    for c in clients.values():
        await c.wait_connected()
    for c in clients.values():
        layout = await c.expect("layout", lambda n: len(n["tiles"]) == 3)
        assert layout["mode"] == "grid"
        assert {t["participant_id"] for t in layout["tiles"]} == set(colours)
        await c.wait_frames(1)
        await c.until(partial(colours_match, c, layout, colours))

    # Roles come from the server: a site may not lock the room.
    site = clients["site01"]
    mark = await site.request("lock")
    error = await site.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("not-authorised", "lock")

    # Registry numbers reach /metrics.
    text = await (await room_app.http.get("/metrics", headers=METRICS_AUTH)).text()
    assert "yizhan_rooms_open 1.0" in text
    assert 'yizhan_room_participants{room="street"} 3.0' in text
    frames = next(line for line in text.splitlines()
                  if line.startswith('yizhan_room_frames_encoded{room="street"}'))
    assert float(frames.split()[-1]) > 0

    # The questions feature's handle: "now answering site 2".
    control = room_app.http.app[ROOM_CONTROL]
    site02_key = welcomes["site02"]["participant_id"]
    mark = len(clients["host"].notices)
    control.spotlight("street", int(site02_key.split(":")[1]))
    layout = await clients["host"].expect("layout", lambda n: n["mode"] == "spotlight", after=mark)
    assert layout["spotlight"] == site02_key
    assert layout["tiles"][0]["participant_id"] == site02_key
    control.add_marker("street", "question answered", {"question": 12})

    # Leaving is recorded with its duration.
    room_app.clock.advance(seconds=95)
    await clients["site01"].close()
    room_app.clock.advance(seconds=5)
    await clients["host"].close()
    await clients["site02"].close()

    rows = await rows_after_leaving(room_app.http, 3)
    by_name = {r.display_name: r for r in rows}
    assert set(by_name) == {"街道会议主持人", "东坡村", "西岭村"}
    assert by_name["东坡村"].seconds == 95
    assert by_name["东坡村"].site_id == site01.id and by_name["东坡村"].role == "site"
    assert by_name["西岭村"].seconds == 100
    assert by_name["街道会议主持人"].user_id == host.id
    assert all(r.joined_at == started and r.room == "street" for r in rows)


# -- who may connect -----------------------------------------------------------------------


async def handshake_status(http: TestClient, path: str, headers: dict[str, str]) -> int:
    try:
        ws = await http.ws_connect(path, headers=headers)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    await ws.close()
    return 101


@SQLITE
async def test_origin_is_checked_against_the_host(room_app: RoomApp) -> None:
    host = await room_app.signed_in("host")
    token = await room_app.device_token("site01")
    path = "/rooms/legal/ws"
    assert await handshake_status(host, path, {"Origin": "https://evil.example"}) == 403
    assert await handshake_status(host, path, {}) == 403  # cookies need an Origin
    assert await handshake_status(host, path, {"Origin": "null"}) == 403
    assert await handshake_status(host, path, {"Origin": room_app.origin}) == 101
    bearer = {"Authorization": f"Bearer {token}"}
    assert await handshake_status(room_app.http, path, bearer) == 101
    assert await handshake_status(
        room_app.http, path, {**bearer, "Origin": "http://evil.example"}) == 403


@SQLITE
async def test_origin_scheme_must_match_the_page(
    room_app: RoomApp, app_factory: AppFactory, tmp_path: Path,
) -> None:
    """``http://host`` and ``https://host`` are two origins: a page in clear never speaks for
    the secure one, nor the other way round."""
    path = "/rooms/legal/ws"
    host = await room_app.signed_in("host")
    plain = room_app.origin
    assert plain.startswith("http://")
    secure = "https://" + plain.removeprefix("http://")
    assert await handshake_status(host, path, {"Origin": secure}) == 403
    assert await handshake_status(host, path, {"Origin": plain}) == 101
    bearer = {"Authorization": f"Bearer {await room_app.device_token('site01')}"}
    assert await handshake_status(room_app.http, path, {**bearer, "Origin": secure}) == 403

    # Over TLS the page is https://host: http://host is another site.
    files = tls.make_self_signed(tmp_path / "tls", ["127.0.0.1"], now=datetime.now(UTC))
    app = app_factory()
    app[WALL] = TEST_WALL
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=tls.server_context(files.cert, files.key))
    trust = ssl.create_default_context(cafile=str(files.cert))
    https = TestClient(server, connector=aiohttp.TCPConnector(ssl=trust))
    try:
        tls_app = RoomApp(https, room_app.clock, room_app.aiohttp_client)
        origin = str(https.make_url("")).rstrip("/")
        assert origin.startswith("https://127.0.0.1:")
        bearer = {"Authorization": f"Bearer {await tls_app.device_token('site01')}"}
        assert await handshake_status(
            https, path, {**bearer, "Origin": "http://" + origin.removeprefix("https://")}) == 403
        assert await handshake_status(https, path, {**bearer, "Origin": origin}) == 101
    finally:
        await https.close()

    # Behind a TLS proxy aiohttp sees plain HTTP; YIZHAN_COOKIE_SECURE says the pages are https.
    proxied = app_factory(cookie_secure=True)
    proxied[WALL] = TEST_WALL
    behind = RoomApp(await room_app.aiohttp_client(proxied), room_app.clock,
                     room_app.aiohttp_client)
    bearer = {"Authorization": f"Bearer {await behind.device_token('site01')}"}
    assert await handshake_status(behind.http, path, {**bearer, "Origin": behind.origin}) == 403
    secure = "https://" + behind.origin.removeprefix("http://")
    assert await handshake_status(behind.http, path, {**bearer, "Origin": secure}) == 101


@SQLITE
async def test_unknown_room_anonymous_and_plain_get_are_refused(room_app: RoomApp) -> None:
    host = await room_app.signed_in("host")
    origin = {"Origin": room_app.origin}
    assert await handshake_status(host, "/rooms/nowhere/ws", origin) == 404
    assert (await host.get("/rooms/nowhere")).status == 404
    anonymous = await room_app.aiohttp_client(room_app.http.server)
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **origin}
    for headers in (upgrade, {**upgrade, "Upgrade": "WebSocket"},
                    {**upgrade, "Authorization": "Bearer not-a-token"}):
        resp = await anonymous.get("/rooms/street/ws", headers=headers, allow_redirects=False)
        # An API-like 401: a WebSocket client cannot follow a redirect to the sign-in form.
        assert resp.status == 401
        assert "Location" not in resp.headers
        assert (await resp.json())["error"]["code"] == "not_authenticated"
    assert await handshake_status(anonymous, "/rooms/street/ws", origin) == 401
    # The room page itself still sends a browser to the sign-in page.
    page = await anonymous.get("/rooms/street", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/rooms/street"
    resp = await host.get("/rooms/street/ws")
    assert resp.status == 400
    assert "WebSocket" in await resp.text()


@SQLITE
async def test_room_roles_come_from_the_accounts(room_app: RoomApp) -> None:
    expected = {
        ("admin", "street"): "host", ("host", "legal"): "host",
        ("court", "legal"): "speaker", ("court", "street"): "observer",
        ("court", "duty-station"): "observer", ("deputy1", "duty-station"): "speaker",
        ("deputy1", "legal"): "observer", ("site02", "legal"): "site",
    }
    seen = {}
    for username, room in expected:
        client = await room_app.participant(username, room=room)
        seen[username, room] = client.of_type("welcome")[0]["role"]
        await client.close()
    assert seen == expected


class NobodyOnDuty:
    async def on_duty(self, principal: Principal, room: Any, at: datetime) -> bool:
        return False


@SQLITE
async def test_on_duty_decides_who_speaks(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    app = app_factory()
    app[ON_DUTY] = NobodyOnDuty()
    room_app = RoomApp(await aiohttp_client(app), clock, aiohttp_client)
    officer = await room_app.participant("court", room="legal")
    host = await room_app.participant("host", room="legal")
    assert officer.of_type("welcome")[0]["role"] == "observer"
    assert host.of_type("welcome")[0]["role"] == "host"
    for c in (officer, host):
        await c.close()


@SQLITE
async def test_the_schedule_decides_who_is_on_duty(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    """The demo's first legal day is Thu 2026-11-26 09:30-10:30 Shanghai, court on duty."""
    room_app = RoomApp(await aiohttp_client(app_factory()), clock, aiohttp_client)

    async def role(username: str) -> str:
        client = await room_app.participant(username, room="legal")
        seen = str(client.of_type("welcome")[0]["role"])
        await client.close()
        return seen

    assert await role("court") == "observer"  # Monday: no session on
    clock.now = datetime(2026, 11, 26, 1, 10, tzinfo=UTC)  # 09:10, the room is not open yet
    assert await role("court") == "observer"
    clock.now = datetime(2026, 11, 26, 1, 16, tzinfo=UTC)  # 09:16, open 15 min before
    assert await role("court") == "speaker"
    assert await role("police") == "observer"  # not its week
    clock.now = datetime(2026, 11, 26, 2, 44, tzinfo=UTC)  # 10:44, within the closing grace
    assert await role("court") == "speaker"
    clock.now = datetime(2026, 11, 26, 2, 46, tzinfo=UTC)
    assert await role("court") == "observer"


async def test_room_role_table() -> None:
    def principal(role: Role, **links: int) -> Principal:
        return Principal(user_id=7, username="u", display_name="U", role=role, **links)

    everyone = EveryoneOnDuty()
    legal, street, duty = known_room("legal"), known_room("street"), known_room("duty-station")
    at = FIXED_NOW
    cases = [
        (principal(Role.ADMIN), street, RoomRole.HOST),
        (principal(Role.HOST), duty, RoomRole.HOST),
        (principal(Role.SITE, site_id=3), legal, RoomRole.SITE),
        (principal(Role.OFFICER, department_id=1), legal, RoomRole.SPEAKER),
        (principal(Role.OFFICER, department_id=1), duty, RoomRole.OBSERVER),
        (principal(Role.DEPUTY, deputy_id=1), duty, RoomRole.SPEAKER),
        (principal(Role.DEPUTY, deputy_id=1), street, RoomRole.OBSERVER),
    ]
    assert [await room_role(p, r, on_duty=everyone, at=at) for p, r, _ in cases] == [
        want for _, _, want in cases]
    assert await room_role(principal(Role.OFFICER, department_id=1), legal,
                           on_duty=NobodyOnDuty(), at=at) is RoomRole.OBSERVER
    assert [room.id for room in KNOWN_ROOMS] == ["street", "legal", "duty-station"]
    with pytest.raises(NotFound):
        known_room("attendance")


# -- attendance ----------------------------------------------------------------------------


@SQLITE
async def test_shutdown_records_everyone_as_left(room_app: RoomApp, db_url: str) -> None:
    host = await room_app.participant("host")
    site = await room_app.participant("site01")
    room_app.clock.advance(minutes=30)
    await room_app.http.close()  # the app shuts down with both still in the room
    await asyncio.wait_for(host.closed_by_server.wait(), 5)
    await asyncio.wait_for(site.closed_by_server.wait(), 5)
    assert host.last("removed") == {"type": "removed", "reason": "room-closed"}
    engine = db.create_engine(db_url)
    try:
        async with db.session_factory(engine)() as session:
            rows = list(await session.scalars(select(Attendance)))
    finally:
        await engine.dispose()
    assert sorted((r.display_name, r.seconds) for r in rows) == [
        ("东坡村", 1800), ("街道会议主持人", 1800)]


@SQLITE
async def test_rooms_list_and_attendance_pages(room_app: RoomApp) -> None:
    host_http = await room_app.signed_in("host")
    page = await (await host_http.get("/rooms")).text()
    assert 'data-room="street" data-live="false" data-count="0"' in page
    assert "街道视频例会" in page and "线上法律咨询服务日" in page and "代表委员线上工作驿站" in page
    site = await room_app.participant("site01")
    page = await (await host_http.get("/rooms")).text()
    assert 'data-room="street" data-live="true" data-count="1"' in page
    room_app.clock.advance(minutes=61, seconds=5)
    await site.close()
    await poll(lambda: not room_app.http.app[REGISTRY].room_ids())
    await rows_after_leaving(room_app.http, 1)
    page = await (await host_http.get("/rooms/street/attendance?day=2026-11-23")).text()
    assert "东坡村" in page and "1:01:05" in page
    assert "到场站点：1 / 14" in page
    page = await (await host_http.get("/rooms/street/attendance?day=2026-11-22")).text()
    assert "当天无人进入此会议室" in page
    room_page = await (await host_http.get("/rooms/legal")).text()
    assert 'id="room-config"' in room_page and "/rooms/legal/ws" in room_page
    assert 'id="side-panel"' in room_page
    site_http = await room_app.signed_in("site01")
    assert (await site_http.get("/rooms/street/attendance")).status == 403


@pytest.mark.parametrize("db_url", ["sqlite", pytest.param("postgresql",
                                                           marks=pytest.mark.postgres)],
                         indirect=True)
async def test_hooks_write_stays_and_log_events(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.create_engine(db_url)
    try:
        hooks = AttendanceHooks(db.session_factory(engine))
        site = ParticipantIdentity(key="site:1", display_name="东坡村", role=RoomRole.SITE,
                                   tags=frozenset({"user:3", "site:1"}))
        t0 = FIXED_NOW
        await hooks.on_join("legal", site, t0)
        await hooks.on_leave("legal", site, t0 + timedelta(seconds=40))
        await hooks.on_join("legal", site, t0 + timedelta(minutes=2))
        await hooks.on_leave("legal", site, t0 + timedelta(minutes=12))
        await hooks.on_join("legal", site, t0 + timedelta(minutes=13))
        with caplog.at_level("INFO", logger="yizhan.rooms"):
            await hooks.on_event("legal", HandRaised(at=t0, participant_id="site:1"))
            await hooks.on_event("legal", FloorGiven(at=t0, participant_id="site:1", by="user:2"))
            await hooks.on_event("legal", SpeakingChanged(at=t0, participant_id="site:1",
                                                          speaking=True))
        async with db.session_factory(engine)() as session:
            stays = await stays_on(session, "legal", date(2026, 11, 23), SHANGHAI)
            assert await stays_on(session, "legal", date(2026, 11, 22), SHANGHAI) == []
    finally:
        await engine.dispose()
    assert [(s.seconds, s.site_id) for s in stays] == [(40, 1), (600, 1), (None, 1)]
    (summary,) = attendees(stays)
    assert (summary.seconds, summary.stays, summary.last_left) == (640, 3, None)
    events = [getattr(r, "ctx_event", None) for r in caplog.records if r.name == "yizhan.rooms"]
    assert [e["kind"] for e in events if e] == ["hand_raised", "floor_given"]


def test_attendees_add_up_each_participant() -> None:
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def stay(key: str, start: int, end: int | None) -> Stay:
        return Stay(participant_key=key, display_name=key, role="site", site_id=None,
                    joined_at=t0 + timedelta(minutes=start),
                    left_at=None if end is None else t0 + timedelta(minutes=end),
                    seconds=None if end is None else (end - start) * 60)

    summary = attendees([stay("a", 0, 10), stay("b", 1, 50), stay("a", 12, 40)])
    assert [(a.participant_key, a.seconds, a.stays, a.last_left) for a in summary] == [
        ("a", 38 * 60, 2, t0 + timedelta(minutes=40)),
        ("b", 49 * 60, 1, t0 + timedelta(minutes=50)),
    ]


@SQLITE
async def test_room_control_refuses_rooms_that_are_not_live(room_app: RoomApp) -> None:
    control = room_app.http.app[ROOM_CONTROL]
    assert control.is_live("legal") is False
    with pytest.raises(Conflict, match="The room is not live"):
        control.spotlight("legal", 1)
    assert control.spotlight_site("legal", 1) is False
    with pytest.raises(Conflict):
        control.add_marker("legal", "question answered", {"question": 1})
    with pytest.raises(NotFound):
        control.spotlight("nowhere", 1)
    host = await room_app.participant("host", room="legal")
    assert control.is_live("legal") is True
    with pytest.raises(Conflict, match="This site is not in the room"):
        control.spotlight("legal", 99)  # no such site in the room
    assert control.spotlight_site("legal", 99) is False
    assert control.spotlight_site("legal", None) is True
    control.spotlight("legal", None)
    control.add_marker("legal", "session started")
    await host.close()


@SQLITE
async def test_room_control_maps_unknown_room_to_not_live(room_app: RoomApp) -> None:
    """The error's class decides, not its code: the engine's ``UnknownRoom`` means not live."""

    class Refusing(RoomRegistry):
        def __init__(self, error: Exception) -> None:
            super().__init__(RoomConfig(wall=TEST_WALL))
            self.error = error

        def set_spotlight(self, room_id: str, participant_key: str | None) -> None:
            raise self.error

        def add_marker(self, room_id: str, label: str,
                       data: dict[str, Any] | None = None) -> Marker:
            raise self.error

    unknown = RegistryRoomControl(Refusing(UnknownRoom("no live room 'legal'")))
    for call in (partial(unknown.spotlight, "legal", 1),
                 partial(unknown.add_marker, "legal", "question answered")):
        with pytest.raises(Conflict) as refused:
            call()
        assert refused.value.message == "The room is not live."
    assert unknown.spotlight_site("legal", 1) is False
    absent = RegistryRoomControl(
        Refusing(UserError("no participant 'site:9'", code="unknown-participant")))
    with pytest.raises(Conflict) as refused:
        absent.spotlight("legal", 9)
    assert refused.value.message == "This site is not in the room."
    with pytest.raises(NotFound):
        unknown.spotlight("nowhere", 1)  # an unknown name never reaches the registry
    # The real registry raises UnknownRoom for a room nobody is in.
    control = room_app.http.app[ROOM_CONTROL]
    with pytest.raises(Conflict) as refused:
        control.add_marker("duty-station", "opened")
    assert refused.value.message == "The room is not live."
    with pytest.raises(UnknownRoom):
        room_app.http.app[REGISTRY].set_spotlight("duty-station", None)


# -- TURN and settings ---------------------------------------------------------------------


def test_turn_credentials_follow_the_coturn_rest_scheme() -> None:
    expires = datetime.fromtimestamp(1_700_000_000, UTC)
    cred = turn_credential("coturn-shared-secret", "site:3", expires_at=expires)
    # printf '1700000000:site:3' | openssl dgst -sha1 -hmac coturn-shared-secret -binary | base64
    assert cred.username == "1700000000:site:3"
    assert cred.credential == "HlkQ1DY7k/JUqbw1QgTKzUM2Jpo="
    with pytest.raises(ValueError, match="time zone"):
        turn_credential("s", "u", expires_at=datetime(2026, 1, 1))


def test_ice_servers_hand_out_credentials_never_the_secret() -> None:
    turn = TurnSettings(urls=("turn:turn.example:3478", "turns:turn.example:5349"),
                        shared_secret="the-secret", credential_ttl_s=600,
                        stun_urls=("stun:stun.example:3478",))
    servers = ice_servers(turn, user="user:2", now=FIXED_NOW)
    expiry = int(FIXED_NOW.timestamp()) + 600
    assert servers == [
        IceServer(urls=("stun:stun.example:3478",)),
        IceServer(urls=turn.urls, username=f"{expiry}:user:2",
                  credential=turn_credential("the-secret", "user:2",
                                             expires_at=FIXED_NOW + timedelta(seconds=600))
                  .credential),
    ]
    assert "the-secret" not in repr([s.to_json() for s in servers])
    assert servers[0].to_json() == {"urls": ["stun:stun.example:3478"]}
    # TURN without a secret cannot work: it is left out rather than handed out broken.
    assert ice_servers(TurnSettings(urls=("turn:x",)), user="u", now=FIXED_NOW) == []


@SQLITE
async def test_room_page_renders_ice_servers_from_settings(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    turn = TurnSettings(urls=("turn:turn.example:3478",), shared_secret="the-secret",
                        stun_urls=("stun:stun.example:3478",))
    http = await aiohttp_client(app_factory(turn=turn))
    await login(http, "site01")
    page = await (await http.get("/rooms/legal")).text()
    assert "stun:stun.example:3478" in page and "turn:turn.example:3478" in page
    assert ":site:1" in page and "the-secret" not in page
    config = http.app[REGISTRY].config
    assert [s.urls for s in config.ice_servers] == [
        ["stun:stun.example:3478"], ["turn:turn.example:3478"]]
    assert config.recordings_dir == http.app[SETTINGS].recordings_dir
    assert (config.max_rooms, config.max_participants) == (8, 24)


def test_room_limits_come_from_the_environment(tmp_path: Path) -> None:
    env = {"YIZHAN_VAR_DIR": str(tmp_path), "YIZHAN_SECRET_KEY": "k" * 40}
    settings = settings_from_env(env)
    assert (settings.max_rooms, settings.max_participants) == (8, 24)
    settings = settings_from_env({**env, "YIZHAN_MAX_ROOMS": "3",
                                  "YIZHAN_MAX_PARTICIPANTS": "30"})
    assert (settings.max_rooms, settings.max_participants) == (3, 30)
    with pytest.raises(ConfigError, match="YIZHAN_MAX_PARTICIPANTS"):
        settings_from_env({**env, "YIZHAN_MAX_PARTICIPANTS": "0"})


@SQLITE
async def test_a_domain_refusal_after_the_upgrade_is_a_close_code(
    room_app: RoomApp, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The WebSocket transport's error mapping: 4000 + status, the problem's code as reason."""
    import server.edge.room_socket as room_socket

    async def refuse(*_args: object) -> None:
        raise Conflict("The room is not live.")

    monkeypatch.setattr(room_socket, "serve_participant", refuse)
    token = await room_app.device_token("site01")
    async with room_app.http.ws_connect(
            "/rooms/street/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert (ws.close_code, message.extra) == (4409, "conflict")
