"""Typed keys for the state the app factory shares with handlers."""

from __future__ import annotations

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.accounts.users import Principal
from server.core.clock import Clock
from server.core.config import Settings
from server.core.errors import NotAuthenticated
from server.core.metrics import Metrics
from server.core.security import PasswordWorkers

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
# Opens a database session: `async with request.app[DATABASE]() as db`.
DATABASE = web.AppKey("database", async_sessionmaker[AsyncSession])
CLOCK = web.AppKey[Clock]("clock")
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
METRICS = web.AppKey("metrics", Metrics)
SEED_DEMO = web.AppKey("seed_demo", bool)
DEMO_STREET = web.AppKey("demo_street", bool)
PASSWORDS = web.AppKey("passwords", PasswordWorkers)  # argon2 off the event loop

# Per-request state set by the middlewares.
PRINCIPAL = web.RequestKey[Principal | None]("principal")
LOCALE = web.RequestKey("locale", str)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
VIA_BEARER = web.RequestKey("via_bearer", bool)
CLEAR_DEVICE_COOKIE = web.RequestKey("clear_device_cookie", bool)


def current_principal(request: web.Request) -> Principal:
    """The signed-in principal of a handler that the access check already let through."""
    principal: Principal | None = request.get(PRINCIPAL)
    if principal is None:
        raise NotAuthenticated("Please sign in.")
    return principal
