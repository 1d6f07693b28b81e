"""The cluster's parts one by one: placement, settings, bridge signatures, media address."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from rooms import ParticipantIdentity, Role
from server.cluster import CLUSTER, NodeLoad, choose_node, verify_bridge
from server.cluster.bridge import bridge_path, sign
from server.cluster.media import announce_as
from server.cluster.store import ClusterStore
from server.core import db
from server.core.config import ClusterSettings, ConfigError, settings_from_env
from server.core.errors import Forbidden, NotAuthenticated
from server.meetings.attendance import AttendanceHooks, end_stays_cut_short
from server.meetings.registry import WALL
from server.models import Attendance
from server.residents.limits import RESIDENT_LIMITS, RateLimited, ResidentLimits
from tests.conftest import AppFactory
from tests.support.cluster import CLUSTER_SECRET, REDIS_SERVER, RedisServer, running_redis
from tests.support.loopback import TEST_WALL

PG = "postgresql+asyncpg://yizhan:pw@db:5432/yizhan"


def load(node_id: str, **fields: object) -> NodeLoad:
    values: dict[str, object] = {
        "node_id": node_id, "url": f"http://{node_id}:8080", "cpu": 0.2, "cpu_budget": 0.8,
        "rooms": 1, "max_rooms": 8, "participants": 10, "frame_load": 0.3}
    values.update(fields)
    return NodeLoad(**values)  # type: ignore[arg-type]


# -- placement ----------------------------------------------------------------------------

def test_the_least_loaded_node_that_can_take_a_room_is_chosen() -> None:
    nodes = [load("a", cpu=0.5), load("b", cpu=0.1), load("c", cpu=0.3)]
    assert choose_node(nodes) == nodes[1]
    # CPU first, then rooms, then participants; ties go to the node id.
    assert choose_node([load("b", rooms=2), load("a", rooms=3)]).node_id == "b"  # type: ignore[union-attr]
    assert choose_node([load("b", participants=9), load("a")]).node_id == "b"  # type: ignore[union-attr]
    assert choose_node([load("b"), load("a")]).node_id == "a"  # type: ignore[union-attr]


@pytest.mark.parametrize("unable", [
    {"draining": True}, {"takes_rooms": False}, {"rooms": 8}, {"cpu": 0.8}, {"cpu": 0.95},
])
def test_draining_full_busy_and_edge_only_nodes_take_no_room(unable: dict[str, object]) -> None:
    idle = load("a", **{"cpu": 0.0, "rooms": 0, "participants": 0, **unable})
    busy = load("b", cpu=0.7, rooms=7)
    assert choose_node([idle, busy]) == busy
    assert choose_node([idle]) is None
    assert choose_node([]) is None


def test_a_node_load_survives_json() -> None:
    node = load("node-1", draining=True, takes_rooms=False)
    assert NodeLoad.from_json(node.to_json()) == node


# -- settings -----------------------------------------------------------------------------

def cluster_env(**changes: str) -> dict[str, str]:
    env = {"YIZHAN_DATABASE_URL": PG, "YIZHAN_SECRET_KEY": "k" * 40,
           "YIZHAN_REDIS_URL": "redis://redis:6379/0", "YIZHAN_CLUSTER_SECRET": "c" * 40,
           "YIZHAN_NODE_ID": "node-1", "YIZHAN_NODE_URL": "http://10.0.0.5:8080"}
    env.update(changes)
    return {k: v for k, v in env.items() if v}


def test_cluster_settings_come_from_the_environment() -> None:
    assert settings_from_env(cluster_env(YIZHAN_REDIS_URL="")).cluster is None
    settings = settings_from_env(cluster_env(YIZHAN_MEDIA_ADDRESS="203.0.113.7",
                                             YIZHAN_NODE_TAKES_ROOMS="false",
                                             YIZHAN_DRAIN_TIMEOUT="45"))
    assert settings.media_address == "203.0.113.7"
    assert settings.cluster == ClusterSettings(
        redis_url="redis://redis:6379/0", secret="c" * 40, node_id="node-1",
        node_url="http://10.0.0.5:8080", drain_timeout_s=45.0, takes_rooms=False)


@pytest.mark.parametrize(("changes", "message"), [
    ({"YIZHAN_DATABASE_URL": "sqlite+aiosqlite:///var/yizhan.db"}, "PostgreSQL"),
    ({"YIZHAN_CLUSTER_SECRET": "short"}, "YIZHAN_CLUSTER_SECRET"),
    ({"YIZHAN_CLUSTER_SECRET": ""}, "YIZHAN_CLUSTER_SECRET"),
    ({"YIZHAN_REDIS_URL": "redis.example:6379"}, "YIZHAN_REDIS_URL"),
    ({"YIZHAN_NODE_ID": "node 1/x"}, "YIZHAN_NODE_ID"),
    ({"YIZHAN_NODE_URL": "10.0.0.5:8080"}, "YIZHAN_NODE_URL"),
    ({"YIZHAN_CLUSTER_HEARTBEAT": "6", "YIZHAN_CLUSTER_DEAD_AFTER": "6"}, "HEARTBEAT"),
    ({"YIZHAN_DRAIN_TIMEOUT": "soon"}, "YIZHAN_DRAIN_TIMEOUT"),
])
def test_a_cluster_setting_that_cannot_work_is_refused(changes: dict[str, str],
                                                       message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_env(cluster_env(**changes))


# -- bridge signatures --------------------------------------------------------------------

IDENTITY = ParticipantIdentity(key="site:1", display_name="东坡村", role=Role.SITE,
                               tags=frozenset({"site:1"}))


def test_a_signed_identity_is_the_identity() -> None:
    now = time.time()
    assert verify_bridge("s" * 40, "street", sign("s" * 40, "street", IDENTITY, now),
                         now + 1) == IDENTITY


@pytest.mark.parametrize("tamper", ["missing", "secret", "room", "identity", "stale", "future",
                                    "timestamp"])
def test_a_forged_or_stale_bridge_is_refused(tamper: str) -> None:
    now = time.time()
    headers = sign("s" * 40, "street", IDENTITY, now)
    room, at = "street", now
    if tamper == "missing":
        headers.pop("X-Yizhan-Signature")
    elif tamper == "secret":
        headers = sign("t" * 40, "street", IDENTITY, now)
    elif tamper == "room":
        room = "legal"
    elif tamper == "identity":
        headers["X-Yizhan-Identity"] = sign("s" * 40, "street", replace(
            IDENTITY, role=Role.HOST), now)["X-Yizhan-Identity"]
    elif tamper == "stale":
        at = now + 31
    elif tamper == "future":
        at = now - 31
    else:
        headers["X-Yizhan-Timestamp"] = "%.3f" % (now + 0.5)
    expected = NotAuthenticated if tamper == "missing" else Forbidden
    with pytest.raises(expected):
        verify_bridge("s" * 40, room, headers, at)


# -- the media address --------------------------------------------------------------------

ANSWER = "\r\n".join([
    "v=0", "m=video 9 UDP/TLS/RTP/SAVPF 97", "c=IN IP4 172.18.0.3",
    "a=candidate:1a 1 udp 2130706431 172.18.0.3 40012 typ host",
    "a=candidate:2b 1 udp 2130706431 10.1.0.9 40012 typ host",
    "a=candidate:3c 1 udp 1694498815 198.51.100.4 40100 typ srflx raddr 172.18.0.3 rport 40012",
    "a=end-of-candidates", ""])


def test_host_candidates_carry_the_media_address_and_others_stay() -> None:
    assert announce_as(ANSWER, "203.0.113.7").split("\r\n") == [
        "v=0", "m=video 9 UDP/TLS/RTP/SAVPF 97", "c=IN IP4 172.18.0.3",
        "a=candidate:1a 1 udp 2130706431 203.0.113.7 40012 typ host",
        "a=candidate:2b 1 udp 2130706431 203.0.113.7 40012 typ host",
        "a=candidate:3c 1 udp 1694498815 198.51.100.4 40100 typ srflx raddr 172.18.0.3 "
        "rport 40012",
        "a=end-of-candidates", ""]


# -- the bridge endpoint in the app ---------------------------------------------------------

@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not REDIS_SERVER.exists():
        pytest.skip("needs Debian's redis-server")
    with running_redis(tmp_path / "redis") as server:
        yield server


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_bridge_endpoint_takes_only_a_fresh_signature_of_the_cluster(
    app_factory: AppFactory, redis_server: RedisServer,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    settings = ClusterSettings(redis_url=redis_server.url, secret=CLUSTER_SECRET, node_id="n1",
                               node_url="http://127.0.0.1:1")
    app = app_factory(cluster=settings)
    app[WALL] = TEST_WALL
    http = await aiohttp_client(app)
    path = bridge_path("street")

    async def status(headers: dict[str, str]) -> int:
        with pytest.raises(WSServerHandshakeError) as refused:
            await http.ws_connect(path, headers=headers)
        return refused.value.status

    now = time.time()
    good = sign(CLUSTER_SECRET, "street", IDENTITY, now)
    assert await status({}) == 401
    assert await status({**good, "X-Yizhan-Signature": "0" * 64}) == 403
    assert await status(sign("x" * 40, "street", IDENTITY, now)) == 403
    assert await status(sign(CLUSTER_SECRET, "street", IDENTITY, now - 120)) == 403
    assert await status(sign(CLUSTER_SECRET, "legal", IDENTITY, now)) == 403
    assert http.app[CLUSTER].registry.room_ids() == []  # refusals change nothing
    assert http.app[RESIDENT_LIMITS].shared is http.app[CLUSTER].store  # limits: cluster-wide
    ws = await http.ws_connect(path, headers=good)
    await ws.send_json({"type": "join"})
    welcome = await ws.receive_json(timeout=10)
    assert (welcome["type"], welcome["participant_id"], welcome["role"]) == (
        "welcome", "site:1", "site")
    await ws.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_a_cluster_there_is_no_bridge_endpoint(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    http = await aiohttp_client(app_factory())
    now = time.time()
    with pytest.raises(WSServerHandshakeError) as refused:
        await http.ws_connect(bridge_path("street"),
                              headers=sign(CLUSTER_SECRET, "street", IDENTITY, now))
    assert refused.value.status == 404


# -- rate limits shared by the nodes ------------------------------------------------------------


async def test_the_residents_limits_count_across_the_nodes_on_one_redis(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 12, 2, 2, 0, tzinfo=UTC)]
    stores = [ClusterStore(redis_server.url, timeout_s=0.5, dead_after_s=4) for _ in "ab"]
    a, b = (ResidentLimits(lambda: now[0], per_address=3) for _ in "ab")
    a.shared, b.shared = stores
    phone = "203.0.113.9"
    try:
        await a.submit(phone, 1)
        await b.submit(phone, 1)
        await a.submit(phone, 1)
        with pytest.raises(RateLimited) as refused:  # the fourth, whichever node takes it
            await b.submit(phone, 1)
        assert refused.value.retry_after == 1200  # a token comes back every 3600 / 3 s
        await b.submit("198.51.100.7", 1)  # another address has a bucket of its own
        kept = stores[0].redis
        ttl = await kept.pttl(f"yizhan:limit:filings-address:{phone}")
        assert 0 < ttl <= 3600 * 1000 + 1000  # forgotten once it would be full again
        now[0] += timedelta(minutes=20)
        await a.submit(phone, 1)  # one token back
        with pytest.raises(RateLimited):
            await a.submit(phone, 1)
        # Redis away: each node counts on its own rather than turn residents away.
        redis_server.stop()
        await b.submit(phone, 1)
        assert "shared rate limit filings-address unavailable" in caplog.text
    finally:
        for store in stores:
            await store.close()


# -- attendance after a takeover -------------------------------------------------------------

async def test_a_takeover_ends_only_the_open_stays_of_the_room_s_participants(
        db_url: str) -> None:
    engine = db.create_engine(db_url)
    database = db.session_factory(engine)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def stay(room: str, key: str, *, left: bool = False) -> Attendance:
        return Attendance(room=room, participant_key=key, user_id=None, site_id=None,
                          display_name=key, role="site", joined_at=start,
                          left_at=start + timedelta(minutes=5) if left else None,
                          seconds=300 if left else None)

    try:
        async with database() as session, session.begin():
            session.add_all([stay("street", "site:1"), stay("street", "site:2"),
                             stay("legal", "site:1"), stay("street", "site:3", left=True)])
        took_over = start + timedelta(minutes=20)
        assert await end_stays_cut_short(database, "street", ["site:1", "site:3"],
                                         took_over) == 1
        assert await end_stays_cut_short(database, "street", [], took_over) == 0
        async with database() as session:
            rows = {(r.room, r.participant_key): (r.left_at is not None, r.seconds)
                    for r in await session.scalars(select(Attendance))}
        assert rows == {("street", "site:1"): (True, 1200), ("street", "site:2"): (False, None),
                        ("legal", "site:1"): (False, None), ("street", "site:3"): (True, 300)}
    finally:
        await engine.dispose()


async def test_a_late_leave_from_the_old_node_never_ends_the_new_stay(db_url: str) -> None:
    """The drained node's leave can be written after the stay began on the new node."""
    engine = db.create_engine(db_url)
    database = db.session_factory(engine)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    try:
        async with database() as session, session.begin():
            for minutes in (0, 10):
                session.add(Attendance(room="street", participant_key="site:1", user_id=None,
                                       site_id=None, display_name="东坡村", role="site",
                                       joined_at=start + timedelta(minutes=minutes)))
        await AttendanceHooks(database).on_leave("street", IDENTITY, start + timedelta(minutes=9))
        async with database() as session:
            rows = [(r.joined_at, r.seconds) for r in
                    await session.scalars(select(Attendance).order_by(Attendance.joined_at))]
        assert rows == [(start, 540), (start + timedelta(minutes=10), None)]
    finally:
        await engine.dispose()
