"""One error model for every route: a ``Problem`` raised anywhere becomes one answer.

The answer is JSON ``{"error": ..., "detail": ...}`` (plus ``"parameter"`` when one parameter is at
fault), or the error page (templates/error.html) when the client prefers HTML, as a browser does.

The status says whose fault it is, and is the same for the same cause on every route:
400 a bad query or parameter (422 for a named query's parameter, as its OpenAPI document says),
403 an update or a SERVICE call that is not allowed, 404 nothing there, 406 no acceptable format,
408 a body too slow, 413 a body too large, 415 an unsupported content type, 429 this client holds
its share of the query workers, 503 the store is unavailable or busy, 504 the query ran out of time.

Engine exceptions map to a status in ``engine_problem`` alone, raised from wherever they happen:
a ``QueryError`` (the engine refused the query text) is 400 on /sparql, on named queries and on
pages alike. On /sparql the query is the client's; elsewhere it is built from the client's path and
parameters, which are checked first, so it is rare there, and reported the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from policygraph.store.engines import (
    ClientBusy,
    ClientGone,
    EngineUnavailable,
    QueryError,
    QueryMemoryLimit,
    QueryTimeout,
)
from policygraph.store.formats import parse_accept
from policygraph.web.graph import cached_site
from policygraph.web.html import render

ENGINE_ERRORS = (QueryError, QueryMemoryLimit, QueryTimeout, ClientGone, EngineUnavailable)
RETRY_LATER = {"Retry-After": "2"}
HTML_TYPES = ("text/html", "application/xhtml+xml")
log = logging.getLogger("policygraph.http")


class Problem(Exception):
    """An HTTP problem: its status, a short error name, a detail for people, extra headers, and the
    parameter at fault if there is one."""

    def __init__(self, status: int, error: str, detail: str = "", headers: Mapping[str, str] | None = None,
                 parameter: str | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.headers, self.parameter = dict(headers or {}), parameter


def engine_problem(e: Exception) -> Problem:
    """The problem an engine's exception means, the same on every route."""
    if isinstance(e, QueryError):
        return Problem(400, "bad query", str(e))
    if isinstance(e, QueryMemoryLimit):
        return Problem(400, "query memory limit", str(e))
    if isinstance(e, QueryTimeout):
        return Problem(504, "query timeout", str(e))
    if isinstance(e, ClientGone):
        return Problem(499, "client closed request", str(e))
    if isinstance(e, ClientBusy):
        return Problem(429, "too many requests", str(e), RETRY_LATER)
    return Problem(503, "store unavailable", str(e), RETRY_LATER)


def prefers_html(request: Request) -> bool:
    """Whether the client ranks HTML first in its Accept header (a browser does; curl, httpx and
    SPARQL clients do not)."""
    ranges = parse_accept(request.headers.get("accept"))
    return bool(ranges) and ranges[0][0] in HTML_TYPES and ranges[0][1] > 0


def problem_response(request: Request, p: Problem) -> Response:
    headers = dict(p.headers)
    if p.status in (429, 503):
        headers.setdefault("Retry-After", RETRY_LATER["Retry-After"])
    if prefers_html(request):
        context = {"problem": p, "site": cached_site(request)}
        return render(request, "error.html", context, status=p.status, headers=headers)
    body = {"error": p.error, "detail": p.detail} | ({"parameter": p.parameter} if p.parameter else {})
    return JSONResponse(body, status_code=p.status, headers=headers)


async def _problem(request: Request, e: Exception) -> Response:
    assert isinstance(e, Problem)
    return problem_response(request, e)


async def _engine_error(request: Request, e: Exception) -> Response:
    return problem_response(request, engine_problem(e))


async def _http_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, StarletteHTTPException)
    try:
        error = HTTPStatus(e.status_code).phrase.lower()
    except ValueError:
        error = "http error"
    return problem_response(request, Problem(e.status_code, error, str(e.detail), e.headers))


async def _validation_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, RequestValidationError)
    detail = "; ".join(str(x.get("msg")) for x in e.errors())
    return problem_response(request, Problem(400, "bad request", detail))


async def _unexpected(request: Request, e: Exception) -> Response:
    """A bug of ours: logged with its traceback, answered like every other problem."""
    log.error("unexpected error", exc_info=e, extra={"event": "error", "method": request.method,
                                                     "path": request.url.path})
    return problem_response(request, Problem(500, "internal error", f"{type(e).__name__}: {e}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    for cls in ENGINE_ERRORS:
        app.add_exception_handler(cls, _engine_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
