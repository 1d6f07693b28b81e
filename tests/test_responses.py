"""One mapping from errors to answers per transport (server/edge/responses.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from server.core.errors import Conflict, NotFound, ValidationFailed
from server.edge.responses import (
    INTERNAL,
    DomainErrorResponse,
    Problem,
    json_body,
    problem_of,
    websocket_close,
)
from tests.conftest import AppFactory


def test_every_error_becomes_one_problem() -> None:
    invalid = ValidationFailed("Please correct the marked fields.",
                               field_errors={"day": "This field is required."})
    assert problem_of(invalid) == Problem(422, "invalid", "Please correct the marked fields.",
                                          {}, {"day": "This field is required."})
    assert problem_of(NotFound("Not found.")) == Problem(404, "not_found", "Not found.")
    assert problem_of(DomainErrorResponse(403, "csrf", "x")) == Problem(403, "csrf", "x")
    assert problem_of(web.HTTPNotFound()) == Problem(404, "not_found", "Page not found.")
    assert problem_of(web.HTTPRequestEntityTooLarge(10, 20)).status == 413
    assert problem_of(web.HTTPSeeOther("/login")) is None  # aiohttp sends it as it is
    assert problem_of(KeyError("secret detail")) is INTERNAL
    assert problem_of(ZeroDivisionError()) is INTERNAL


def test_the_websocket_transport_says_it_with_a_close_code() -> None:
    assert websocket_close(problem_of(Conflict("The room is not live."))) == (4409, "conflict")
    assert websocket_close(INTERNAL) == (4500, "internal")


async def test_the_json_transport_translates_message_and_fields(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    client = await aiohttp_client(app_factory())
    request = make_mocked_request("GET", "/api/opinions", app=client.app)
    problem = problem_of(ValidationFailed("Please correct the marked fields.",
                                          field_errors={"day": "This field is required."}))
    assert problem is not None
    response = json_body(request, problem)
    assert response.status == 422
    assert response.body is not None
    body = json.loads(bytes(response.body))  # type: ignore[arg-type]
    assert body["error"]["code"] == "invalid"
    assert body["error"]["fields"] == {"day": "此项为必填项。"}


@pytest.mark.parametrize(("accept", "kind"), [
    ("application/json", "application/json"), ("text/html", "text/html")])
async def test_an_internal_error_tells_nothing_in_either_transport(
    app_factory: AppFactory, aiohttp_client: Callable[..., Awaitable[TestClient]],
    accept: str, kind: str,
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("password=hunter2")

    from server.accounts.access import public
    app = app_factory()
    app.router.add_get("/boom", public(boom))
    client = await aiohttp_client(app)
    response = await client.get("/boom", headers={"Accept": accept})
    assert response.status == 500
    assert response.content_type == kind
    assert "hunter2" not in await response.text()
