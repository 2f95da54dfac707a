"""The home page and the SPARQL query page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from policygraph.store.named_queries import ParameterError
from policygraph.web.graph import site_of
from policygraph.web.html import render
from policygraph.web.errors import Problem
from policygraph.web.settings import queries_of, settings_of

router = APIRouter(include_in_schema=False)

DUMP_LINKS = ("policygraph.trig", "policygraph.nt", "policygraph.ttl", "policygraph.jsonld")


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", {"dumps": DUMP_LINKS, "endpoint": f"{request.base_url}sparql",
                                         "site": await site_of(request)})


@router.get("/query")
async def query_page(request: Request, query: str | None = None) -> HTMLResponse:
    """The query editor; ``?query=`` opens a query (the page's share link), else the start example."""
    if query is not None and len(query) > settings_of(request).limits.max_chars:
        raise Problem(400, "query too long", f"query: more than {settings_of(request).limits.max_chars:,} characters",
                      parameter="query")
    examples: dict[str, str] = {}
    # the named queries tagged "start" first: the page opens with the first of them
    for name, q in sorted(queries_of(request).items(), key=lambda item: "start" not in item[1].tags):
        try:
            examples[name] = q.bind({}).strip()
        except ParameterError:  # a query that needs a value has no runnable example
            continue
    opened = query or next(iter(examples.values()), "")
    return render(request, "query.html", {"examples": examples, "default_query": opened,
                                          "site": await site_of(request)})
