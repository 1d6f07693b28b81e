"""Calendar feeds: tokens for administrators, and the feed itself behind its secret URL."""

from __future__ import annotations

from aiohttp import web

from server.accounts import directory
from server.accounts.access import allow, public
from server.core.errors import N_, ValidationFailed
from server.core.keys import CLOCK, DATABASE, SETTINGS
from server.models import FeedScope, Role
from server.schedule import feeds
from server.schedule.programmes import list_programmes
from web.pages.schedule.support import actor, form_data, path_id
from web.render import render

SCOPES = {FeedScope.PROGRAMME.value: N_("Programme"),
          FeedScope.DEPARTMENT.value: N_("Department"),
          FeedScope.DEPUTY.value: N_("Deputy"), FeedScope.SITE.value: N_("Site")}


async def _page(request: web.Request, *, new_url: str | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> web.Response:
    clock = request.app[CLOCK]
    async with request.app[DATABASE]() as db:
        tokens = await feeds.list_tokens(db)
        targets = [
            (FeedScope.PROGRAMME.value, [(p.id, p.name) for p in
                                         await list_programmes(db, clock=clock)]),
            (FeedScope.DEPARTMENT.value, [(d.id, d.name) for d in
                                          await directory.list_departments(db)]),
            (FeedScope.DEPUTY.value, [(d.id, d.name) for d in
                                      await directory.list_deputies(db)]),
            (FeedScope.SITE.value, [(s.id, s.name) for s in await directory.list_sites(db)]),
        ]
    return await render(request, "schedule/feeds.html", {
        "tokens": tokens, "targets": targets, "scopes": SCOPES, "new_url": new_url,
        "errors": errors or {}}, status=status)


@allow(Role.ADMIN)
async def tokens_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@allow(Role.ADMIN)
async def issue(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    scope, _, target = data.get("target", "").partition(":")
    try:
        command = feeds.FeedTokenRequest.from_fields(
            {"scope": scope, "target_id": target, "label": data.get("label", "")})
        async with request.app[DATABASE]() as db, db.begin():
            _row, token = await feeds.issue_token(db, command, actor=actor(request),
                                                  clock=request.app[CLOCK])
    except ValidationFailed as exc:
        errors = {"target" if k in ("scope", "target_id") else k: v
                  for k, v in exc.field_errors.items()}
        return await _page(request, errors=errors, status=422)
    url = str(request.url.origin().join(request.app.router["feed"].url_for(token=token)))
    return await _page(request, new_url=url)


@allow(Role.ADMIN)
async def revoke(request: web.Request) -> web.StreamResponse:
    feed_id = path_id(request, "feed_id")
    async with request.app[DATABASE]() as db, db.begin():
        await feeds.revoke_token(db, feed_id, actor=actor(request), clock=request.app[CLOCK])
    raise web.HTTPSeeOther("/schedule/feeds")


@public
async def feed(request: web.Request) -> web.StreamResponse:
    """Calendar apps cannot sign in: the secret token in the URL is the credential."""
    async with request.app[DATABASE]() as db, db.begin():
        body = await feeds.feed_for_token(db, request.match_info["token"][:200],
                                          clock=request.app[CLOCK],
                                          timezone=request.app[SETTINGS].timezone)
    return web.Response(body=body, headers={
        "Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, no-cache",
        "Referrer-Policy": "no-referrer"})
