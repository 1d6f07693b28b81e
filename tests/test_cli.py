"""The `yizhan` command: migrate, and serve without the demo street."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

from server import cli
from server.core.config import settings_from_env


def test_migrate_builds_an_empty_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("YIZHAN_DATABASE_URL", raising=False)
    assert cli.main(["migrate"]) == 0
    assert "migrations applied" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "yizhan.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"street", "site", "user_account", "alembic_version"} <= tables
        assert conn.execute("SELECT count(*) FROM street").fetchone() == (0,)


def test_bad_configuration_exits_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("YIZHAN_PORT", "not-a-port")
    assert cli.main(["serve"]) == 2
    assert "YIZHAN_PORT must be an integer" in capsys.readouterr().err


def test_serve_no_demo_leaves_the_database_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("YIZHAN_RUN_SCHEDULER", "false")
    monkeypatch.delenv("YIZHAN_DATABASE_URL", raising=False)
    started: list[web.Application] = []

    def fake_run_app(app: web.Application, **kwargs: object) -> None:
        async def start_and_stop() -> None:
            runner = web.AppRunner(app)
            await runner.setup()
            started.append(app)
            await runner.cleanup()
        asyncio.run(start_and_stop())

    monkeypatch.setattr(web, "run_app", fake_run_app)
    assert cli.main(["serve", "--no-demo"]) == 0
    assert started
    settings = settings_from_env()
    path = settings.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM street").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM user_account").fetchone() == (0,)


def test_setup_creates_street_and_admin_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("YIZHAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("YIZHAN_ADMIN_PASSWORD", "short")
    assert cli.main(["setup", "--street", "青山街道"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setenv("YIZHAN_ADMIN_PASSWORD", "a-long-password")
    assert cli.main(["setup", "--street", "青山街道", "--admin", "chief"]) == 0
    assert cli.main(["setup", "--street", "另一个街道"]) == 1
    assert "already has a street" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "yizhan.db") as conn:
        assert conn.execute("SELECT name, is_demo FROM street").fetchall() == [("青山街道", 0)]
        assert conn.execute("SELECT username, role FROM user_account").fetchall() == [
            ("chief", "admin")]
