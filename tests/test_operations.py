"""Health, metrics and configuration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from server.core.config import ConfigError, settings_from_env
from tests.conftest import METRICS_AUTH, AppFactory, MutableClock


async def test_healthz_reports_database_and_scheduler(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    clock: MutableClock,
) -> None:
    # APScheduler fires by the real clock: keep the app's clock on it too, so no job
    # planned around the fixed test date fires in the middle of this test.
    clock.now = datetime.now(UTC)
    c = await aiohttp_client(app_factory(run_scheduler=True))
    resp = await c.get("/healthz")
    body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in {"sqlite", "postgresql"}
    assert body["scheduler"]["state"] == "running"


async def test_healthz_degraded_when_database_is_gone(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    from server.core.keys import ENGINE

    c = await aiohttp_client(app_factory())
    engine = c.app[ENGINE]
    await engine.dispose()
    engine.pool._creator = lambda *a, **k: (_ for _ in ()).throw(OSError("down"))  # type: ignore[attr-defined]
    resp = await c.get("/healthz")
    body = await resp.json()
    assert resp.status == 503
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is False


async def test_metrics_in_prometheus_text_format(client: TestClient) -> None:
    await client.get("/login")
    resp = await client.get("/metrics", headers=METRICS_AUTH)
    text = await resp.text()
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert 'yizhan_http_requests_total{method="GET",route="/login",status="200"} 1.0' in text
    assert "yizhan_http_request_seconds_bucket" in text


async def test_metrics_need_an_administrator_or_the_scrape_token(
    client: TestClient, signed_in: Callable[[str], Awaitable[TestClient]],
) -> None:
    resp = await client.get("/metrics", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    for wrong in ("Bearer " + "x" * 40, "Bearer", METRICS_AUTH["Authorization"] + "x",
                  "Basic " + METRICS_AUTH["Authorization"][7:]):
        resp = await client.get("/metrics", headers={"Authorization": wrong},
                                allow_redirects=False)
        assert resp.status in (303, 401), wrong
        assert "yizhan_" not in await resp.text()
    site = await signed_in("site01")
    resp = await site.get("/metrics")
    assert resp.status == 403 and "yizhan_" not in await resp.text()
    admin = await signed_in("admin")
    resp = await admin.get("/metrics")
    assert resp.status == 200 and "yizhan_http_requests_total" in await resp.text()
    resp = await client.get("/metrics", headers=METRICS_AUTH)
    assert resp.status == 200 and "yizhan_http_requests_total" in await resp.text()


def test_metrics_token_from_the_environment(tmp_path: Path) -> None:
    env = {"YIZHAN_VAR_DIR": str(tmp_path)}
    assert settings_from_env(env).metrics_token is None  # administrators only
    token = "m" * 32
    assert settings_from_env({**env, "YIZHAN_METRICS_TOKEN": token}).metrics_token == token
    with pytest.raises(ConfigError, match="YIZHAN_METRICS_TOKEN"):
        settings_from_env({**env, "YIZHAN_METRICS_TOKEN": "short"})


def test_settings_defaults_and_generated_secret(tmp_path: Path) -> None:
    settings = settings_from_env({"YIZHAN_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/yizhan.db"
    assert (settings.host, settings.port, settings.timezone) == ("127.0.0.1", 8080,
                                                                 "Asia/Shanghai")
    again = settings_from_env({"YIZHAN_VAR_DIR": str(tmp_path)})
    assert again.secret_key == settings.secret_key  # kept across restarts
    turn = settings_from_env({"YIZHAN_VAR_DIR": str(tmp_path),
                              "YIZHAN_TURN_URLS": "turn:a:3478, turns:b:5349",
                              "YIZHAN_TURN_SECRET": "s"}).turn
    assert turn.urls == ("turn:a:3478", "turns:b:5349")
    assert turn.shared_secret == "s"


@pytest.mark.parametrize(("env", "message"), [
    ({"YIZHAN_PORT": "eighty"}, "YIZHAN_PORT must be an integer"),
    ({"YIZHAN_PORT": "70000"}, "YIZHAN_PORT out of range"),
    ({"YIZHAN_SECRET_KEY": "short"}, "at least 32 characters"),
    ({"YIZHAN_COOKIE_SECURE": "maybe"}, "YIZHAN_COOKIE_SECURE must be true or false"),
])
def test_bad_settings_are_refused_clearly(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_env({"YIZHAN_VAR_DIR": str(tmp_path), **env})
