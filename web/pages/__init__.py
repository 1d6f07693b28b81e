"""Page handlers; their routes are listed in `server.edge.routes`."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """What the pages need besides their routes: the unread badge, background deliveries."""
    from web.pages import inbox
    from web.pages.schedule import support as schedule_support

    inbox.setup(app)
    schedule_support.setup(app)
