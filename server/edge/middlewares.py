"""The HTTP edge: sessions, who is calling, CSRF, language, and errors turned into answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from server.accounts import users as accounts
from server.accounts.access import access_of
from server.accounts.users import Principal
from server.core.errors import N_, DomainError
from server.core.keys import (
    CLEAR_DEVICE_COOKIE,
    CLOCK,
    CSRF_TOKEN,
    LOCALE,
    METRICS,
    PASSWORDS,
    PRINCIPAL,
    SESSIONS,
    SETTINGS,
    VIA_BEARER,
)
from server.core.security import PasswordWorkers, csrf_matches, new_csrf_token
from server.edge import headers as security_headers
from web.i18n import LOCALE_COOKIE, negotiate
from web.render import render, translate

log = logging.getLogger("yizhan.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "yizhan_session"
DEVICE_COOKIE = "yizhan_device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
PASSWORD_SESSION_MAX_AGE = 12 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def wants_json(request: web.Request) -> bool:
    """An API-like request: answered in JSON, and with 401 rather than the login page.

    A WebSocket upgrade counts: its client cannot follow a redirect to a form.
    """
    return (
        request.path.startswith("/api/")
        or request.path in {"/healthz"}
        or request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        or ("application/json" in request.headers.get("Accept", "")
        and "text/html" not in request.headers.get("Accept", ""))
    )


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(("session:" + secret).encode()).digest())


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    storage = EncryptedCookieStorage(
        Fernet(_fernet_key(settings.secret_key)),
        cookie_name=SESSION_COOKIE,
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        max_age=None,
    )
    security_headers.setup(app)
    app.middlewares.append(error_middleware)
    setup_sessions(app, storage)
    app.middlewares.append(auth_middleware)
    app.middlewares.append(csrf_middleware)
    app.cleanup_ctx.append(password_workers)


async def password_workers(app: web.Application) -> AsyncIterator[None]:
    """The bounded thread pool where sign-ins and new passwords run argon2."""
    workers = PasswordWorkers()
    app[PASSWORDS] = workers
    yield
    workers.close()


async def sign_in(request: web.Request, principal: Principal) -> Session:
    """A fresh session on every sign-in, so a planted session id is worth nothing.

    The user's session generation goes into the cookie; once the user's generation moves on
    (sign-out, new password, deactivation, reactivation) the cookie no longer signs in.
    """
    cookie = await new_session(request)
    cookie["user_id"] = principal.user_id
    cookie["device_token_id"] = principal.device_token_id
    cookie["generation"] = principal.session_generation
    cookie["issued_at"] = int(request.app[CLOCK]().timestamp())
    cookie["csrf"] = new_csrf_token()
    request[PRINCIPAL] = principal
    request[CSRF_TOKEN] = cookie["csrf"]
    return cookie


def client_address(request: web.Request) -> str | None:
    """The caller's address: the socket's, or the one the trusted proxies put in
    X-Forwarded-For (counted from the right, so a client cannot forge it)."""
    hops = request.app[SETTINGS].proxy_hops
    if hops <= 0:
        return request.remote
    forwarded = [part.strip() for value in request.headers.getall("X-Forwarded-For", [])
                 for part in value.split(",") if part.strip()]
    return forwarded[-hops] if len(forwarded) >= hops else request.remote


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _scraper(request: web.Request) -> bool:
    """Whether the request brings the configured metrics token (compared in constant time)."""
    expected = request.app[SETTINGS].metrics_token
    given = _bearer(request)
    return expected is not None and given is not None and hmac.compare_digest(
        given.encode(), expected.encode())


async def _resolve(request: web.Request, cookie: Session) -> Principal | None:
    factory = request.app[SESSIONS]
    clock = request.app[CLOCK]
    bearer = _bearer(request)
    if bearer is not None:
        async with factory() as db, db.begin():
            principal = await accounts.principal_for_device_token(db, bearer, clock=clock)
        request[VIA_BEARER] = principal is not None
        return principal
    user_id = cookie.get("user_id")
    if user_id is not None:
        device_token_id = cookie.get("device_token_id")
        generation = cookie.get("generation")
        expired = device_token_id is None and (
            clock().timestamp() - cookie.get("issued_at", 0) > PASSWORD_SESSION_MAX_AGE
        )
        if not expired:
            async with factory() as db:
                # A cookie from before generations existed never matches (-1).
                principal = await accounts.load_principal(
                    db, user_id, device_token_id,
                    generation if isinstance(generation, int) else -1)
            if principal is not None:
                return principal
        cookie.invalidate()
    device_cookie = request.cookies.get(DEVICE_COOKIE)
    if device_cookie:
        async with factory() as db, db.begin():
            principal = await accounts.principal_for_device_token(db, device_cookie, clock=clock)
        if principal is not None:
            await sign_in(request, principal)
            return principal
        request[CLEAR_DEVICE_COOKIE] = True
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    cookie = await get_session(request)
    request[PRINCIPAL] = await _resolve(request, cookie)
    if "csrf" not in cookie and not request.get(VIA_BEARER):
        cookie["csrf"] = new_csrf_token()
    request[CSRF_TOKEN] = cookie.get("csrf", "")
    principal: Principal | None = request[PRINCIPAL]
    request[LOCALE] = negotiate(request.cookies.get(LOCALE_COOKIE))
    access = access_of(request.match_info.handler)
    if request.match_info.http_exception is None and access is not None:
        if principal is None and access.scrape and _scraper(request):
            return await handler(request)
        if principal is None and not access.public:
            if wants_json(request) or request.method in UNSAFE_METHODS:
                raise DomainErrorResponse(401, "not_authenticated", N_("Please sign in."))
            raise web.HTTPSeeOther(f"/login?next={request.rel_url.path_qs}" if
                                   request.path != "/" else "/login")
        if principal is not None and not access.admits(principal.role):
            raise DomainErrorResponse(403, "forbidden", N_("You do not have access to this page."))
    response = await handler(request)
    if request.get(CLEAR_DEVICE_COOKIE):
        response.del_cookie(DEVICE_COOKIE)
    return response


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS and not request.get(VIA_BEARER):
        session = await get_session(request)
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in {
            "application/x-www-form-urlencoded", "multipart/form-data"
        }:
            form = await request.post()
            value = form.get("_csrf")
            given = value if isinstance(value, str) else None
        if not csrf_matches(session.get("csrf"), given):
            raise DomainErrorResponse(
                403, "csrf", N_("The form has expired or did not come from this site. "
                                "Please reload the page and try again."))
    return await handler(request)


class DomainErrorResponse(Exception):
    """Raised by the edge itself; rendered by the error middleware like a DomainError."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def error_response(request: web.Request, status: int, code: str, message: str,
                   params: dict[str, object] | None = None,
                   field_errors: dict[str, str] | None = None) -> web.Response:
    text = translate(request, message, **(params or {}))
    if wants_json(request):
        body: dict[str, object] = {"error": {"code": code, "message": text}}
        if field_errors:
            body["error"] = {**body["error"],  # type: ignore[dict-item]
                             "fields": {k: translate(request, v)
                                        for k, v in field_errors.items()}}
        return web.json_response(body, status=status)
    return await render(request, "errors/page.html", {"status": status, "message": text},
                        status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except DomainError as exc:
        status = exc.status
        return await error_response(request, exc.status, exc.code, exc.message, exc.params,
                              exc.field_errors)
    except DomainErrorResponse as exc:
        status = exc.status
        return await error_response(request, exc.status, exc.code, exc.message)
    except HttpProcessingError:
        # A body that does not parse as HTTP says (a multipart part's header with a NUL, a
        # line past 8 KiB): the sender's fault, whichever handler first read the body.
        status = 400
        return await error_response(request, 400, "bad_request",
                                    N_("The request could not be read."))
    except web.HTTPException as exc:
        status = exc.status
        if exc.status == 404:
            return await error_response(request, 404, "not_found", N_("Page not found."))
        if exc.status == 405:
            return await error_response(request, 405, "method_not_allowed",
                                        N_("Method not allowed."))
        if exc.status == 413:
            return await error_response(request, 413, "too_large", N_("The upload is too large."))
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await error_response(request, 500, "internal", N_("Internal error."))
    finally:
        metrics = request.app.get(METRICS)
        if metrics is not None:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            metrics.observe_request(request.method, name, status,
                                    time.perf_counter() - started)
