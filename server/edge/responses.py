"""Errors turned into answers: one function per transport.

Whatever goes wrong in a handler becomes a `Problem` (`problem_of`): a domain error keeps
its status, code, English msgid and field errors; aiohttp's own 404/405/413 get theirs; any
other exception is an internal error whose detail never reaches the client. Then each
transport says it its own way: an HTML page (`html_page`), a JSON body (`json_body`), or
a WebSocket close code and reason (`websocket_close`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from server.core.errors import N_, DomainError
from server.core.requests import wants_json
from web.render import render, translate

# WebSocket close codes 4000-4999 are the application's: 4000 + the HTTP status.
WS_CLOSE_BASE = 4000


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    message: str  # an English msgid, translated for the reader
    params: Mapping[str, object] = field(default_factory=dict)
    field_errors: Mapping[str, str] = field(default_factory=dict)


INTERNAL = Problem(500, "internal", N_("Internal error."))
UNREADABLE = Problem(400, "bad_request", N_("The request could not be read."))


class DomainErrorResponse(Exception):
    """Raised by the edge itself (auth, CSRF); answered like a DomainError."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_HTTP_PROBLEMS = {
    404: Problem(404, "not_found", N_("Page not found.")),
    405: Problem(405, "method_not_allowed", N_("Method not allowed.")),
    413: Problem(413, "too_large", N_("The upload is too large.")),
}


def problem_of(exc: BaseException) -> Problem | None:
    """The problem to tell the client; None for an HTTP answer aiohttp should send as is
    (a redirect, for one)."""
    if isinstance(exc, DomainError):
        return Problem(exc.status, exc.code, exc.message, exc.params, exc.field_errors)
    if isinstance(exc, DomainErrorResponse):
        return Problem(exc.status, exc.code, exc.message)
    if isinstance(exc, web.HTTPException):
        return _HTTP_PROBLEMS.get(exc.status)
    if isinstance(exc, HttpProcessingError):
        # A body that does not parse as HTTP says (a multipart part's header with a NUL, a
        # line past 8 KiB): the sender's fault, whichever handler first read the body.
        return UNREADABLE
    return INTERNAL


def json_body(request: web.Request, problem: Problem) -> web.Response:
    """``{"error": {"code", "message", "fields"?}}`` in the reader's language."""
    error: dict[str, object] = {
        "code": problem.code, "message": translate(request, problem.message, **problem.params)}
    if problem.field_errors:
        error["fields"] = {k: translate(request, v) for k, v in problem.field_errors.items()}
    return web.json_response({"error": error}, status=problem.status)


async def html_page(request: web.Request, problem: Problem) -> web.Response:
    """The error page, in the reader's language."""
    text = translate(request, problem.message, **problem.params)
    return await render(request, "errors/page.html", {"status": problem.status,
                                                      "message": text},
                        status=problem.status)


def websocket_close(problem: Problem) -> tuple[int, str]:
    """The close code (4000 + status) and reason (the problem's code) for an open socket."""
    return WS_CLOSE_BASE + problem.status, problem.code


async def http_answer(request: web.Request, problem: Problem) -> web.Response:
    """JSON for API clients and WebSocket handshakes, the HTML page for everyone else."""
    if wants_json(request):
        return json_body(request, problem)
    return await html_page(request, problem)
