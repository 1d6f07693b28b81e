"""Typed keys for the state the app factory shares with handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .clock import Clock
from .config import Settings

if TYPE_CHECKING:

    pass

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
CLOCK = web.AppKey("clock", Clock)
SCHEDULER = web.AppKey("scheduler", "AsyncIOScheduler")
METRICS = web.AppKey("metrics", "Metrics")
SEED_DEMO = web.AppKey("seed_demo", bool)
DEMO_STREET = web.AppKey("demo_street", bool)
