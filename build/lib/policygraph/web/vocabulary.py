"""The ontology and the SHACL shapes: their graphs by content negotiation at /ontology (also /def)
and /shapes, HTML documentation generated from those graphs (metadata, namespaces, classes,
properties, data structures, code lists; each shape's targets and constraints in words), and the
class diagram as SVG at /ontology/diagram.svg."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from policygraph.transform.ids import GRAPH
from policygraph.web.views import ontology as od
from policygraph.web.views import shapes as shapes_doc
from policygraph.web.views.class_diagram import Diagram, diagram_of, loop_path
from policygraph.web.graph import run, select, site_of
from policygraph.web.html import lang_of, render, safe_href, templates, translate
from policygraph.web.negotiation import alternates, choose, link_header, media_type

router = APIRouter(tags=["linked data"])

TRIPLES = "SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
# Code lists: every concept scheme but the plans (pg:SupportPlan, whose outlines are data) and the
# lists of indicators; the graph that declares the scheme says where it comes from.
CODE_LISTS = f"""SELECT ?scheme ?g ?s ?p ?o WHERE {{
  {{ SELECT ?scheme (MIN(STR(?graph)) AS ?gs) WHERE {{
      GRAPH ?graph {{ ?scheme a skos:ConceptScheme }} FILTER(?graph != <{GRAPH['inferred']}>)
      FILTER NOT EXISTS {{ ?scheme a pg:SupportPlan }}
      FILTER NOT EXISTS {{ ?i skos:inScheme ?scheme ; a pg:Indicator }} }} GROUP BY ?scheme }}
  BIND(IRI(?gs) AS ?g)
  {{ ?scheme ?p ?o BIND(?scheme AS ?s) }} UNION {{ ?s skos:inScheme ?scheme ; ?p ?o }}
  FILTER(?p IN (rdfs:label, skos:prefLabel, skos:notation, skos:definition, skos:broader, skos:exactMatch,
                skos:closeMatch, skos:broadMatch, skos:narrowMatch, skos:relatedMatch)) }}"""
SHAPES_OF = f"""SELECT ?shape ?class WHERE {{ GRAPH <{GRAPH['shapes']}> {{
  ?shape <http://www.w3.org/ns/shacl#targetClass> ?class }} }} ORDER BY ?shape"""
MANY_ROWS = 100_000   # the ontology, the shapes and the code lists are a few thousand statements


def prefixed(iri: str) -> str:
    """A prefixed name for an IRI in a known namespace, else the IRI."""
    for prefix, ns in sorted(od.KNOWN.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and iri != ns:
            return f"{prefix}:{iri[len(ns):]}"
    return iri


async def _graph(request: Request, graph: str, fmt: str) -> Response:
    body = await run(request, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", fmt)
    return Response(body, media_type=media_type(fmt), headers={"Vary": "Accept", "Link": link_header(request.url.path)})


async def _triples(request: Request, graph: str) -> od.Triples:
    return od.index(await select(request, TRIPLES.format(graph=graph), max_rows=MANY_ROWS))


def _labels(triples: od.Triples) -> dict[str, dict[str, str]]:
    """Every labelled subject's labels by language (the page names terms by them)."""
    out = {}
    for s, po in triples.items():
        found = od.texts(po.get(od.SKOS + "prefLabel", [])) or od.texts(po.get(od.RDFS + "label", []))
        if found:
            out[s] = found
    return out


def diagram(doc: od.OntologyDoc, labels: dict[str, dict[str, str]], lang: str, base: str) -> Diagram:
    """The class diagram of the documented ontology; boxes link to ``base`` + the class's anchor."""
    ours = [(c.iri, c.id, od.ordered(c.labels, lang)[0][1] if c.labels else "", False) for c in doc.classes]
    theirs = [(i, prefixed(i), "", True) for i in doc.external]
    href = {c.iri: base + c.id for c in doc.classes} | {i: safe_href(i) or "" for i in doc.external}
    subclass = [(c.iri, s) for c in doc.classes for s in c.supers]
    props = [(d, r, p.id) for p in doc.properties[od.OWL + "ObjectProperty"] for d in p.domains for r in p.ranges]
    return diagram_of([*ours, *theirs], subclass, props, href)


def _helpers(lang: str, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    def label(iri: str) -> str:
        found = labels.get(iri, {})
        return found.get(lang) or found.get("ja") or ""
    return {"prefixed": prefixed, "anchor": od.anchor, "ordered": lambda texts: od.ordered(texts, lang),
            "label": label, "pg": od.PG, "loop_path": loop_path}


async def ontology(request: Request) -> Response:
    fmt = choose(request)
    if fmt != "html":
        return await _graph(request, str(GRAPH["ontology"]), fmt)
    lang = lang_of(request)
    triples = await _triples(request, str(GRAPH["ontology"]))
    doc, labels = od.build(triples), _labels(triples)
    schemes = od.schemes(await select(request, CODE_LISTS, max_rows=MANY_ROWS), lang)
    for s in schemes:   # concepts of the lists kept with the data are named by their own labels
        labels |= {c.iri: c.labels for c in s.concepts if c.iri not in labels}
    shapes_of: dict[str, list[str]] = {}
    for r in await select(request, SHAPES_OF):
        shapes_of.setdefault(r["class"]["value"], []).append(r["shape"]["value"])
    context = {"doc": doc, "schemes": schemes, "diagram": diagram(doc, labels, lang, "#"), "shapes_of": shapes_of,
               "standalone": False, "alternates": alternates("/ontology"), "site": await site_of(request)}
    return render(request, "ontology.html", context | _helpers(lang, labels), headers={"Vary": "Accept"})


@router.get("/ontology/diagram.svg", summary="The ontology's class diagram (SVG)")
async def ontology_diagram(request: Request) -> Response:
    lang = lang_of(request)
    triples = await _triples(request, str(GRAPH["ontology"]))
    doc, labels = od.build(triples), _labels(triples)
    context = {"diagram": diagram(doc, labels, lang, "/ontology#"), "standalone": True, "lang": lang,
               "t": lambda key: translate(key, lang)} | _helpers(lang, labels)
    body = templates.get_template("diagram.svg").render(context)
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, media_type="image/svg+xml",
                    headers={"Vary": "Accept-Language, Cookie", "Content-Language": lang})


@router.get("/shapes", summary="The shapes (Turtle, JSON-LD, … or HTML documentation)")
async def shapes(request: Request) -> Response:
    fmt = choose(request)
    if fmt != "html":
        return await _graph(request, str(GRAPH["shapes"]), fmt)
    lang = lang_of(request)
    triples = await _triples(request, str(GRAPH["shapes"]))
    site = await site_of(request)
    labels = {iri: {"ja": name} for iri, name in site.labels["ja"].items()}
    for iri, name in site.labels["en"].items():
        labels.setdefault(iri, {})["en"] = name
    context = {"doc": shapes_doc.build(triples), "alternates": alternates("/shapes"), "site": site,
               "severity": shapes_doc.severity}
    return render(request, "shapes.html", context | _helpers(lang, labels), headers={"Vary": "Accept"})


for route in ("/ontology", "/def"):
    router.add_api_route(route, ontology, methods=["GET"],
                         summary="The ontology (Turtle, JSON-LD, … or HTML documentation)")
