"""Security headers on every answer: pages, JSON, files, errors, redirects, WebSocket upgrades.

Set from `on_response_prepare`, not a middleware, because the signal also fires for the
static files, for the error pages and for the HTTP exceptions that leave the middleware
chain. A handler that chose its own value (a calendar feed's Referrer-Policy, a photo's
private caching) keeps it.
"""

from __future__ import annotations

import re

from aiohttp import web

# The room's WebSocket is same-origin. CSP Level 3 lets 'self' match ws:/wss: of the page's
# host (Chromium and Firefox do); older WebKit does not, so the host is also named.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

_POLICY = (
    "default-src 'self'",
    "script-src 'self'",  # no 'unsafe-inline': templates carry no inline script or handler
    "style-src 'self'",  # no inline style either; scripts style through the CSSOM, which CSP allows
    "img-src 'self' data: blob:",  # photo previews before upload
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Nothing leaves for another site, not even the origin: page URLs carry ids.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}
NO_STORE = "no-store"


def content_security_policy(host: str | None) -> str:
    connect = "connect-src 'self'"
    if host and _HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*_POLICY, connect))


def _static_asset(request: web.Request, response: web.StreamResponse) -> bool:
    resource = request.match_info.route.resource
    return isinstance(resource, web.StaticResource) and response.status < 400


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    for name, value in STATIC_HEADERS.items():
        headers.setdefault(name, value)
    # Pages and JSON show residents' names and contacts: keep them off shared disks and out
    # of the back button. Versioned static assets stay cacheable.
    if not _static_asset(request, response):
        headers.setdefault("Cache-Control", NO_STORE)


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
