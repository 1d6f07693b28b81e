"""Security headers on every answer, and templates that the Content-Security-Policy lets run.

Every GET route is fetched by every role (the table from tests/test_access.py): pages,
JSON, files, errors, redirects and the static files all carry the same policy, and what
a signed-in user sees is never stored by the browser.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.accounts.access import access_of, public
from server.edge.headers import content_security_policy
from server.models import Role
from tests.conftest import AppFactory, login
from tests.test_access import ACCOUNTS, route_table

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "web" / "templates"
STATIC_JS = ROOT / "web" / "static" / "js"
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
Clients = dict[Role | None, TestClient]


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = sources
    return parsed


def test_the_policy_says_what_the_pages_need_and_nothing_more() -> None:
    assert directives(content_security_policy("yizhan.example:8443")) == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "connect-src": ["'self'", "ws://yizhan.example:8443", "wss://yizhan.example:8443"],
    }
    assert directives(content_security_policy("[::1]:8080"))["connect-src"] == [
        "'self'", "ws://[::1]:8080", "wss://[::1]:8080"]


@pytest.mark.parametrize("host", [
    None, "", "evil.example; script-src *", "a b", "host:99999999", "x'y", "h\r\nX: y"])
def test_a_strange_host_header_never_reaches_the_policy(host: str | None) -> None:
    assert directives(content_security_policy(host))["connect-src"] == ["'self'"]


def check_headers(resp: aiohttp.ClientResponse, where: str, *, store: bool = False) -> None:
    host = resp.url.host if resp.url.port is None else f"{resp.url.host}:{resp.url.port}"
    assert resp.headers.get("Content-Security-Policy") == content_security_policy(host), where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("X-Frame-Options") == "DENY", where
    # The calendar feed chooses a stricter policy than same-origin.
    assert resp.headers.get("Referrer-Policy") in {"same-origin", "no-referrer"}, where
    if not store:
        assert "no-store" in resp.headers.get("Cache-Control", ""), where


async def clients_by_role(
    app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> Clients:
    first = await aiohttp_client(app)
    clients: Clients = {None: first}
    for role, username in ACCOUNTS.items():
        c = await aiohttp_client(first.server)
        await login(c, username)
        clients[role] = c
    return clients


@SQLITE
async def test_every_get_route_answers_every_role_with_the_headers(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()
    clients = await clients_by_role(app, aiohttp_client)
    shown = redirected = 0
    for method, path, route in route_table(app):
        if method != "GET":
            continue
        access = access_of(route.handler)
        assert access is not None
        for role, c in clients.items():
            resp = await c.get(path, allow_redirects=False)
            await resp.read()
            where = f"GET {path} as {role}: {resp.status}"
            kind = resp.content_type
            # Files a signed-in user opened (photos, attachments) may keep a private cache;
            # pages, JSON and exports may not.
            check_headers(resp, where, store=kind.startswith(("image/", "application/pdf")))
            if role is not None and (access.public or access.admits(role)) and resp.status == 200:
                shown += 1
            redirected += resp.status in (302, 303)
    assert shown >= 140 and redirected >= 30, (shown, redirected)


@SQLITE
async def test_static_files_stay_cacheable_and_carry_the_headers(client: TestClient) -> None:
    static = client.app.router["static"]
    for name in ("css/app.css", "js/room.js", "js/print.js", "css/queue-panel.css"):
        url = str(static.url_for(filename=name))
        assert "?v=" in url
        resp = await client.get(url)
        assert resp.status == 200, name
        check_headers(resp, name, store=True)
        assert "Cache-Control" not in resp.headers, name
        again = await client.get(url, headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status == 304, name
        check_headers(again, name, store=True)
    missing = await client.get("/static/css/nothing.css")
    assert missing.status == 404
    check_headers(missing, "missing static file")


@SQLITE
async def test_errors_and_redirects_carry_the_headers(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()

    @public
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    @public
    async def raised_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/login")

    app.router.add_get("/boom", boom)
    app.router.add_get("/raised-redirect", raised_redirect)
    anonymous = await aiohttp_client(app)
    answers = {
        "/no/such/page": 404, "/boom": 500, "/raised-redirect": 302, "/rooms": 303,
        "/api/opinions": 401,
    }
    for path, status in answers.items():
        resp = await anonymous.get(path, allow_redirects=False)
        assert resp.status == status, path
        check_headers(resp, path)
    assert (await anonymous.get("/rooms", allow_redirects=False)).headers["Location"] == (
        "/login?next=/rooms")
    json_404 = await anonymous.get("/no/such", headers={"Accept": "application/json"})
    assert json_404.status == 404 and json_404.content_type == "application/json"
    check_headers(json_404, "JSON 404")
    forged = await anonymous.post("/login", data={"username": "admin", "_csrf": "forged"})
    assert forged.status == 403
    check_headers(forged, "CSRF refusal")
    head = await anonymous.head("/login")
    assert head.status == 200
    check_headers(head, "HEAD /login")

    site = await aiohttp_client(anonymous.server)
    await login(site, "site01")
    forbidden = await site.get("/admin/users")
    assert forbidden.status == 403
    check_headers(forbidden, "403 page")
    page = await site.get("/")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"


@SQLITE
async def test_a_handler_that_chose_its_own_header_keeps_it(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    app = app_factory()

    @public
    async def own(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Referrer-Policy": "no-referrer",
                                               "Cache-Control": "private, max-age=60"})

    app.router.add_get("/own", own)
    c = await aiohttp_client(app)
    resp = await c.get("/own")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "private, max-age=60"
    assert resp.headers["X-Frame-Options"] == "DENY"


@SQLITE
async def test_the_room_websocket_still_upgrades(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    c = await aiohttp_client(app_factory())
    await login(c, "host")
    origin = str(c.make_url("")).rstrip("/")
    ws = await c.ws_connect("/rooms/street/ws", headers={"Origin": origin})
    try:
        assert ws._response.status == 101
        check_headers(ws._response, "WebSocket upgrade")
        await ws.send_json({"type": "no-such-message"})
        answer = await ws.receive_json(timeout=10)
        assert (answer["type"], answer["code"]) == ("error", "protocol-error")
    finally:
        await ws.close()


# --- templates: nothing inline for the policy to block ----------------------------------

_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineFinder(HTMLParser):
    """Inline scripts, <style> blocks, style=, on*= handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        line = self.getpos()[0]
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"line {line}: <{tag} {name}=>")
            if name == "style":
                self.found.append(f"line {line}: <{tag} style=>")
            if value and value.strip().lower().replace("\t", "").startswith("javascript:"):
                self.found.append(f"line {line}: <{tag} {name}=javascript:>")
        if tag == "style":
            self.found.append(f"line {line}: <style>")
        if tag == "script":
            kind = (values.get("type") or "").strip().lower()
            if "src" not in values and kind not in _DATA_SCRIPT_TYPES:
                self._script = f"line {line}: inline <script>"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.found.append(self._script)
            self._script = None


def inline_code(template: str) -> list[str]:
    """Jinja tags become blanks (same lines), so `{% if on %}` is not an attribute."""
    finder = InlineFinder()
    finder.feed(_JINJA.sub(lambda m: "\n" * m.group(0).count("\n") + " ", template))
    finder.close()
    return finder.found


@pytest.mark.parametrize("snippet", [
    "<script>alert(1)</script>",
    "<script type='module'>x()</script>",
    '<button type="button" onclick="window.print()">',
    '<body onload="go()">',
    '<a href="javascript:go()">x</a>',
    '<a href=" JavaScript:go()">x</a>',
    '<input style="width: 5rem">',
    "<style>p{}</style>",
    '<div {% if x %}onclick="y()"{% endif %}>',
])
def test_the_finder_sees_inline_code(snippet: str) -> None:
    assert inline_code(snippet)


def test_the_finder_lets_external_and_data_scripts_pass() -> None:
    assert inline_code(
        '<script src="{{ static(\'js/room.js\') }}" defer></script>'
        '<script type="application/json" id="c">{{ config | tojson }}</script>'
        '<a href="/x"{% if online %} aria-current="page"{% endif %} data-on="1">x</a>') == []


def test_no_template_holds_inline_code() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) >= 30
    found = {str(p.relative_to(TEMPLATES)): inline_code(p.read_text()) for p in templates}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_no_script_writes_what_the_policy_blocks() -> None:
    """Scripts style through element.style (the CSSOM, allowed), never a <style> they write."""
    banned = re.compile(
        r"""createElement\(\s*["']style|\.innerHTML\s*=|insertAdjacentHTML|\beval\(|"""
        r"""new\s+Function\(|setAttribute\(\s*["'](on|style)|javascript:""")
    scripts = sorted(STATIC_JS.glob("*.js"))
    assert {p.name for p in scripts} >= {"room.js", "queue.js", "print.js"}
    assert {p.name: banned.findall(p.read_text()) for p in scripts
            if banned.search(p.read_text())} == {}

