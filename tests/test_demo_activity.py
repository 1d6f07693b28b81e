"""A new demo database shows a street at work: opinions in several states, questions queued."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.app import init_app
from server.core.db import session_factory
from server.core.keys import ENGINE
from server.models import Department, Opinion, Question
from tests.conftest import MutableClock, login, make_settings


async def test_empty_demo_database_gets_opinions_and_questions(
    tmp_path: Path, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", tmp_path / "var")
    client = await aiohttp_client(init_app(settings, clock=clock))
    async with session_factory(client.app[ENGINE])() as db:
        states = Counter(o.status.value for o in await db.scalars(select(Opinion)))
        queued = list(await db.scalars(select(Question)))
    assert states == {"confirmed": 1, "resolved": 2, "in_progress": 1, "accepted": 1,
                      "received": 1}
    assert len(queued) == 4
    assert len({q.session_id for q in queued}) == 1
    await login(client, "host")
    page = await (await client.get("/opinions")).text()
    assert "马蜂窝" in page
    await login(client, "site02")
    page = await (await client.get("/legal/questions")).text()
    assert "花盆" in page
    assert "停车位" not in page  # another site's question stays hidden


async def test_the_demo_street_sends_opinions_to_the_departments_that_handle_them(
    tmp_path: Path, clock: MutableClock,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", tmp_path / "var")
    client = await aiohttp_client(init_app(settings, clock=clock))
    async with session_factory(client.app[ENGINE])() as db:
        departments = {d.id: d for d in await db.scalars(select(Department))}
        owners = {o.text[:6]: departments[o.department_id].name
                  for o in await db.scalars(select(Opinion)) if o.department_id is not None}
    # The four legal departments still take turns; the dispatch departments do not.
    assert sorted(d.name for d in departments.values() if d.is_legal) == [
        "区人民检察院", "区人民法院", "区公安分局", "区司法局"]
    assert sorted(d.name for d in departments.values() if not d.is_legal) == [
        "区住房和城乡建设局", "区城市管理局", "区市场监督管理局", "区环境卫生管理所",
        "社区居民委员会"]
    # A broken street light goes to urban management, garbage to sanitation, and no
    # opinion lands on a court or a police station.
    assert owners["村口到小学的"] == "区城市管理局"
    assert owners["菜市场后面的"] == "区环境卫生管理所"
    assert owners["3号楼单元门"] == "区住房和城乡建设局"
    assert len(owners) == 5
    legal = {d.name for d in departments.values() if d.is_legal}
    assert not legal & set(owners.values())
