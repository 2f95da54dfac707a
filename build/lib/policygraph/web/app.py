"""The web service assembled: middleware, routers, static files and error handlers.

Each concern is a router module: sparql (the SPARQL 1.1 Protocol endpoint, its service description
and /health), named_queries (/queries, /api), resources (/id/… Linked Data), dataset (/dataset,
/dumps), vocabulary (/ontology, /shapes) and pages (home, query page). Routes read the engine and
the settings from ``app.state`` through the dependency functions in settings.py; errors.py turns
every problem into one JSON shape or one HTML error page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from policygraph import __version__
from policygraph.store.engines import Engine
from policygraph.store.named_queries import NamedQuery
from policygraph.web import compare as compare_page
from policygraph.web import search as search_page
from policygraph.web import api_docs, dataset, errors, named_queries, pages, resources, sparql, vocabulary
from policygraph.web.http_limits import install as install_http_limits
from policygraph.web.logs import RequestLog
from policygraph.web.lookups import LookupAnswers
from policygraph.web.response_cache import ResponseCache
from policygraph.web.settings import Settings

__all__ = ["Settings", "create_app"]


def create_app(engine: Engine, settings: Settings | None = None, queries: dict[str, NamedQuery] | None = None,
               dist: Path | None = None) -> FastAPI:
    """The app over an engine; ``queries`` adds the named-query API, ``dist`` (a build directory)
    the dumps and the dataset's file list. Linked Data pages are always on."""
    app = FastAPI(title="policygraph", version=__version__, docs_url=None, redoc_url=None,  # api_docs: offline
                  description="Japanese SME policy knowledge graph: SPARQL 1.1 endpoint and Linked Data.")
    app.state.engine, app.state.settings = engine, settings or Settings()
    app.state.queries, app.state.dist, app.state.site = queries or {}, dist, None
    app.add_middleware(LookupAnswers)  # innermost: what answers before routing gets every other layer's headers
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], expose_headers=["ETag", "X-Result-Truncated", "X-Result-Rows", "Link"])
    install_http_limits(app, api_docs.PATHS)  # HEAD as GET, security headers: outside every other layer
    app.add_middleware(ResponseCache, limit=app.state.settings.response_cache)  # a hit keeps those headers
    app.add_middleware(RequestLog)  # outermost: one log line per request, whatever answered it
    errors.install(app)
    app.include_router(sparql.router)
    if queries:
        app.include_router(named_queries.router_for(queries))
    for module in (resources, dataset, vocabulary, pages, api_docs, compare_page, search_page):
        app.include_router(module.router)
    api_docs.mount_assets(app)
    _document_sparql(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app


def _document_sparql(app: FastAPI) -> None:
    """/sparql is a plain Starlette route (sparql.py says why): its OpenAPI entry is added by hand."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {"/sparql": sparql.OPENAPI, **schema["paths"]}
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
