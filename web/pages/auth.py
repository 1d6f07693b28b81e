"""Sign-in and sign-out, device sign-in for meeting-room PCs, and the language switch."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from server.accounts import sign_in as signing_in
from server.accounts import users as accounts
from server.accounts.access import public, signed_in
from server.core.errors import N_
from server.core.keys import CLOCK, DATABASE, PASSWORDS, PRINCIPAL, SETTINGS, current_principal
from server.core.requests import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_MAX_AGE,
    client_address,
    sign_in,
    wants_json,
)
from web.render import render, translate

from ..i18n import LOCALE_COOKIE, LOCALES


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


async def _refused(request: web.Request, attempt: signing_in.SignInAttempt, target: str,
                   exc: signing_in.SignInRefused) -> web.StreamResponse:
    """A refused sign-in: the login page again (a JSON error for API clients), with
    Retry-After when the client should wait."""
    retry_after = exc.retry_after
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    text = translate(request, exc.message, **exc.params)
    if wants_json(request):
        body: dict[str, object] = {"code": exc.code, "message": text}
        if retry_after is not None:
            body["retry_after"] = retry_after
        return web.json_response({"error": body}, status=exc.status, headers=headers)
    response = await render(request, "login.html",
                            {"next": target, "username": attempt.username,
                             "error": text}, status=exc.status)
    response.headers.update(headers)
    return response


@public
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    attempt = signing_in.SignInAttempt.parse(form.get("username"), form.get("password"),
                                             client_address(request))
    target = safe_next(str(form.get("next", "/")))
    try:
        principal = await signing_in.authenticate(
            request.app[DATABASE], request.app[PASSWORDS], attempt, clock=request.app[CLOCK])
    except signing_in.SignInRefused as exc:
        return await _refused(request, attempt, target, exc)
    await sign_in(request, principal)
    raise web.HTTPSeeOther(target)


@signed_in
async def logout(request: web.Request) -> web.StreamResponse:
    """Signing out ends every cookie session of this user, not just this browser's: a
    copied or saved cookie must not outlive the sign-out."""
    principal = current_principal(request)
    async with request.app[DATABASE]() as db, db.begin():
        await accounts.end_sessions(db, principal.user_id)
    cookie = await get_session(request)
    cookie.invalidate()
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
    async with request.app[DATABASE]() as db, db.begin():
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
