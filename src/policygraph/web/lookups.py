"""Lookups answered before routing: a /sparql request whose query the engine answers at once.

The /sparql route costs about 0.8 ms a request on top of uvicorn's own (parsing through Starlette's
Request, routing, the handler; benchmarks/overhead.py), more than a lookup itself. This middleware,
inside the ones that log, cache and add security and CORS headers, answers a plain request — GET
with ``query`` (and at most one ``format``) in the URL, or a small POST of a form with those or of
``application/sparql-query``; no conditional request — when the query passes the request check and
the engine answers it at once (store/lookups.py), with the headers the route would send. Anything
else, including every error, goes on to the route (a POST's body replayed to it), which says what is
wrong.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policygraph.store.engines import TIMING, Job, Result
from policygraph.store.formats import GRAPH_FORMATS, SOLUTION_FORMATS, Format, NotAcceptable, negotiate
from policygraph.store.query_check import Refused, check
from policygraph.web.settings import Settings
from policygraph.web.sparql import answer_headers, media, query_hash, result_headers

PLAIN = ({"query"}, {"query", "format"})
SMALL_BODY = 16 * 1024  # bytes of a POST read here; a lookup is far shorter, a larger body goes to the route
FORM, SPARQL = "application/x-www-form-urlencoded", "application/sparql-query"


class LookupAnswers:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/sparql" and scope["method"] in ("GET", "POST"):
            head = _head(scope)
            if head is not None:
                body: bytes | None = b""
                if scope["method"] == "POST":
                    body, receive = await _small_body(scope, receive)
                answered = None if body is None else _answer(scope, head, body)
                if answered is not None:
                    fmt, headers, result = answered
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-length", str(len(result.body)).encode()),
                        (b"content-type", media(fmt.media_type).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in headers.items())]})
                    await send({"type": "http.response.body", "body": result.body})
                    return
        await self.app(scope, receive, send)


def _head(scope: Scope) -> tuple[str | None, str] | None:
    """(Accept, content type) of a request the fast path may answer: no conditions; a POST of a small
    form or query."""
    accept, ctype, length = None, "", None
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value.decode("latin-1")
        elif name == b"content-type":
            ctype = value.decode("latin-1").split(";")[0].strip().lower()
        elif name == b"content-length":
            length = value
        elif name in (b"if-none-match", b"if-modified-since"):
            return None
    if scope["method"] == "POST" and not (ctype in (FORM, SPARQL) and length is not None and length.isdigit()
                                          and int(length) <= SMALL_BODY):
        return None
    return accept, ctype


async def _small_body(scope: Scope, receive: Receive) -> tuple[bytes | None, Receive]:
    """The body (at most SMALL_BODY bytes, as declared; None if it did not come within the body
    timeout) and a receive that gives the route the same messages again. The deadline is left in
    the request's state: the route's own wait for the rest ends at the same time (sparql._body)."""
    settings: Settings = scope["app"].state.settings
    deadline = asyncio.get_running_loop().time() + settings.body_timeout
    scope.setdefault("state", {})["body_deadline"] = deadline
    messages: list[Message] = []
    body: bytes | None = None
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        body = b"".join(m.get("body", b"") for m in messages) if messages[-1]["type"] == "http.request" else b""
    except TimeoutError:
        pass

    async def again() -> Message:
        return messages.pop(0) if messages else await receive()
    return body, again


def _request(scope: Scope, ctype: str, body: bytes) -> tuple[str, tuple[str, ...]] | None:
    """(query, formats) of a plain request: ``query`` and at most one ``format``, each given once."""
    try:
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True, errors="strict")
        if ctype == FORM:
            params += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        elif ctype == SPARQL:
            params.append(("query", body.decode("utf-8")))
    except UnicodeDecodeError:
        return None
    names = {k for k, _ in params}
    if len(names) != len(params) or names not in PLAIN:
        return None
    return dict(params)["query"], tuple(v for k, v in params if k == "format" and v)


def _answer(scope: Scope, head: tuple[str | None, str], body: bytes) -> tuple[Format, dict[str, str], Result] | None:
    accept, ctype = head
    if (plain := _request(scope, ctype if scope["method"] == "POST" else "", body)) is None:
        return None
    query, formats = plain
    app = scope["app"]
    settings: Settings = app.state.settings
    try:
        info = check(query, settings.limits, settings.service_allow)
        scope.setdefault("state", {})["inspection"] = (query, info)  # the route need not check it again
        fmt = negotiate(GRAPH_FORMATS if info.form in ("CONSTRUCT", "DESCRIBE") else SOLUTION_FORMATS, accept, formats)
    except (Refused, NotAcceptable):
        return None
    if not info.lookup:
        return None
    job = Job(query, fmt.name, None, None, settings.max_rows, lookup=True)
    started = time.perf_counter()
    result = app.state.engine.answer_now(job)
    if result is None:
        return None
    TIMING.set({"query": (time.perf_counter() - started) * 1000})
    scope.setdefault("state", {})["query_hash"] = query_hash(query)
    headers = answer_headers(settings, job, settings.query_timeout, False)
    headers.update(result_headers(result, settings))
    return fmt, headers, result
