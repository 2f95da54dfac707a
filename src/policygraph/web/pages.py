"""The home page and the SPARQL query page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from policygraph.store.named_queries import ParameterError
from policygraph.web.graph import site_of
from policygraph.web.html import render
from policygraph.web.settings import queries_of

router = APIRouter(include_in_schema=False)

DUMP_LINKS = ("policygraph.trig", "policygraph.nt", "policygraph.ttl", "policygraph.jsonld")
# The query page's first example: a project's sub-projects by draft budget (any query runs; this one shows a table)
DEFAULT_QUERY = """PREFIX pg: <https://w3id.org/policygraph/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?name ?amount WHERE {
  ?p pg:componentOf <https://w3id.org/policygraph/id/prefectural-project/20/070201> ; rdfs:label ?name .
  ?o pg:program ?p ; pg:fiscalYear <https://w3id.org/policygraph/id/fiscal-year/2025> ;
     pg:budgetStage <https://w3id.org/policygraph/id/code/budget-stage/draft> ; pg:amount ?amount .
  FILTER(lang(?name) = "ja")
} ORDER BY DESC(?amount)"""


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", {"dumps": DUMP_LINKS, "endpoint": f"{request.base_url}sparql",
                                         "site": await site_of(request)})


@router.get("/query")
async def query_page(request: Request) -> HTMLResponse:
    examples = {"default": DEFAULT_QUERY}
    for name, q in queries_of(request).items():
        try:
            examples[name] = q.bind({}).strip()
        except ParameterError:  # a query that needs a value has no runnable example
            continue
    return render(request, "query.html", {"examples": examples, "default_query": DEFAULT_QUERY,
                                          "site": await site_of(request)})
