"""Every page reachable without login carries no resident's name or phone number.

The list of pages is not written here: it is every public GET route of the app's router
(by its access declaration), so a public route added later is covered without touching
this test. Path parameters are tried with every value that could open something real
(item and photo numbers, a receipt code, a site's QR token, a session), and links found in
the public pages are followed too.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import urljoin, urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.accounts.access import access_of
from server.core.db import session_factory
from server.core.keys import ENGINE, SETTINGS
from server.models import Opinion, OpinionPhoto, ProgrammeSession, Question, SiteCode
from tests.board_helpers import INTERNAL, NAME, PHONE, RAW, plant_personal_data, readable
from tests.conftest import MutableClock
from tests.opinion_helpers import local

PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
HREF = re.compile(r'(?:href|src)="([^"#]+)"')
MAX_LINKS = 300
"""Pages reached only by following links, on top of every route's filled-in paths."""
MAX_COMBOS = 200


def public_get_routes(app: web.Application) -> list[str]:
    """The path patterns of every public GET route, as the router has them."""
    out = []
    for route in app.router.routes():
        resource = route.resource
        if (route.method != "GET" or resource is None
                or isinstance(resource, web.StaticResource)):
            continue
        access = access_of(route.handler)
        if access is not None and access.public:
            out.append(resource.canonical)
    return sorted(set(out))


def fill(pattern: str, values: list[str]) -> list[str]:
    names = PARAM.findall(pattern)
    if not names:
        return [pattern]
    paths = []
    for combo in itertools.islice(itertools.product(values, repeat=len(names)), MAX_COMBOS):
        parts = PARAM.split(pattern)[::2]  # the literal text between the parameters
        paths.append("".join(p + v for p, v in zip(parts, [*combo, ""], strict=True)))
    return paths


async def test_no_public_page_shows_a_residents_name_or_phone(
        client: TestClient, clock: MutableClock) -> None:
    app = client.app
    async with session_factory(app[ENGINE])() as db, db.begin():
        planted = await plant_personal_data(db, clock, app[SETTINGS].uploads_dir)
        site_id = (await db.get(Opinion, planted.published)).site_id  # type: ignore[union-attr]
        db.add(SiteCode(site_id=site_id, token="publicpagetesttoken0001", created_at=clock(),
                        retired_at=None, replaced_by_id=None))
    async with session_factory(app[ENGINE])() as db:
        ids = {str(i) for i in await db.scalars(select(Opinion.id))}
        ids |= {str(i) for i in await db.scalars(select(OpinionPhoto.id))}
        ids |= {str(i) for i in await db.scalars(select(Question.id))}
        ids.add(str(await db.scalar(select(ProgrammeSession.id).limit(1))))
        tokens = list(await db.scalars(select(SiteCode.token)))
    clock.now = local(2026, 12, 1)
    values = [*sorted(ids), planted.receipt_code, *tokens, "zh_CN", "2026", "x"]
    patterns = public_get_routes(app)
    # The board and Open311 are public; so is any residents' page added next to them.
    assert {"/board", "/board.json", "/open311/v2/requests.json"} <= set(patterns)
    queue = [path for pattern in patterns for path in fill(pattern, values)]
    routed = set(queue)
    seen: set[str] = set()
    fetched = 0
    while queue and len(seen - routed) < MAX_LINKS:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        resp = await client.get(path, allow_redirects=False)
        assert resp.status < 500, path
        location = resp.headers.get("Location", "")
        body = location
        if resp.content_type.startswith(("text/", "application/json")):
            body += readable(await resp.text(), resp.content_type)
            fetched += 1
        for secret in (PHONE, NAME, RAW, INTERNAL):
            assert secret not in body, (path, secret)
        for link in HREF.findall(body):
            target = urlsplit(urljoin(path, link.replace("&amp;", "&")))
            if target.netloc or target.path.startswith(("/static/", "/logout")):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    assert routed <= seen, "every public route was fetched"
    assert fetched >= len(patterns)
