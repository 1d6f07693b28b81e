"""Every route, driven with ids, days and text at the edges: never a 5xx, and a 4xx says why.

The routes come from the app's own router, so a new route is fuzzed without a change here.
Each request goes out as a role the route admits (a public route: as a signed-in host), with
generated values for its path parameters, a query string of the names pages read, and a
form, multipart or JSON body of the fields our forms use. Two parts:

* a sweep: every route once with each class of bad value (deterministic, no Hypothesis);
* a Hypothesis property that mixes them, derandomised so CI sees the same examples.

Not fuzzed: ``/logout`` and ``deactivate`` (they end the sessions the rest uses) and the
static files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.accounts.access import access_of, signed_in
from server.models import Role
from tests.conftest import CSRF_RE, AppFactory, login
from tests.opinion_helpers import png_bytes

ACCOUNTS = {Role.ADMIN: "admin", Role.HOST: "host", Role.SITE: "site01",
            Role.OFFICER: "court", Role.DEPUTY: "deputy1"}

# -- values at the edges ---------------------------------------------------------------

IDS = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "-1", "0", "1", "2", "3",
       str(2**31 - 1),
       "٣", "１", "1e3", "0x10", " 1", "1.0", "", "x" * 300, "\x00", "1\x00", "../", "%00"]
DAYS = ["0001-01-01", "9999-12-31", "2026-02-30", "1969-12-31", "2100-01-01",
        "2026-11-23", "2026-11-30", "٢٠٢٦-١١-٢٣", "2026-W48", "20261123", "2026-11-23T25:00",
        "+002026-11-23", "0000-00-00", "", "\x00"]
YEARS = ["0", "1", "1969", "2026", "2100", "9999", "10000", "-1", "٢٠٢٦", "２０２６",
         "99999999999999999999", ""]
MOMENTS = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
           "2026-11-23T09:00:00+08:00", "2026-11-23T09:00:00", "2026-11-23T09:00:00Z",
           "2026-11-23T09:00:00+24:00", "9999-12-31", "now"]
TEXTS = ["", " ", "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\u202eevil", "\u2066x\u2069",
         "'\"<script>alert(1)</script>", "%s%n%x", "{{ 7*7 }}", "🙂", "名" * 5000,
         "a" * 10_000, "\r\n\r\n", "null", "true", "-1", "../../etc/passwd"]
NUMBERS = ["0", "-1", "1", "10", "99999999999999999999", "1e309", "NaN", "٣", ""]
# Where a parameter's name says what it holds.
QUERY_NAMES = ["id", "day", "date", "year", "month", "session_id", "site_id", "category_id",
               "status", "page", "limit", "offset", "q", "start_date", "end_date", "next",
               "service_request_id", "service_code", "department_id", "deputy_id", "room",
               "scope", "overdue", "kind", "week"]
FORM_NAMES = ["action", "active", "anonymous", "answer_now", "category_id", "complete",
              "contact", "date", "day", "department_id", "deputy_id", "due_on", "flagged",
              "follow_up_department_id", "follow_up_due_on", "follow_up_kind", "into", "kind",
              "label", "name", "next", "next_unit", "note", "open", "other_session_id",
              "outcome", "password", "position", "q", "reason", "resident_name", "session_id",
              "site_id", "source_notice", "status", "summary", "target", "text", "time",
              "token", "unit_id", "user_id", "username", "version", "workdays", "code",
              "display_name", "role", "pattern", "weekday", "nth", "month_day", "title",
              "timezone", "duration_minutes", "cutoff_hours", "weeks_ahead", "unit_kind",
              "holiday_policy", "scope", "target_id", "decision", "room", "is_legal", "year"]
ROOMS = ["street", "legal", "duty-station", "nope", "..", "街道", "a" * 300]
ENTITIES = ["sites", "users", "departments", "deputies", "categories", "nope", "..", ""]
CODES = ["zh_CN", "en", "xx", "../", "\x00"]
PNG = png_bytes()
FILE_NAMES = ["photo.png", "scan.pdf", "a\u202egnp.png", '"quote".png', "../../x.png",
              "x" * 300 + ".png", "名字.png", ""]


def values_for(name: str) -> list[str]:
    """The edge values for a parameter, by what its name says it holds."""
    low = name.lower()
    if low in {"room"}:
        return ROOMS
    if low in {"entity"}:
        return ENTITIES
    if low in {"code"}:
        return CODES
    if "year" in low:
        return YEARS
    if low in {"start_date", "end_date"}:
        return MOMENTS + DAYS
    if "day" in low or "date" in low or low in {"due_on", "month", "week"}:
        return DAYS
    if low.endswith("id") or low in {"ident", "into", "page", "limit", "offset", "version",
                                     "position", "workdays", "service_code"}:
        return IDS + NUMBERS
    return TEXTS + IDS[:6]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the canonical path, {name} or {name:regex}
    roles: tuple[Role, ...]  # who may call it; first the one the sweep uses
    params: tuple[tuple[str, tuple[str, ...] | None], ...]  # name, fixed alternatives

    @property
    def json(self) -> bool:
        return self.path.startswith("/api/")


def routes_of(app: web.Application) -> list[Route]:
    out = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource) \
                or route.method == "HEAD" or resource.canonical == "/logout":
            continue
        access = access_of(route.handler)
        assert access is not None, resource.canonical
        roles = tuple(r for r in ACCOUNTS if access.public or access.admits(r))
        if not roles:
            continue
        params = []
        for match in re.finditer(r"\{([^}:]+)(?::([^}]*))?\}", resource.canonical):
            name, pattern = match.group(1), match.group(2)
            fixed = None
            if pattern and re.fullmatch(r"[a-z-]+(\|[a-z-]+)+", pattern):
                # Alternatives such as activate|deactivate; never one that ends sessions.
                fixed = tuple(a for a in pattern.split("|") if a != "deactivate")
            params.append((name, fixed))
        out.append(Route(route.method, resource.canonical, roles, tuple(params)))
    return sorted(out, key=lambda r: (r.path, r.method))


def concrete(route: Route, chosen: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        return quote(chosen[match.group(1).split(":")[0]], safe="")
    return re.sub(r"\{([^}]+)\}", fill, route.path)


# -- the callers ------------------------------------------------------------------------


@dataclass
class Callers:
    clients: dict[Role, TestClient]
    tokens: dict[Role, str]
    routes: list[Route]


async def callers_of(app: web.Application,
                     aiohttp_client: Callable[..., Awaitable[TestClient]]) -> Callers:
    first = await aiohttp_client(app)
    clients: dict[Role, TestClient] = {}
    tokens: dict[Role, str] = {}
    for role, username in ACCOUNTS.items():
        c = first if not clients else await aiohttp_client(first.server)
        await login(c, username)
        match = CSRF_RE.search(await (await c.get("/")).text())
        assert match
        clients[role], tokens[role] = c, match.group(1)
    return Callers(clients, tokens, routes_of(app))


@pytest.fixture
async def callers(app_factory: AppFactory,
                  aiohttp_client: Callable[..., Awaitable[TestClient]]) -> Callers:
    return await callers_of(app_factory(), aiohttp_client)


@dataclass(frozen=True)
class Call:
    route: Route
    role: Role
    path_values: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    shape: str  # form | multipart | json | raw-json
    files: tuple[str, ...] = ()


def clear(status: int, content_type: str, body: str) -> bool:
    """A 4xx answer says what is wrong: a JSON error with a message, or a page that shows
    one (an error page, a field error, a form-level alert)."""
    if content_type == "application/json":
        data = json.loads(body)
        if isinstance(data, dict):
            error = data.get("error", {})
            return isinstance(error, dict) and bool(error.get("message"))
        return isinstance(data, list) and bool(data) and all(
            isinstance(e, dict) and e.get("description") for e in data)
    if content_type == "text/plain" and status == 400:
        # aiohttp's own answer to a request line or header past 8 KiB, before the app.
        return body.startswith("Got more than 8190 bytes")
    markers = ('data-testid="error-message"', "data-field-error", 'role="alert"',
               'class="error', 'data-testid="login-error"')
    return content_type == "text/html" and any(m in body for m in markers)


async def send(callers: Callers, call: Call) -> tuple[int, str]:
    c = callers.clients[call.role]
    path = concrete(call.route, call.path_values)
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if call.route.method == "POST":
        token = callers.tokens[call.role]
        if call.shape == "json":
            headers = {"X-CSRF-Token": token}
            kwargs["json"] = call.body
        elif call.shape == "raw-json":
            headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
            kwargs["data"] = call.body["raw"]
        elif call.shape == "multipart":
            form = FormData()
            form.add_field("_csrf", token)
            for key, value in call.body.items():
                form.add_field(key, str(value))
            for name in call.files:
                form.add_field("attachments" if "legal" in path else "photos", PNG,
                               filename=name, content_type="image/png")
            kwargs["data"] = form
        else:
            kwargs["data"] = {"_csrf": token, **{k: str(v) for k, v in call.body.items()}}
    resp = await c.request(call.route.method, path, params=call.query, headers=headers,
                           allow_redirects=False, **kwargs)
    body = (await resp.read()).decode("utf-8", "replace")
    where = (f"{call.route.method} {path[:200]} as {call.role.value} "
             f"query={call.query!r:.300} {call.shape}={call.body!r:.600} files={call.files!r}")
    assert resp.status < 500, f"{resp.status} on {where}"
    if 400 <= resp.status < 500:
        assert clear(resp.status, resp.content_type, body), \
            f"{resp.status} without a clear message on {where}: {body[:300]!r}"
    if resp.status == 303 and resp.headers.get("Location", "").startswith("/login"):
        await login(c, ACCOUNTS[call.role])  # a fuzzed value signed us out: sign in again
    return resp.status, where


# -- the sweep: every route with every class of value -------------------------------------


def plain_for(name: str) -> str:
    """A value that names something real, so the sweep gets past the other parameters."""
    values = values_for(name)
    return next((v for v in ("1", "2026-11-23", "2026", "street", "sites", "en")
                 if v in values), "x")


def sweep_calls(route: Route) -> list[Call]:
    """Each route: its path parameters at each edge value (the others kept plausible), then
    one call with every query name and form field set to an edge value. The roles that the
    route admits take turns."""
    role = route.roles[0]
    plain = {name: fixed[0] if fixed else plain_for(name) for name, fixed in route.params}
    calls = []
    for name, fixed in route.params:
        for value in (fixed or values_for(name)[::2]):
            calls.append(Call(route, role, {**plain, name: value}, {}, {}, "form"))
    if not calls:
        calls.append(Call(route, role, plain, {}, {}, "form"))
    for k in (0, 3, 7):
        query = {name: values_for(name)[k % len(values_for(name))] for name in QUERY_NAMES}
        body = {name: values_for(name)[k % len(values_for(name))] for name in FORM_NAMES}
        calls.append(Call(route, role, plain, query, body, "json" if route.json else "form"))
    if route.method == "POST" and not route.json:
        calls.append(Call(route, role, plain, {}, {k: v for k, v in body.items()
                                                   if k not in {"text", "note"}},
                          "multipart", tuple(FILE_NAMES)))
    return [replace(call, role=route.roles[n % len(route.roles)])
            for n, call in enumerate(calls)]


async def test_every_route_survives_the_edge_values(callers: Callers) -> None:
    statuses: dict[int, int] = {}
    for route in callers.routes:
        for call in sweep_calls(route):
            status, _ = await send(callers, call)
            statuses[status] = statuses.get(status, 0) + 1
    # The sweep reached the handlers, not just the router: both refusals and answers.
    assert {200, 404, 422} <= set(statuses), statuses
    assert len(callers.routes) >= 90


async def test_the_sweep_notices_a_500_and_a_bare_4xx(
        app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    """The checks can fail: a route that breaks on a huge id, and one whose 400 says
    nothing, are both caught."""
    app = app_factory()

    @signed_in
    async def breaks(request: web.Request) -> web.Response:
        return web.Response(text="ok" if len(request.match_info["ident"]) < 10 else str(1 / 0))

    @signed_in
    async def mute(request: web.Request) -> web.Response:
        return web.Response(status=400, text="no", content_type="text/html")

    app.router.add_get("/zz/breaks/{ident}", breaks)
    app.router.add_get("/zz/mute", mute)
    callers = await callers_of(app, aiohttp_client)
    by_path = {r.path: r for r in callers.routes}
    huge = next(c for c in sweep_calls(by_path["/zz/breaks/{ident}"])
                if c.path_values["ident"] == IDS[0])
    with pytest.raises(AssertionError, match="500 on GET /zz/breaks/9999"):
        await send(callers, huge)
    with pytest.raises(AssertionError, match="400 without a clear message on GET /zz/mute"):
        await send(callers, sweep_calls(by_path["/zz/mute"])[0])


# -- the property: generated mixes ---------------------------------------------------------

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def json_values(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(values_for(name)),
        st.sampled_from([99999999999999999999, 2**63, 2**31, 2**31 - 1, -1, 0, 1, 1.5, True,
                         None]),
        st.integers(), st.floats(allow_nan=False), SAFE_TEXT,
        st.lists(st.integers(), max_size=2), st.dictionaries(SAFE_TEXT, st.integers(),
                                                             max_size=2))


@st.composite
def calls(draw: st.DrawFn, routes: list[Route]) -> Call:
    route = draw(st.sampled_from(routes))
    role = draw(st.sampled_from(route.roles))
    path_values = {name: draw(st.sampled_from(fixed) if fixed else
                              st.one_of(st.sampled_from(values_for(name)), SAFE_TEXT))
                   for name, fixed in route.params}
    names = draw(st.lists(st.sampled_from(QUERY_NAMES), max_size=4, unique=True))
    query = {n: draw(st.sampled_from(values_for(n)) | SAFE_TEXT) for n in names}
    fields = draw(st.lists(st.sampled_from(FORM_NAMES), max_size=8, unique=True))
    if route.json:
        shape = draw(st.sampled_from(["json", "json", "raw-json"]))
    else:
        shape = draw(st.sampled_from(["form", "form", "multipart"]))
    files: tuple[str, ...] = ()
    if shape == "json":
        body = {n: draw(json_values(n)) for n in fields}
    elif shape == "raw-json":
        depth = draw(st.integers(1, 100_000))
        body = {"raw": draw(st.sampled_from(["[" * depth + "]" * depth, "{", '{"a":}',
                                              '{"text": "\\ud800"}', "1" * 5000, "{}"]))}
    else:
        body = {n: draw(st.sampled_from(values_for(n)) | SAFE_TEXT) for n in fields}
        if shape == "multipart":
            files = tuple(draw(st.lists(st.sampled_from(FILE_NAMES), max_size=2)))
    return Call(route, role, path_values, query, body, shape, files)


@settings(max_examples=150, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_generated_requests_never_fail_the_server(callers: Callers,
                                                        data: st.DataObject) -> None:
    """One request per example; the app and its database carry over between examples,
    so later requests meet what earlier ones created."""
    await send(callers, data.draw(calls(callers.routes)))
