"""Sign-in and sign-out, device sign-in for meeting-room PCs, and the language switch."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from server.accounts import users as accounts
from server.accounts.access import public, signed_in
from server.core.errors import N_
from server.core.keys import CLOCK, PRINCIPAL, SESSIONS, SETTINGS
from server.edge.middlewares import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, sign_in

from ..i18n import LOCALE_COOKIE, LOCALES
from ..render import render


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@public
async def login_form(request: web.Request) -> web.StreamResponse:
    if request.get(PRINCIPAL) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return await render(request, "login.html",
                        {"next": safe_next(request.query.get("next")), "error": None,
                         "username": ""})


@public
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    async with request.app[SESSIONS]() as db, db.begin():
        principal = await accounts.authenticate(db, username, password,
                                                clock=request.app[CLOCK])
    if principal is None:
        return await render(request, "login.html",
                            {"next": target, "username": username,
                             "error": N_("Wrong user name or password.")}, status=401)
    await sign_in(request, principal)
    raise web.HTTPSeeOther(target)


@signed_in
async def logout(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    response = web.HTTPSeeOther("/login")
    response.del_cookie(DEVICE_COOKIE)
    raise response


@public
async def device_form(request: web.Request) -> web.StreamResponse:
    return await render(request, "device.html", {"error": None})


@public
async def device_sign_in(request: web.Request) -> web.StreamResponse:
    """A site's PC signs in once with its token and stays signed in until it is revoked."""
    form = await request.post()
    token = str(form.get("token", "")).strip()[:200]
    async with request.app[SESSIONS]() as db, db.begin():
        principal = (await accounts.principal_for_device_token(db, token, clock=request.app[CLOCK])
                     if token else None)
    if principal is None:
        return await render(request, "device.html",
                            {"error": N_("This device token is unknown or has been revoked.")},
                            status=401)
    await sign_in(request, principal)
    response = web.HTTPSeeOther("/")
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_COOKIE_MAX_AGE, httponly=True,
                        samesite="Lax", secure=request.app[SETTINGS].cookie_secure)
    raise response


@public
async def set_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    if code not in LOCALES:
        raise web.HTTPNotFound()
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True)
    raise response
