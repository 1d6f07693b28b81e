"""Migrations build the schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from server.core import db
from server.models import Base
from tests.conftest import clone_postgres
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return await clone_postgres(server, None)


def _state(conn: Connection) -> tuple[set[str], list[object], tuple[str, ...]]:
    tables = set(inspect(conn).get_table_names())
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    diff = compare_metadata(context, Base.metadata)
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
    assert "alembic_version" in tables
    assert diff == []
    assert heads
