"""The ontology and the SHACL shapes: their graphs by content negotiation at /ontology (also /def)
and /shapes, and HTML documentation generated from those graphs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from policygraph.transform.ids import GRAPH
from policygraph.web.graph import Binding, run, select, short, site_of
from policygraph.web.html import lang_of, render
from policygraph.web.negotiation import choose, link_header, media_type

router = APIRouter(tags=["linked data"])

PG = "https://w3id.org/policygraph/def#"
OWL = "http://www.w3.org/2002/07/owl#"
SECTIONS = ((OWL + "Class", "クラス", "Classes"),
            (OWL + "ObjectProperty", "オブジェクトプロパティ", "Object properties"),
            (OWL + "DatatypeProperty", "データプロパティ", "Datatype properties"))
RELATIONS = ("rdfs:subClassOf", "rdfs:subPropertyOf", "rdfs:domain", "rdfs:range", "owl:inverseOf", "owl:disjointWith")
TERMS = f"""SELECT ?t ?kind ?p ?o WHERE {{ GRAPH <{GRAPH['ontology']}> {{
    ?t a ?kind . FILTER(?kind IN (<{OWL}Class>, <{OWL}ObjectProperty>, <{OWL}DatatypeProperty>))
    FILTER(STRSTARTS(STR(?t), "{PG}"))
    ?t ?p ?o . FILTER(isIRI(?o) || isLiteral(?o)) }} }} ORDER BY ?kind ?t"""
SHAPES = """PREFIX sh: <http://www.w3.org/ns/shacl#>
    SELECT ?shape ?target ?path ?message ?comment WHERE {{ GRAPH <{graph}> {{
      ?shape a sh:NodeShape .
      OPTIONAL {{ ?shape sh:targetClass ?target }}
      OPTIONAL {{ ?shape rdfs:comment ?comment }}
      OPTIONAL {{ ?shape sh:property ?ps . ?ps sh:path ?path .
                  OPTIONAL {{ ?ps sh:message ?message FILTER(lang(?message) = "{lang}") }} }}
      OPTIONAL {{ ?shape sh:sparql/sh:message ?message FILTER(lang(?message) = "{lang}") }}
    }} }} ORDER BY ?shape ?path"""


def anchor(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


async def _graph(request: Request, graph: str, fmt: str) -> Response:
    body = await run(request, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", fmt)
    return Response(body, media_type=media_type(fmt), headers={"Vary": "Accept", "Link": link_header(request.url.path)})


@dataclass
class Term:
    iri: str
    kind: str = ""
    values: dict[str, list[Binding]] = field(default_factory=lambda: defaultdict(list))  # by prefixed property

    def text(self, prop: str, lang: str) -> str:
        return next((v["value"] for v in self.values.get(prop, []) if v.get("xml:lang") == lang), "")

    def links(self, prop: str) -> list[str]:
        return [v["value"] for v in self.values.get(prop, []) if v["type"] == "uri"]


async def ontology(request: Request) -> Response:
    fmt = choose(request)
    if fmt != "html":
        return await _graph(request, str(GRAPH["ontology"]), fmt)
    terms: dict[str, Term] = {}
    for r in await select(request, TERMS):
        term = terms.setdefault(r["t"]["value"], Term(r["t"]["value"]))
        term.kind = r["kind"]["value"]
        term.values[short(r["p"]["value"])].append(r["o"])
    sections = [(ja, en, sorted((t for t in terms.values() if t.kind == kind), key=lambda t: t.iri))
                for kind, ja, en in SECTIONS]
    context = {"sections": sections, "relations": RELATIONS, "short": short, "anchor": anchor, "pg": PG}
    return render(request, "ontology.html", context | {"site": await site_of(request)}, headers={"Vary": "Accept"})


@dataclass
class Shape:
    targets: set[str] = field(default_factory=set)
    checks: dict[str, str] = field(default_factory=dict)   # path (or SPARQL) → message
    comment: str = ""


@router.get("/shapes", summary="The shapes (Turtle, JSON-LD, … or HTML documentation)")
async def shapes(request: Request) -> Response:
    fmt = choose(request)
    if fmt != "html":
        return await _graph(request, str(GRAPH["shapes"]), fmt)
    found: dict[str, Shape] = defaultdict(Shape)
    for r in await select(request, SHAPES.format(graph=GRAPH["shapes"], lang=lang_of(request))):
        s = found[r["shape"]["value"]]
        if "target" in r:
            s.targets.add(short(r["target"]["value"]))
        if "comment" in r:
            s.comment = r["comment"]["value"]
        if "path" in r or "message" in r:
            key = short(r["path"]["value"]) if "path" in r else "SPARQL"
            s.checks[key] = r["message"]["value"] if "message" in r else ""
    context = {"shapes": sorted(found.items()), "anchor": anchor}
    return render(request, "shapes.html", context | {"site": await site_of(request)}, headers={"Vary": "Accept"})


for route in ("/ontology", "/def"):
    router.add_api_route(route, ontology, methods=["GET"],
                         summary="The ontology (Turtle, JSON-LD, … or HTML documentation)")
