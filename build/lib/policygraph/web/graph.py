"""Reading the graph for the pages: queries run for a request, SELECT rows, prefixed names, and the
facts every page shows (labels, the dataset's title and licence, its sources), read once per build.

Engine exceptions pass through to the app's error handlers (errors.py), which give them one status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fastapi import Request

from policygraph.store.engines import Job
from policygraph.transform.ids import ID
from policygraph.web.settings import client_of, engine_of, settings_of

Binding = dict[str, str]   # a SPARQL JSON term: type, value, xml:lang, datatype
Row = dict[str, Binding]

PG = "https://w3id.org/policygraph/def#"
DATASET = str(ID["dataset/policygraph"])
PREFIXES = ("PREFIX pg: <https://w3id.org/policygraph/def#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX prov: <http://www.w3.org/ns/prov#> "
            "PREFIX dcterms: <http://purl.org/dc/terms/> ")
SHORT = (("https://w3id.org/policygraph/def#", "pg:"), ("http://www.w3.org/2004/02/skos/core#", "skos:"),
         ("http://purl.org/dc/terms/", "dcterms:"), ("http://www.w3.org/ns/prov#", "prov:"),
         ("http://www.w3.org/2000/01/rdf-schema#", "rdfs:"), ("http://www.w3.org/ns/org#", "org:"),
         ("http://purl.org/linked-data/cube#", "qb:"), ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdf:"),
         ("http://www.w3.org/2002/07/owl#", "owl:"))


def short(iri: str) -> str:
    """A prefixed name for a term of a vocabulary we use, else the IRI itself."""
    for namespace, prefix in SHORT:
        if iri.startswith(namespace):
            return prefix + iri[len(namespace):]
    return iri


async def run(request: Request, query: str, fmt: str = "json", max_rows: int | None = None) -> bytes:
    """A query of ours, run for this request under the service's limits and in its client's share."""
    engine, settings = engine_of(request), settings_of(request)
    job = Job(query, fmt, max_rows=max_rows or settings.max_rows)
    result = await engine.arun(job, settings.query_timeout, settings.queue_timeout, client=client_of(request),
                               gone=request.is_disconnected)
    return result.body


async def select(request: Request, query: str, max_rows: int | None = None) -> list[Row]:
    """The rows of a SELECT (our prefixes are declared), as SPARQL JSON bindings."""
    doc = json.loads(await run(request, PREFIXES + query, max_rows=max_rows))
    rows: list[Row] = doc["results"]["bindings"]
    return rows


def in_language(texts: dict[str, str], lang: str) -> str:
    """The text in ``lang``, else in Japanese, else in any language, else empty."""
    return texts.get(lang) or texts.get("ja") or next(iter(texts.values()), "")


@dataclass
class Named:
    """A resource with its labels by language."""
    iri: str
    labels: dict[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        return in_language(self.labels, lang) or self.iri


@dataclass
class Site:
    """What the pages say about the dataset as a whole, as the graph states it."""
    build: str = ""
    labels: dict[str, dict[str, str]] = field(default_factory=lambda: {"ja": {}, "en": {}})
    title: dict[str, str] = field(default_factory=dict)
    rights: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    sources: list[Named] = field(default_factory=list)       # the source documents (not their pages)
    plans: list[Named] = field(default_factory=list)         # national support plans (no prefecture's)
    prefectures: list[Named] = field(default_factory=list)   # prefectures the graph holds programs of

    def label(self, iri: str, lang: str) -> str:
        """A term's label in ``lang`` (Japanese if it has none), else its prefixed name."""
        return self.labels.get(lang, {}).get(iri) or self.labels["ja"].get(iri) or short(iri)

    def text(self, values: dict[str, str], lang: str) -> str:
        return in_language(values, lang)


LABELS = """SELECT ?t ?l WHERE {
  { ?t a ?c FILTER(STRSTARTS(STR(?t), "https://w3id.org/policygraph/def#")) }
  UNION { ?t skos:inScheme ?s FILTER(STRSTARTS(STR(?t), "https://w3id.org/policygraph/id/code/")) }
  ?t rdfs:label|skos:prefLabel ?l }"""
ABOUT = f"""SELECT ?p ?o WHERE {{ <{DATASET}> ?p ?o
  FILTER(?p IN (dcterms:title, dcterms:rights, dcterms:license)) }}"""
# The documents the graph was read from, the national plans, and the prefectures it holds programs of.
NAMED = """SELECT ?kind ?s ?l WHERE {
  { ?s a pg:SourceDocument FILTER NOT EXISTS { ?s dcterms:isPartOf ?whole } BIND("sources" AS ?kind) }
  UNION { ?s a pg:SupportPlan FILTER NOT EXISTS { ?s pg:prefecture ?p } BIND("plans" AS ?kind) }
  UNION { SELECT DISTINCT ?s ?kind WHERE { ?x pg:prefecture ?s . ?s a pg:Prefecture BIND("prefectures" AS ?kind) } }
  ?s rdfs:label ?l } ORDER BY ?kind ?s"""


async def _load(request: Request, build: str) -> Site:
    site = Site(build=build)
    for r in await select(request, LABELS, max_rows=100_000):
        site.labels["en" if r["l"].get("xml:lang") == "en" else "ja"].setdefault(r["t"]["value"], r["l"]["value"])
    for r in await select(request, ABOUT):
        p, o = r["p"]["value"], r["o"]
        if p.endswith("license"):
            site.licence = o["value"]
        else:
            (site.title if p.endswith("title") else site.rights)[o.get("xml:lang", "ja")] = o["value"]
    named: dict[tuple[str, str], Named] = {}
    for r in await select(request, NAMED):
        kind, iri = r["kind"]["value"], r["s"]["value"]
        if (kind, iri) not in named:
            named[kind, iri] = Named(iri)
            getattr(site, kind).append(named[kind, iri])
        named[kind, iri].labels.setdefault(r["l"].get("xml:lang", "ja"), r["l"]["value"])
    return site


async def site_of(request: Request) -> Site:
    """The site's facts for the current build, read from the store on first use."""
    build = settings_of(request).build_id
    site: Site | None = getattr(request.app.state, "site", None)
    if site is None or site.build != build:
        site = request.app.state.site = await _load(request, build)
    return site


def cached_site(request: Request) -> Site:
    """The facts if they have been read, else none (an error page must not query a failing store)."""
    site: Site | None = getattr(request.app.state, "site", None)
    return site or Site()
