"""Shared fixtures: databases on SQLite and a real PostgreSQL, apps, signed-in clients."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import init_app
from server.core import db
from server.core.config import NoticeSettings, Settings
from server.demo.street import seed_demo
from tests.support.postgres import PostgresServer, running_postgres

FIXED_NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai
SECRET = "test-secret-key-0123456789-0123456789-abcdef"
METRICS_TOKEN = "test-metrics-token-0123456789-0123456789"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}  # what a Prometheus scrape sends
_counter = itertools.count()


class MutableClock:
    """A fixed clock that a test can move forward."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


def run_blocking(factory: Callable[[], Awaitable[None]]) -> None:
    """Run async set-up from a sync session fixture, even while a test's loop is running."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(factory())).result()  # type: ignore[arg-type]


async def _prepare(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.migrate(engine)
        async with db.session_factory(engine)() as session, session.begin():
            await seed_demo(session, clock=fixed_clock)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_blocking(lambda: _prepare(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    async def create() -> None:
        conn = await asyncpg.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                                     database="postgres")
        try:
            await conn.execute("CREATE DATABASE yizhan_template")
        finally:
            await conn.close()
        await _prepare(postgres.url("yizhan_template"))

    run_blocking(create)
    return "yizhan_template"


async def clone_postgres(postgres: PostgresServer, template: str | None) -> str:
    name = f"t_{next(_counter)}_{id(postgres) % 10000}"
    conn = await asyncpg.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                                 database="postgres")
    try:
        suffix = f" TEMPLATE {template}" if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()
    return postgres.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database holding the demo street, fresh for each test."""
    if request.param == "sqlite":
        path = tmp_path / "yizhan.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    template = request.getfixturevalue("postgres_template")
    return await clone_postgres(request.getfixturevalue("postgres"), template)


@pytest.fixture
async def db_session(db_url: str) -> AsyncIterator[AsyncSession]:
    """One connection per test inside an outer transaction that is rolled back."""
    engine = db.create_engine(db_url)
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False,
                               join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
    await engine.dispose()


def make_settings(db_url: str, var_dir: Path, **overrides: object) -> Settings:
    # No background notice sender unless a test asks for one (tests/notice_helpers.py):
    # like the scheduler, it would poll the database behind the test's back.
    values: dict[str, object] = {"database_url": db_url, "secret_key": SECRET,
                                 "var_dir": var_dir, "run_scheduler": False,
                                 "metrics_token": METRICS_TOKEN,
                                 "notices": NoticeSettings(run_sender=False),
                                 # Rooms in the test's own process, unless a test asks for
                                 # a process per room (tests/test_room_workers.py).
                                 "room_workers": False}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


AppFactory = Callable[..., web.Application]


@pytest.fixture
def app_factory(db_url: str, tmp_path: Path, clock: MutableClock) -> AppFactory:
    def factory(**overrides: object) -> web.Application:
        return init_app(make_settings(db_url, tmp_path / "var", **overrides), clock=clock)
    return factory


@pytest.fixture
async def client(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    return await aiohttp_client(app_factory())


CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')


async def csrf_of(client: TestClient, path: str = "/login") -> str:
    resp = await client.get(path)
    match = CSRF_RE.search(await resp.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def login(client: TestClient, username: str, password: str = "demo-password") -> None:
    token = await csrf_of(client)
    resp = await client.post("/login", data={"username": username, "password": password,
                                             "_csrf": token, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()


@pytest.fixture
def signed_in(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> Callable[[str], Awaitable[TestClient]]:
    """A client signed in as one of the demo accounts (each call: a fresh cookie jar)."""
    app = app_factory()
    clients: list[TestClient] = []

    async def make(username: str) -> TestClient:
        if not clients:
            c = await aiohttp_client(app)
        else:
            c = await aiohttp_client(clients[0].server)
        clients.append(c)
        await login(c, username)
        return c

    return make


@pytest.fixture
async def live_server(app_factory: AppFactory) -> AsyncIterator[str]:
    """The app on a real loopback port, for browsers."""
    from aiohttp.test_utils import TestServer

    server = TestServer(app_factory(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
