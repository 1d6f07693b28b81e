"""Pages: Jinja2 templates, static assets and the handlers that render them."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    from server import open311, openapi, opinion_api

    from .pages import admin, auth, dashboard, opinion_categories, opinion_stats, opinions

    auth.add_routes(app)
    dashboard.add_routes(app)
    admin.add_routes(app)
    opinion_stats.add_routes(app)
    opinion_categories.add_routes(app)
    opinions.add_routes(app)
    opinion_api.add_routes(app)
    openapi.add_routes(app)
    open311.add_routes(app)
