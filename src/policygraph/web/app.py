"""The web service: SPARQL 1.1 Protocol endpoint, health, service description.

Errors are JSON ``{"error": ..., "detail": ...}`` with the status that says whose fault it is:
400 a bad query or parameter, 403 an update or a SERVICE call that is not allowed, 406 no
acceptable format, 408 a body too slow, 413 a body too large, 415 an unsupported content type,
503/504 the engine is unavailable or the query ran out of time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from policygraph import __version__
from policygraph.web.http_limits import install as install_http_limits
from policygraph.web.logs import RequestLog
from policygraph.store.engines import (
    ClientBusy,
    ClientGone,
    EngineUnavailable,
    Job,
    QueryError,
    QueryMemoryLimit,
    QueryTimeout,
)
from policygraph.store.formats import GRAPH_FORMATS, SOLUTION_FORMATS, NotAcceptable, negotiate
from policygraph.store.query_check import Limits, QueryTooComplex, inspect

TEXT_TYPES = ("text/", "application/sparql-results+xml", "application/sparql-results+json", "application/n-triples",
              "application/ld+json", "application/rdf+xml")


@dataclass
class Settings:
    query_timeout: float = 10.0          # seconds; a request may ask for less, never more
    min_query_timeout: float = 1.0       # seconds; a request asking for less gets this (no pool drain by tiny limits)
    queue_timeout: float = 10.0          # seconds a request waits for a free query worker (then 503)
    max_rows: int = 10_000               # rows (or triples) in one answer
    max_body: int = 1 << 20              # bytes of a POST body
    header_timeout: float = 10.0         # seconds for a request's headers (else 408 and the connection closed)
    body_timeout: float = 30.0           # seconds for a POST body (else 408)
    service_allow: tuple[str, ...] = ()  # endpoint IRI prefixes SERVICE may call; empty: none
    limits: Limits = field(default_factory=Limits)  # query size, nesting and tokens before any parser
    cache_seconds: int = 300
    build_id: str = "dev"                # ties ETags to the dataset's build
    store_description: str = "embedded Oxigraph (in memory)"

    def __post_init__(self):
        """Refuse settings the service cannot honour, naming the setting (the CLI exits 2)."""
        for name in ("query_timeout", "min_query_timeout", "queue_timeout", "header_timeout", "body_timeout"):
            value = getattr(self, name, None)
            if value is not None and not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if self.min_query_timeout > self.query_timeout:
            raise ValueError(f"min_query_timeout ({self.min_query_timeout:g} s) is more than query_timeout "
                             f"({self.query_timeout:g} s)")
        for name in ("max_rows", "max_body"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive whole number, not {getattr(self, name)!r}")
        for prefix in self.service_allow:
            if not prefix.startswith(("http://", "https://")) or len(prefix) < len("http://x"):
                raise ValueError(f"SERVICE allow-list entry {prefix!r} is not an http(s) IRI prefix")


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str = "", headers: dict | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def error_response(status: int, error: str, detail: str = "", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


@dataclass
class SparqlRequest:
    query: str | None
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    formats: tuple[str, ...]   # ?format= (also output=, results=): clients such as SPARQLWrapper send several
    timeout: float | None


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise ApiError(400, "bad request", f"the parameter {name!r} was given {len(values)} times; give it once")
    return values[0] if values else None


def _iris(params: list[tuple[str, str]], name: str) -> tuple[str, ...] | None:
    values = [v for k, v in params if k == name]
    for v in values:
        try:
            ox.NamedNode(v)
        except ValueError as e:
            raise ApiError(400, "bad request", f"{name}: {v!r} is not an absolute IRI ({e})") from None
    return tuple(values) if values else None


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad request", f"{what} is not valid UTF-8 (byte {e.start})") from None


async def _body(request: Request, limit: int, timeout: float = 30.0) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "request body too large", f"{declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):  # a client that sends its body slowly holds no worker for long
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "request body too large", f"more than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, "request timeout", f"the request body did not arrive within {timeout:g} s "
                       f"({size} bytes came)", {"Connection": "close"}) from None
    return b"".join(chunks)


def _params(text: str, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad request", f"{what} has a percent-encoded value that is not valid UTF-8 ({e.reason})") from None


async def parse_request(request: Request, settings: Settings) -> SparqlRequest:
    params = _params(request.url.query, "the URL")
    body_query = None
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await _body(request, settings.max_body, settings.body_timeout)
        if ctype == "application/x-www-form-urlencoded":
            params += _params(_decode(body, "the form body"), "the form body")
        elif ctype == "application/sparql-query":
            body_query = _decode(body, "the query")
        elif ctype == "application/sparql-update":
            raise ApiError(403, "updates are not allowed", "this endpoint is read-only")
        else:
            raise ApiError(415, "unsupported media type",
                           f"{ctype or '(none)'}; POST application/sparql-query or application/x-www-form-urlencoded")
    if any(k in ("update", "using-graph-uri", "using-named-graph-uri") for k, _ in params):
        raise ApiError(403, "updates are not allowed", "this endpoint is read-only")
    query = _one(params, "query")
    if body_query is not None:
        if query is not None:
            raise ApiError(400, "bad request", "a query in the body and a query parameter: give one")
        query = body_query
    raw_timeout, timeout = _one(params, "timeout"), None
    if raw_timeout is not None:
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise ApiError(400, "bad request", f"timeout: {raw_timeout!r} is not a positive number of seconds")
    formats = tuple(v for k, v in params if k in ("format", "output", "results") and v)
    return SparqlRequest(query, _iris(params, "default-graph-uri"), _iris(params, "named-graph-uri"), formats, timeout)


ENGINE_ERRORS = (QueryError, QueryMemoryLimit, QueryTimeout, ClientGone, EngineUnavailable)


def engine_problem(e: Exception) -> tuple[int, str, dict]:
    """The status, error name and headers for an engine's exception: the same on every route."""
    if isinstance(e, QueryError):
        return 400, "bad query", {}
    if isinstance(e, QueryMemoryLimit):
        return 400, "query memory limit", {}
    if isinstance(e, QueryTimeout):
        return 504, "query timeout", {}
    if isinstance(e, ClientGone):
        return 499, "client closed request", {}
    if isinstance(e, ClientBusy):
        return 429, "too many requests", {"Retry-After": "2"}
    return 503, "store unavailable", {"Retry-After": "2"}


def client_of(request: Request) -> str | None:
    """Whose share of the query pool a request counts to: its address (uvicorn puts a trusted
    proxy's X-Forwarded-For there)."""
    return request.client.host if request.client else None


def check_query(query: str, settings: Settings):
    """Refuse, before any engine sees it, what the endpoint never runs: text that could crash or stall
    a parser, updates, pragmas that fetch from the web, and SERVICE to an endpoint not allowed."""
    try:
        info = inspect(query, settings.limits)
    except QueryTooComplex as e:
        raise ApiError(400, "query too complex", str(e)) from None
    if info.is_update:
        raise ApiError(403, "updates are not allowed", "this endpoint is read-only; SPARQL Update is refused")
    if info.form is None:
        raise ApiError(400, "bad query", "no SELECT, ASK, CONSTRUCT or DESCRIBE found")
    if info.pragma:
        raise ApiError(403, "pragma not allowed", f"{info.pragma}: engine pragmas are not SPARQL 1.1 and are refused")
    for target in info.service_iris:
        if not target.startswith(("http://", "https://")) or not target.startswith(settings.service_allow or ("\0",)):
            raise ApiError(403, "SERVICE not allowed",
                           f"SERVICE {target or '(not a literal IRI)'} is not on this server's allow-list"
                           + ("" if settings.service_allow else " (federated queries are disabled)")
                           + ("" if target else "; write the endpoint as a full <IRI> after the keyword SERVICE"))
    return info


SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
[] a sd:Service ;
   sd:endpoint <{endpoint}> ;
   dcterms:title "policygraph SPARQL endpoint" ;
   sd:supportedLanguage sd:SPARQL11Query ;
   sd:feature sd:UnionDefaultGraph ;
   sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON> , <http://www.w3.org/ns/formats/SPARQL_Results_XML> ,
       <http://www.w3.org/ns/formats/SPARQL_Results_CSV> , <http://www.w3.org/ns/formats/SPARQL_Results_TSV> ,
       <http://www.w3.org/ns/formats/Turtle> , <http://www.w3.org/ns/formats/N-Triples> ,
       <http://www.w3.org/ns/formats/JSON-LD> , <http://www.w3.org/ns/formats/RDF_XML> ;
   sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ; void:triples {triples} ] ] .
"""


def _media(fmt_media: str) -> str:
    return f"{fmt_media}; charset=utf-8" if fmt_media.startswith(TEXT_TYPES) else fmt_media


def create_app(engine, settings: Settings | None = None, queries: dict | None = None, dist=None) -> FastAPI:
    """The app over an engine; ``queries`` adds the named-query API, ``dist`` (a build directory)
    the dumps and the dataset's file list. Linked Data pages are always on."""
    settings = settings or Settings()
    app = FastAPI(title="policygraph", version=__version__,
                  description="Japanese SME policy knowledge graph: SPARQL 1.1 endpoint and Linked Data.")
    app.state.engine, app.state.settings = engine, settings
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "X-Result-Truncated", "X-Result-Rows", "Link"])
    install_http_limits(app)  # HEAD as GET, security headers: outside every other layer
    app.add_middleware(RequestLog)  # outermost: one log line per request, whatever answered it

    @app.exception_handler(ApiError)
    async def _api_error(_, e: ApiError):
        return error_response(e.status, e.error, e.detail, e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_, e: StarletteHTTPException):
        return error_response(e.status_code, "not found" if e.status_code == 404 else "http error", str(e.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_, e: RequestValidationError):
        return error_response(400, "bad request", "; ".join(str(x.get("msg")) for x in e.errors()))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):  # a bug of ours: logged, still JSON
        logging.getLogger("policygraph.http").error("unexpected error", exc_info=e, extra={
            "event": "error", "method": request.method, "path": request.url.path})
        return error_response(500, "internal error", f"{type(e).__name__}: {e}")

    @app.get("/health", summary="Liveness, the query pool and the store")
    async def health():
        """``degraded`` while the pool has fewer live workers than configured (one is restarting)."""
        pool = engine.status() if hasattr(engine, "status") else None
        degraded = pool is not None and pool["live"] < pool["configured"]
        return {"status": "degraded" if degraded else "ok", "version": __version__, "store": settings.store_description,
                "triples": getattr(engine, "triples", None), "build": settings.build_id, "workers": pool}

    async def sparql(request: Request):
        req = await parse_request(request, settings)
        vary = {"Vary": "Accept"}
        if req.query is None:
            if request.method == "POST":
                raise ApiError(400, "bad request", "no query given")
            body = SERVICE_DESCRIPTION.format(endpoint=str(request.url_for("sparql")).split("?")[0],
                                              triples=getattr(engine, "triples", 0) or 0)
            return Response(body, media_type="text/turtle; charset=utf-8", headers=vary)
        info = check_query(req.query, settings)
        offered = GRAPH_FORMATS if info.form in ("CONSTRUCT", "DESCRIBE") else SOLUTION_FORMATS
        try:
            fmt = negotiate(offered, request.headers.get("accept"), req.formats)
        except NotAcceptable as e:
            raise ApiError(406, "not acceptable", str(e), vary) from None
        timeout = max(settings.min_query_timeout, min(req.timeout or settings.query_timeout, settings.query_timeout))
        job = Job(req.query, fmt.name, req.default_graphs, req.named_graphs, settings.max_rows)
        etag = '"' + hashlib.sha256(repr((settings.build_id, job)).encode()).hexdigest()[:32] + '"'
        headers = {**vary, "ETag": etag, "Cache-Control": f"public, max-age={settings.cache_seconds}",
                   "X-Query-Timeout": f"{timeout:g}"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        request.state.query_hash = hashlib.sha256(req.query.encode()).hexdigest()[:16]
        try:
            result = await engine.arun(job, timeout, settings.queue_timeout, client=client_of(request),
                                       gone=request.is_disconnected)
        except ENGINE_ERRORS as e:
            status, error, extra = engine_problem(e)
            raise ApiError(status, error, str(e), extra) from None
        if result.truncated:
            headers["X-Result-Truncated"] = f"true; limit={settings.max_rows}"
        if result.rows is not None:
            headers["X-Result-Rows"] = str(result.rows)
        return Response(result.body, media_type=_media(fmt.media_type), headers=headers)

    for method in ("GET", "POST"):
        app.add_api_route("/sparql", sparql, methods=[method], name="sparql", operation_id=f"sparql_{method.lower()}",
                          summary=f"SPARQL 1.1 Protocol endpoint, {method} (read-only)", response_class=Response)

    app.state.queries = queries or {}
    if queries:
        from policygraph.web.named_queries import add_query_routes
        add_query_routes(app, queries)
    from policygraph.web.resources import add_linked_data_routes
    add_linked_data_routes(app, dist)
    return app
