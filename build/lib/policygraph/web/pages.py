"""The home page and the SPARQL query page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from policygraph.store.named_queries import ParameterError
from policygraph.transform import ids
from policygraph.web.graph import select, site_of
from policygraph.web.html import T, lang_of, render, translate
from policygraph.web.errors import Problem
from policygraph.web.settings import queries_of, settings_of

router = APIRouter(include_in_schema=False)

DUMP_LINKS = ("policygraph.trig", "policygraph.nt", "policygraph.ttl", "policygraph.jsonld")


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", {"dumps": DUMP_LINKS, "endpoint": f"{request.base_url}sparql",
                                         "site": await site_of(request)})


# Prefix completion in the editor: the dataset's own prefixes, then common vocabularies (all offline).
EDITOR_PREFIXES = {**{name: str(ns) for name, ns in ids.PREFIXES.items()},
                   "sh": "http://www.w3.org/ns/shacl#", "foaf": "http://xmlns.com/foaf/0.1/",
                   "schema": "https://schema.org/"}
# Classes and properties to complete: what the ontology declares and what the data uses.
TERMS = f"""PREFIX owl: <http://www.w3.org/2002/07/owl#> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT DISTINCT ?kind ?t WHERE {{
  {{ GRAPH <{ids.G_ONTOLOGY}> {{ ?t a owl:Class }} BIND("classes" AS ?kind) }}
  UNION {{ GRAPH <{ids.G_ONTOLOGY}> {{ ?t a ?type FILTER(?type IN (owl:ObjectProperty, owl:DatatypeProperty,
           owl:AnnotationProperty, rdf:Property)) }} BIND("properties" AS ?kind) }}
  UNION {{ SELECT DISTINCT ?t ("classes" AS ?kind) WHERE {{ ?s a ?t }} }}
  UNION {{ SELECT DISTINCT ?t ("properties" AS ?kind) WHERE {{ ?s ?t ?o }} }}
}}"""


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
    lang = lang_of(request)
    editor = {"prefixes": EDITOR_PREFIXES, **await _editor_terms(request),
              "strings": {key[2:]: translate(key, lang) for key in T if key.startswith("q-")}}
    return render(request, "query.html", {"examples": examples, "default_query": opened, "editor": editor,
                                          "site": await site_of(request)})


async def _editor_terms(request: Request) -> dict[str, list[str]]:
    """The classes and properties the editor completes, read from the graph once per build."""
    build = settings_of(request).build_id
    cached: tuple[str, dict[str, list[str]]] | None = getattr(request.app.state, "editor_terms", None)
    if cached is None or cached[0] != build:
        terms: dict[str, set[str]] = {"classes": set(), "properties": set()}
        for row in await select(request, TERMS, max_rows=20_000):
            terms[row["kind"]["value"]].add(row["t"]["value"])
        cached = request.app.state.editor_terms = (build, {k: sorted(v) for k, v in terms.items()})
    return cached[1]
