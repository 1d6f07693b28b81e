"""Pages: Jinja2 templates, static assets and the handlers that render them."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    from .pages import admin, auth, dashboard

    auth.add_routes(app)
    dashboard.add_routes(app)
    admin.add_routes(app)
