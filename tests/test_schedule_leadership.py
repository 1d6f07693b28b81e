"""One scheduler per deployment: two server apps on one PostgreSQL database, each with its
own engine and scheduler, and a job due now runs exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.triggers.date import DateTrigger

from server.app import init_app
from server.core import leadership
from server.core.keys import SCHEDULER
from server.core.leadership import LEADERSHIP, LeaderState
from tests.conftest import MutableClock, clone_postgres, make_settings
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres

RUNS: list[str] = []


async def record(*, name: str) -> None:
    """The job both schedulers could run; the test counts the runs."""
    RUNS.append(name)


def watch(client: TestClient, who: str, executed: list[tuple[str, str]]) -> None:
    """Note which app's scheduler ran which job."""
    client.app[SCHEDULER].add_listener(lambda event: executed.append((who, event.job_id)),
                                       EVENT_JOB_EXECUTED)


async def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


def due_now(client: TestClient, name: str) -> None:
    client.app[SCHEDULER].add_job(
        "tests.test_schedule_leadership:record", trigger=DateTrigger(run_date=datetime.now(UTC)),
        kwargs={"name": name}, id=f"test:{name}", misfire_grace_time=60)


async def test_one_process_runs_the_jobs_and_another_takes_over(
    postgres: PostgresServer, postgres_template: str, tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(leadership, "RETRY_INTERVAL_S", 0.2)
    RUNS.clear()
    url = await clone_postgres(postgres, postgres_template)
    clock = MutableClock(datetime.now(UTC))

    def app(name: str) -> object:
        return init_app(make_settings(url, tmp_path / name, run_scheduler=True), clock=clock)

    first = await aiohttp_client(app("first"))
    second = await aiohttp_client(app("second"))
    executed: list[tuple[str, str]] = []
    watch(first, "first", executed)
    watch(second, "second", executed)
    assert (first.app[LEADERSHIP].state, second.app[LEADERSHIP].state) == (
        LeaderState.LEADER, LeaderState.STANDBY)
    assert (first.app[SCHEDULER].state, second.app[SCHEDULER].state) == (
        STATE_RUNNING, STATE_PAUSED)
    health = await (await second.get("/healthz")).json()
    assert health["status"] == "ok"
    assert (health["scheduler"]["state"], health["scheduler"]["ok"]) == ("standby", True)
    assert (await (await first.get("/healthz")).json())["scheduler"]["state"] == "running"

    # Written through the standby into the shared store (which wakes the standby's
    # scheduler at once): only the leader runs it, at its next round.
    due_now(second, "first")
    await wait_for(lambda: RUNS == ["first"])
    await asyncio.sleep(0.6)  # three more rounds: nobody runs it again
    assert RUNS == ["first"]
    assert executed == [("first", "test:first")]

    # The leader goes away; the standby takes the lock within a round or two.
    await first.close()
    await wait_for(lambda: second.app[LEADERSHIP].state is LeaderState.LEADER)
    health = await (await second.get("/healthz")).json()
    assert health["scheduler"]["state"] == "running"
    due_now(second, "second")
    await wait_for(lambda: RUNS == ["first", "second"])
    await asyncio.sleep(0.3)
    assert RUNS == ["first", "second"]
    assert executed == [("first", "test:first"), ("second", "test:second")]
