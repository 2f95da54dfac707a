"""The SPARQL 1.1 Protocol endpoint (/sparql, read-only), its service description, and /health.

A request is parsed and checked before any engine sees it: the check refuses text that could crash
or stall a parser, updates, pragmas that fetch from the web, and SERVICE to an endpoint not allowed.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.routing import Route

from policygraph import __version__
from policygraph.store.engines import Engine, Job, Result
from policygraph.store.formats import GRAPH_FORMATS, SOLUTION_FORMATS, NotAcceptable, negotiate
from policygraph.store.query_check import READ_ONLY, Inspection, Refused, check
from policygraph.web.errors import Problem
from policygraph.web.settings import Settings, client_of, engine_of, settings_of

router = APIRouter()

TEXT_TYPES = ("text/", "application/sparql-results+xml", "application/sparql-results+json", "application/n-triples",
              "application/ld+json", "application/rdf+xml")
SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
[] a sd:Service ;
   sd:endpoint <{endpoint}> ;
   dcterms:title "policygraph SPARQL endpoint" ;
   sd:supportedLanguage sd:SPARQL11Query ;
   sd:feature sd:UnionDefaultGraph ;
   sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON> ,
       <http://www.w3.org/ns/formats/SPARQL_Results_XML> , <http://www.w3.org/ns/formats/SPARQL_Results_CSV> ,
       <http://www.w3.org/ns/formats/SPARQL_Results_TSV> ,
       <http://www.w3.org/ns/formats/Turtle> , <http://www.w3.org/ns/formats/N-Triples> ,
       <http://www.w3.org/ns/formats/JSON-LD> , <http://www.w3.org/ns/formats/RDF_XML> ;
   sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ; void:triples {triples} ] ] .
"""


def bad_request(detail: str) -> Problem:
    return Problem(400, "bad request", detail)


@dataclass
class SparqlRequest:
    query: str | None
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    formats: tuple[str, ...]   # ?format= (also output=, results=): clients such as SPARQLWrapper send several
    timeout: float | None
    download: bool = False     # ?download=1: a file to save (and, for CSV/TSV, a BOM so Excel reads UTF-8)


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise bad_request(f"the parameter {name!r} was given {len(values)} times; give it once")
    return values[0] if values else None


def _iris(params: list[tuple[str, str]], name: str) -> tuple[str, ...] | None:
    values = [v for k, v in params if k == name]
    for v in values:
        try:
            ox.NamedNode(v)
        except ValueError as e:
            raise bad_request(f"{name}: {v!r} is not an absolute IRI ({e})") from None
    return tuple(values) if values else None


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad_request(f"{what} is not valid UTF-8 (byte {e.start})") from None


async def _body(request: Request, limit: int, timeout: float = 30.0) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "request body too large", f"{declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    # from the first read of the body, whoever began it (lookups.py reads small bodies before routing)
    deadline = request.scope.get("state", {}).get("body_deadline") or asyncio.get_running_loop().time() + timeout
    try:
        async with asyncio.timeout_at(deadline):  # a client that sends its body slowly holds no worker for long
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, "request body too large", f"more than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise Problem(408, "request timeout", f"the request body did not arrive within {timeout:g} s "
                      f"({size} bytes came)", {"Connection": "close"}) from None
    return b"".join(chunks)


def _params(text: str, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise bad_request(f"{what} has a percent-encoded value that is not valid UTF-8 ({e.reason})") from None


async def _posted(request: Request, settings: Settings, params: list[tuple[str, str]]) -> str | None:
    """A POST's body: form parameters (added to ``params``) or the query itself."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _body(request, settings.max_body, settings.body_timeout)
    if ctype == "application/x-www-form-urlencoded":
        params += _params(_decode(body, "the form body"), "the form body")
        return None
    if ctype == "application/sparql-query":
        return _decode(body, "the query")
    if ctype == "application/sparql-update":
        raise Problem(403, "updates are not allowed", READ_ONLY)
    raise Problem(415, "unsupported media type",
                  f"{ctype or '(none)'}; POST application/sparql-query or application/x-www-form-urlencoded")


_EXTENSIONS = {"json": "srj", "xml": "srx", "csv": "csv", "tsv": "tsv", "turtle": "ttl", "ntriples": "nt",
               "jsonld": "jsonld", "rdfxml": "rdf"}


def _download(raw: str | None) -> bool:
    if raw not in (None, "1", "0"):
        raise bad_request(f"download: {raw!r} is not 1 or 0")
    return raw == "1"


def _timeout(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        timeout = float(raw)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and timeout > 0):
        raise bad_request(f"timeout: {raw!r} is not a positive number of seconds")
    return timeout


async def parse_request(request: Request, settings: Settings) -> SparqlRequest:
    params = _params(request.scope["query_string"].decode("latin-1"), "the URL")  # request.url builds a URL object
    body_query = await _posted(request, settings, params) if request.method == "POST" else None
    if any(k in ("update", "using-graph-uri", "using-named-graph-uri") for k, _ in params):
        raise Problem(403, "updates are not allowed", READ_ONLY)
    query = _one(params, "query")
    if body_query is not None:
        if query is not None:
            raise bad_request("a query in the body and a query parameter: give one")
        query = body_query
    formats = tuple(v for k, v in params if k in ("format", "output", "results") and v)
    return SparqlRequest(query, _iris(params, "default-graph-uri"), _iris(params, "named-graph-uri"), formats,
                         _timeout(_one(params, "timeout")), _download(_one(params, "download")))


def check_query(query: str, settings: Settings) -> Inspection:
    """The request check (query_check.check), its refusal as the HTTP problem it is."""
    try:
        return check(query, settings.limits, settings.service_allow)
    except Refused as e:
        raise Problem(e.status, e.error, e.detail) from None


def answer_headers(settings: Settings, job: Job, timeout: float, download: bool) -> dict[str, str]:
    """The headers of every answer to ``job`` (also the 304's), whoever runs it. The ETag is weak: a
    lookup answered in process (lookups.py) and the same query run by a worker give the same rows,
    but without ORDER BY not always in the same order."""
    etag = 'W/"' + hashlib.sha256(repr((settings.build_id, job, download)).encode()).hexdigest()[:32] + '"'
    return {"Vary": "Accept", "ETag": etag, "Cache-Control": f"public, max-age={settings.cache_seconds}",
            "X-Query-Timeout": f"{timeout:g}"}


def result_headers(result: Result, settings: Settings) -> dict[str, str]:
    headers = {"X-Result-Truncated": f"true; limit={settings.max_rows}"} if result.truncated else {}
    if result.rows is not None:
        headers["X-Result-Rows"] = str(result.rows)
    return headers


def query_hash(query: str) -> str:
    """The query's name in the request log."""
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def media(fmt_media: str) -> str:
    return f"{fmt_media}; charset=utf-8" if fmt_media.startswith(TEXT_TYPES) else fmt_media


async def sparql(request: Request) -> Response:
    # the app's engine and settings read directly: FastAPI runs a plain-function dependency in a
    # thread, two hops that cost more than a small query (benchmarks/overhead.py)
    engine, settings = engine_of(request), settings_of(request)
    req = await parse_request(request, settings)
    vary = {"Vary": "Accept"}
    if req.query is None:
        if request.method == "POST":
            raise bad_request("no query given")
        body = SERVICE_DESCRIPTION.format(endpoint=str(request.url_for("sparql")).split("?")[0],
                                          triples=engine.triples or 0)
        return Response(body, media_type="text/turtle; charset=utf-8", headers=vary)
    seen = request.scope.get("state", {}).get("inspection")  # lookups.py checked this text already
    info = seen[1] if seen is not None and seen[0] == req.query else check_query(req.query, settings)
    offered = GRAPH_FORMATS if info.form in ("CONSTRUCT", "DESCRIBE") else SOLUTION_FORMATS
    try:
        fmt = negotiate(offered, request.headers.get("accept"), req.formats)
    except NotAcceptable as e:
        raise Problem(406, "not acceptable", str(e), vary) from None
    timeout = max(settings.min_query_timeout, min(req.timeout or settings.query_timeout, settings.query_timeout))
    job = Job(req.query, fmt.name, req.default_graphs, req.named_graphs, settings.max_rows, info.lookup)
    headers = answer_headers(settings, job, timeout, req.download)
    if headers["ETag"] in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    request.state.query_hash = query_hash(req.query)
    result = await engine.arun(job, timeout, settings.queue_timeout, client=client_of(request),
                               gone=request.is_disconnected)
    headers.update(result_headers(result, settings))
    answer = result.body
    if req.download:
        headers["Content-Disposition"] = f'attachment; filename="query-results.{_EXTENSIONS[fmt.name]}"'
        if fmt.name in ("csv", "tsv"):  # spreadsheets read UTF-8 only after a byte order mark
            answer = b"\xef\xbb\xbf" + answer
    return Response(answer, media_type=media(fmt.media_type), headers=headers)


# A plain Starlette route: FastAPI's request handling (dependency solving, validation) cost 60 µs a
# request, as much as a small query's run (benchmarks/overhead.py). OPENAPI documents it instead.
router.routes.append(Route("/sparql", sparql, methods=["GET", "POST"], name="sparql"))
_PARAMETERS = [
    {"name": "query", "in": "query", "schema": {"type": "string"}, "description": "SPARQL 1.1 query (read-only)"},
    {"name": "default-graph-uri", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
     "description": "graphs that form the default graph (default: the union of all graphs)"},
    {"name": "named-graph-uri", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "format", "in": "query", "schema": {"type": "string"},
     "description": "json, xml, csv, tsv (solutions); turtle, ntriples, jsonld, rdfxml (graphs); overrides Accept"},
    {"name": "timeout", "in": "query", "schema": {"type": "number"},
     "description": "seconds the query may run (at most the server's limit)"},
    {"name": "download", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
     "description": "1: an attachment to save (CSV/TSV with a byte order mark)"},
]
_ANSWERS = {"200": {"description": "the answer in the negotiated format"},
            "400": {"description": "a malformed request or query, named in the detail"},
            "403": {"description": "an update, a pragma or a SERVICE not allowed"},
            "406": {"description": "no format offered matches Accept"},
            "503": {"description": "all query workers busy"}, "504": {"description": "the query ran out of time"}}
OPENAPI = {
    "get": {"summary": "SPARQL 1.1 Protocol endpoint, GET (read-only)", "operationId": "sparql_get",
            "parameters": _PARAMETERS, "responses": _ANSWERS},
    "post": {"summary": "SPARQL 1.1 Protocol endpoint, POST (read-only)", "operationId": "sparql_post",
             "parameters": _PARAMETERS[1:], "responses": _ANSWERS,
             "requestBody": {"content": {
                 "application/x-www-form-urlencoded": {"schema": {"type": "object",
                                                                  "properties": {"query": {"type": "string"}}}},
                 "application/sparql-query": {"schema": {"type": "string"}}}}},
}


@router.get("/health", summary="Liveness, the query pool and the store")
async def health(engine: Annotated[Engine, Depends(engine_of)],
                 settings: Annotated[Settings, Depends(settings_of)]) -> dict[str, Any]:
    """``degraded`` while the pool has fewer live workers than configured (one is restarting)."""
    pool = engine.status()
    degraded = pool is not None and pool["live"] < pool["configured"]
    return {"status": "degraded" if degraded else "ok", "version": __version__, "store": settings.store_description,
            "triples": engine.triples, "build": settings.build_id, "workers": pool}
