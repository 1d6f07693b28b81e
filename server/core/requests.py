"""What the pages and the edge both read off a request, kept below both.

The session cookie itself belongs to the HTTP edge (`server.edge.middlewares`); pages that
sign someone in call `sign_in`, which reaches the edge's function through an app key, so
that `web` never imports the edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from server.accounts.users import Principal
from server.core.keys import SETTINGS

DEVICE_COOKIE = "yizhan_device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days

SignIn = Callable[[web.Request, Principal], Awaitable[object]]
SIGN_IN = web.AppKey[SignIn]("sign_in")  # set by the edge's middlewares


def wants_json(request: web.Request) -> bool:
    """An API-like request: answered in JSON, and with 401 rather than the login page.

    A WebSocket upgrade counts: its client cannot follow a redirect to a form; so does a
    recording's file, which a video player fetches.
    """
    return (
        request.path.startswith("/api/")
        or (request.path.startswith("/recordings/") and request.path.endswith("/video"))
        or request.path in {"/healthz"}
        or request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        or ("application/json" in request.headers.get("Accept", "")
        and "text/html" not in request.headers.get("Accept", ""))
    )


def client_address(request: web.Request) -> str | None:
    """The caller's address: the socket's, or the one the trusted proxies put in
    X-Forwarded-For (counted from the right, so a client cannot forge it)."""
    hops = request.app[SETTINGS].proxy_hops
    if hops <= 0:
        return request.remote
    forwarded = [part.strip() for value in request.headers.getall("X-Forwarded-For", [])
                 for part in value.split(",") if part.strip()]
    return forwarded[-hops] if len(forwarded) >= hops else request.remote


async def sign_in(request: web.Request, principal: Principal) -> None:
    """Start a fresh cookie session for `principal` (the edge's function does the work)."""
    await request.app[SIGN_IN](request, principal)
