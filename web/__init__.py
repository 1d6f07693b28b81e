"""Pages: Jinja2 templates, static assets and the handlers that render them."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    from server.edge import open311, openapi, opinion_api

    from .pages import (
        admin,
        auth,
        dashboard,
        duty_changes,
        feeds,
        inbox,
        opinion_categories,
        opinion_stats,
        opinions,
        programmes,
        questions,
        schedule,
        workdays,
    )
    from .pages import rooms as room_pages

    auth.add_routes(app)
    dashboard.add_routes(app)
    admin.add_routes(app)
    schedule.add_routes(app)
    duty_changes.add_routes(app)
    programmes.add_routes(app)
    workdays.add_routes(app)
    feeds.add_routes(app)
    inbox.add_routes(app)
    opinion_stats.add_routes(app)
    opinion_categories.add_routes(app)
    opinions.add_routes(app)
    opinion_api.add_routes(app)
    openapi.add_routes(app)
    open311.add_routes(app)
    questions.add_routes(app)
    room_pages.add_routes(app)
