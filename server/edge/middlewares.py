"""The HTTP edge: sessions, who is calling, CSRF, language, and errors turned into answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from server.accounts import users as accounts
from server.accounts.access import access_of
from server.accounts.users import Principal
from server.core.errors import N_
from server.core.keys import (
    CLEAR_DEVICE_COOKIE,
    CLOCK,
    CSRF_TOKEN,
    DATABASE,
    LOCALE,
    METRICS,
    PASSWORDS,
    PRINCIPAL,
    SETTINGS,
    VIA_BEARER,
)
from server.core.requests import (
    DEVICE_COOKIE,
    SIGN_IN,
    wants_json,
)
from server.core.security import PasswordWorkers, csrf_matches, new_csrf_token
from server.edge import headers as security_headers
from server.edge.responses import INTERNAL, DomainErrorResponse, http_answer, problem_of
from web.i18n import LOCALE_COOKIE, negotiate

log = logging.getLogger("yizhan.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "yizhan_session"
PASSWORD_SESSION_MAX_AGE = 12 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    app[SIGN_IN] = sign_in
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
    factory = request.app[DATABASE]
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
        cookie = await get_session(request)
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in {
            "application/x-www-form-urlencoded", "multipart/form-data"
        }:
            form = await request.post()
            value = form.get("_csrf")
            given = value if isinstance(value, str) else None
        if not csrf_matches(cookie.get("csrf"), given):
            raise DomainErrorResponse(
                403, "csrf", N_("The form has expired or did not come from this site. "
                                "Please reload the page and try again."))
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except Exception as exc:
        problem = problem_of(exc)
        if problem is None:  # an HTTP answer of aiohttp's own, e.g. a redirect
            status = exc.status if isinstance(exc, web.HTTPException) else 500
            raise
        if problem is INTERNAL:
            log.exception("unhandled error on %s %s", request.method, request.path)
        status = problem.status
        return await http_answer(request, problem)
    finally:
        metrics = request.app.get(METRICS)
        if metrics is not None:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            metrics.observe_request(request.method, name, status,
                                    time.perf_counter() - started)
