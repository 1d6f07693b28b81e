"""Migrations build the schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from scheduling.jobs import make_scheduler
from server.core import db
from server.models import Base
from tests.conftest import clone_postgres
from tests.support.postgres import PostgresServer

JOB_STORE_TABLE = "apscheduler_jobs"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return await clone_postgres(server, None)


def _state(conn: Connection) -> tuple[set[str], list[object], tuple[str, ...]]:
    tables = set(inspect(conn).get_table_names())
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    # APScheduler's job store table is made by a migration (0016) but is not a model.
    diff = [d for d in compare_metadata(context, Base.metadata)
            if not (d[0] == "remove_table" and d[1].name == JOB_STORE_TABLE)
            and not (d[0] == "remove_index" and d[1].table.name == JOB_STORE_TABLE)]
    # Independent features branch from one revision: the schema may have several heads.
    return tables, diff, context.get_current_heads()


async def test_migrations_from_empty_match_the_models(empty_url: str) -> None:
    engine = db.create_engine(empty_url)
    try:
        await db.migrate(engine)
        await db.migrate(engine)  # idempotent: a restart re-runs it
        async with engine.connect() as conn:
            tables, diff, heads = await conn.run_sync(_state)
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert {"alembic_version", JOB_STORE_TABLE} <= tables
    assert diff == []
    assert heads


@pytest.mark.postgres
async def test_replicas_that_start_together_on_an_empty_database_all_come_up(
        postgres: PostgresServer) -> None:
    """Three processes' start-up on one fresh database: migrations take turns under a
    lock, and the job store's table is made by them (no scheduler races to create it)."""
    url = await clone_postgres(postgres, None)
    engines = [db.create_engine(url) for _ in range(3)]
    try:
        async with asyncio.timeout(60):  # without the lock they deadlock or collide
            await asyncio.gather(*(db.migrate(engine) for engine in engines))
        async with engines[0].connect() as conn:
            heads = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_heads())
    finally:
        for engine in engines:
            await engine.dispose()
    # Every one of them at the newest revision, which is one (0016 joined the branches).
    assert heads == tuple(ScriptDirectory.from_config(db.alembic_config()).get_heads())
    assert len(heads) == 1
    # APScheduler takes the table as its own: a job written is read back.
    scheduler = make_scheduler(db.sync_url(url))
    scheduler.start(paused=True)
    try:
        scheduler.add_job(print, "date", run_date="2030-01-01 09:00:00", id="probe")
        assert [job.id for job in scheduler.get_jobs()] == ["probe"]
    finally:
        scheduler.shutdown(wait=False)
