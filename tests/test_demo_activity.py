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
from server.models import Opinion, Question
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
