"""Namespaces and the rules that mint IRIs.

Resource IRIs are ``https://w3id.org/policygraph/id/<kind>/<key…>``: ASCII, stable, and
derived from the sources' own identifiers (JIS code 20, project number 070201, fiscal year
2025, the national plan's section path 3-2-2-a). Change a rule here and every IRI moves, so
don't.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, ORG, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD

BASE = "https://w3id.org/policygraph/"
PG = Namespace(BASE + "def#")
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")
CODE = Namespace(BASE + "id/code/")
QB = Namespace("http://purl.org/linked-data/cube#")
ONTOLOGY_IRI = URIRef(BASE + "def")

PREFIXES = {
    "pg": PG, "id": ID, "code": CODE, "qb": QB, "skos": SKOS, "org": ORG, "prov": PROV,
    "dcterms": DCTERMS, "dcat": DCAT, "void": VOID, "owl": OWL, "rdf": RDF, "rdfs": RDFS, "xsd": XSD,
}

# Named graphs: one per source document, plus ontology, reference, curated and inferred.
G_ONTOLOGY = GRAPH["ontology"]
G_REFERENCE = GRAPH["reference"]
G_INFERRED = GRAPH["inferred"]
G_SHAPES = GRAPH["shapes"]
G_META = GRAPH["meta"]


def source_graph(key: str) -> URIRef:
    return GRAPH[f"source/{key}"]


def curated_graph(key: str) -> URIRef:
    return GRAPH[f"curated/{key}"]


_SAFE = re.compile(r"^[A-Za-z0-9._~/-]+$")


def iri(*parts: object) -> URIRef:
    """``iri("prefecture", "20")`` → id/prefecture/20. Parts must already be ASCII-safe."""
    path = "/".join(str(p) for p in parts)
    if not _SAFE.match(path):
        raise ValueError(f"not an ASCII IRI path: {path!r}")
    return ID[path]


_IROHA = "アイウエオカキクケコサシスセソ"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def marker_key(no: str) -> str:
    """A printed section marker as an IRI segment: （２）→2, ⑫→12, ア→a, イ→b."""
    s = no.strip()
    if s and s[0] in _CIRCLED:
        return str(_CIRCLED.index(s[0]) + 1)
    if s and s[0] in _IROHA:
        return "abcdefghijklmno"[_IROHA.index(s[0])]
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", s))
    if digits:
        return str(int(digits))
    raise ValueError(f"unknown section marker {no!r}")


def notation_key(notation: str) -> str:
    """A plan notation as an IRI segment: 2-1① → 2-1-1."""
    out = []
    for ch in notation:
        out.append(f"-{_CIRCLED.index(ch) + 1}" if ch in _CIRCLED else ch)
    key = "".join(out).replace("--", "-")
    return iri_segment(key)


def iri_segment(s: str) -> str:
    if not _SAFE.match(s) or "/" in s:
        raise ValueError(f"not an ASCII IRI segment: {s!r}")
    return s


def fiscal_year(year: int) -> URIRef:
    return iri("fiscal-year", year)


def prefecture(code: str) -> URIRef:
    return iri("prefecture", code)


def organization(key: str) -> URIRef:
    return iri("organization", key)


def code(scheme: str, value: str) -> URIRef:
    return CODE[f"{scheme}/{value}"]


def source_document(key: str) -> URIRef:
    return iri("source", key)


def source_section(key: str, path: str) -> URIRef:
    return iri("source", key, "section", path)


@dataclass(frozen=True)
class BudgetKey:
    """What a budget observation is of: program, fiscal year, stage, funding and cost component, and
    for a page's figure where on which page it is printed."""
    program: URIRef
    year: int
    stage: str
    funding: str = "all"
    component: str = "project-cost"
    page: str | None = None


def budget_observation(key: BudgetKey) -> URIRef:
    """A sheet's figure: budget/<program>/<year>/<stage>/<funding>; a page's adds /<component>/<page id>
    (one figure can be printed on several pages, and each page's printing is its own observation)."""
    tail = f"/{key.component}/{key.page}" if key.page else ""
    return ID[f"budget/{str(key.program).removeprefix(str(ID))}/{key.year}/{key.stage}/{key.funding}{tail}"]


def staff_observation(program: URIRef, year: int, stage: str, kind: str | None = None,
                      page: str | None = None) -> URIRef:
    tail = f"/{kind}/{page}" if page else ""
    return ID[f"staff/{str(program).removeprefix(str(ID))}/{year}/{stage}{tail}"]
