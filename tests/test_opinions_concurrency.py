"""Two people act at once: one wins, the other sees the current state. Nothing is lost
across a restart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from scheduling.clock import SHANGHAI
from server.core import db
from server.core.errors import Conflict
from server.core.keys import ENGINE
from server.models import Opinion, OpinionEvent, OpinionStatus
from server.opinions import items as opinions
from server.opinions.commands import TransitionOpinion
from server.opinions.lifecycle import Action
from tests.conftest import CSRF_RE, AppFactory, MutableClock, login
from tests.opinion_helpers import UPLOADS, accept, principal, record

SignedIn = Callable[[str], Awaitable[TestClient]]


async def _form(c: TestClient, item_id: int) -> tuple[str, str]:
    page = await (await c.get(f"/opinions/{item_id}")).text()
    token = CSRF_RE.search(page)
    version = re.search(r'name="version" value="(\d+)"', page)
    assert token and version
    return token.group(1), version.group(1)


async def test_two_people_act_at_once_one_wins(signed_in: SignedIn, clock: MutableClock
                                               ) -> None:
    host, court = await signed_in("host"), await signed_in("court")
    factory = db.session_factory(host.app[ENGINE])
    async with factory() as s, s.begin():
        item = await record(s, clock)
        await accept(s, clock, item.id)
    (host_token, version), (court_token, court_version) = (
        await _form(host, item.id), await _form(court, item.id))
    assert version == court_version
    terminate, resolve = await asyncio.gather(
        host.post(f"/opinions/{item.id}/transition", allow_redirects=False, data={
            "_csrf": host_token, "action": "terminate", "version": version,
            "note": "居民撤回"}),
        court.post(f"/opinions/{item.id}/transition", allow_redirects=False, data={
            "_csrf": court_token, "action": "resolve", "version": version,
            "note": "已修复"}))
    statuses = sorted([terminate.status, resolve.status])
    assert statuses == [303, 409]
    loser = terminate if terminate.status == 409 else resolve
    page = await loser.text()
    assert "其他人已先修改了此事项" in page
    async with factory() as s:
        stored = await s.get(Opinion, item.id)
        assert stored is not None
        winner = OpinionStatus.TERMINATED if terminate.status == 303 else OpinionStatus.RESOLVED
        assert (stored.status, stored.version) == (winner, int(version) + 1)
        events = await s.scalar(select(func.count()).select_from(OpinionEvent).where(
            OpinionEvent.opinion_id == item.id))
        assert events == 3  # create, accept, and the winner's line only
    # The loser's page shows the item as it is now.
    assert f'data-status="{winner.value}"' in page


async def test_compare_and_set_refuses_a_stale_row(app_factory: AppFactory,
                                                   aiohttp_client: Callable[..., Awaitable[TestClient]],
                                                   clock: MutableClock) -> None:
    """Two transactions read the same version; the second UPDATE matches no row."""
    client = await aiohttp_client(app_factory())
    factory = db.session_factory(client.app[ENGINE])
    async with factory() as s, s.begin():
        item_id = (await record(s, clock)).id
    async with factory() as first, factory() as second:
        a = await first.get(Opinion, item_id)
        b = await second.get(Opinion, item_id)
        assert a is not None and b is not None
        assert a.version == b.version == 1
        await opinions.compare_and_set(first, a, {"public_note": "first"})
        await first.commit()
        with pytest.raises(Conflict):
            await opinions.compare_and_set(second, b, {"public_note": "second"})
        await second.rollback()
    async with factory() as s:
        stored = await s.get(Opinion, item_id)
        assert stored is not None
        assert (stored.public_note, stored.version) == ("first", 2)


async def test_the_use_case_refuses_the_slower_of_two(app_factory: AppFactory,
                                                      aiohttp_client: Callable[..., Awaitable[TestClient]],
                                                      clock: MutableClock) -> None:
    client = await aiohttp_client(app_factory())
    factory = db.session_factory(client.app[ENGINE])
    async with factory() as s, s.begin():
        item_id = (await record(s, clock)).id
        await accept(s, clock, item_id)

    async def act(who: str, action: str) -> str:
        try:
            async with factory() as s, s.begin():
                await opinions.transition(
                    s, item_id, TransitionOpinion(action=Action(action), version=2, note=who),
                    viewer=await principal(s, who), clock=clock, tz=SHANGHAI,
                    uploads_dir=UPLOADS)
        except Conflict:
            return "conflict"
        return "ok"

    results = await asyncio.gather(act("court", "update"), act("host", "terminate"),
                                   act("court", "resolve"))
    assert sorted(results) == ["conflict", "conflict", "ok"]
    async with factory() as s:
        stored = await s.get(Opinion, item_id)
        assert stored is not None
        assert stored.version == 3


async def test_nothing_is_lost_across_a_restart(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    first = await aiohttp_client(app_factory())
    await login(first, "host")
    factory = db.session_factory(first.app[ENGINE])
    async with factory() as s, s.begin():
        ids = [(await record(s, clock, text=f"第{n}件：路灯不亮")).id for n in range(3)]
        await accept(s, clock, ids[0])
    before = [await (await first.get(f"/api/opinions/{i}")).json() for i in ids]
    listing = await (await first.get("/api/opinions")).json()
    await first.close()

    second = await aiohttp_client(app_factory())  # a new app on the same database
    await login(second, "host")
    after = [await (await second.get(f"/api/opinions/{i}")).json() for i in ids]
    assert after == before
    assert await (await second.get("/api/opinions")).json() == listing
    assert [b["status"] for b in before] == ["accepted", "received", "received"]
    assert before[0]["due_day"] == "2026-11-30"
