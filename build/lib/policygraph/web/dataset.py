"""The dataset describes itself (VoID and DCAT at /dataset, from the store and the build's record),
and its dumps are served at /dumps/…. Title, licence, rights and sources are what the graph states."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from policygraph.build.dumps import DUMPS
from policygraph.store.formats import RDF_FORMATS
from policygraph.transform.ids import ID
from policygraph.web.errors import Problem
from policygraph.web.graph import DATASET, Row, Site, select, site_of
from policygraph.web.html import render
from policygraph.web.negotiation import choose, media_type
from policygraph.web.settings import dist_of

router = APIRouter(tags=["linked data"])

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#", "dcterms": "http://purl.org/dc/terms/", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "foaf": "http://xmlns.com/foaf/0.1/", "sd": "http://www.w3.org/ns/sparql-service-description#",
}
VOCABULARIES = ["https://w3id.org/policygraph/def#", "http://www.w3.org/2004/02/skos/core#", "http://www.w3.org/ns/org#",
                "http://www.w3.org/ns/prov#", "http://purl.org/dc/terms/", "http://purl.org/linked-data/cube#",
                "http://www.w3.org/ns/shacl#"]
# What the data is, followed by the titles of the documents it was read from (from the graph)
DESCRIPTION = {"ja": "次の出典資料を転記し、事業・予算・成果指標・計画目標と事業の対応関係を記述したデータ：",
               "en": "Programs, budgets by year and stage, KPIs, plan goals and curated alignments, transcribed from: "}
SEPARATOR = {"ja": "；", "en": "; "}
PUBLISHER = str(ID["agent/policygraph-curators"])

# Every document and web page the graph was read from, with what is known of its terms of use (a page
# takes its page set's); the curated files are policygraph's own and come under the dataset's licence.
SOURCES = """SELECT ?doc ?title ?url ?file ?licence ?parent WHERE {
  ?doc a pg:SourceDocument .
  OPTIONAL { ?doc dcterms:title ?t FILTER (lang(?t) = "ja") }
  OPTIONAL { ?doc rdfs:label ?l FILTER (lang(?l) = "ja") }
  BIND (COALESCE(?t, ?l, STR(?doc)) AS ?title)
  OPTIONAL { ?doc pg:pageUrl ?url }
  OPTIONAL { ?doc pg:fileName ?file }
  OPTIONAL { ?doc dcterms:isPartOf ?parent }
  OPTIONAL { ?doc (dcterms:isPartOf?)/pg:licenceNote ?licence }
} ORDER BY ?parent ?title ?url"""
COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
NO_TERMS = "terms of use not recorded in data/"


@dataclass
class Distribution:
    name: str
    media_type: str
    size: int


@dataclass
class Description:
    """What /dataset says, in HTML or as RDF."""
    base: str                         # this service's URL: the endpoint and downloads are here
    site: Site
    built: str | None
    graphs: list[tuple[str, int]]     # named graph, triples
    sources: list[Row]
    distributions: list[Distribution]

    def description(self, lang: str) -> str:
        return DESCRIPTION[lang] + SEPARATOR[lang].join(s.name(lang) for s in self.site.sources)

    @property
    def examples(self) -> list[str]:
        return [n.iri for n in self.site.prefectures + self.site.plans]


async def describe(request: Request, dist: Path | None) -> Description:
    info_file = dist / "build-info.json" if dist else None
    info = json.loads(info_file.read_text()) if info_file and info_file.exists() else {}
    graphs = [(r["g"]["value"], int(r["n"]["value"])) for r in await select(request, COUNTS)]
    files = [Distribution(name, media, (dist / name).stat().st_size) for name, (_, media) in DUMPS.items()
             if dist is not None and (dist / name).exists()]
    return Description(f"{request.url.scheme}://{request.url.netloc}", await site_of(request), info.get("built"),
                       graphs, await select(request, SOURCES), files)


def _n(prefix: str, local: str) -> ox.NamedNode:
    return ox.NamedNode(NS[prefix] + local)


def _integer(n: int, datatype: str = "integer") -> ox.Literal:
    return ox.Literal(str(n), datatype=_n("xsd", datatype))


def _about(d: Description, ds: ox.NamedNode) -> list[ox.Triple]:
    """The dataset as a whole: what it is, its licence, publisher, endpoint and examples."""
    a, dcterms = _n("rdf", "type"), NS["dcterms"]
    endpoint, service = ox.NamedNode(d.base + "/sparql"), ox.NamedNode(d.base + "/sparql#service")
    publisher = ox.NamedNode(PUBLISHER)
    out = [ox.Triple(ds, a, _n("void", "Dataset")), ox.Triple(ds, a, _n("dcat", "Dataset")),
           ox.Triple(ds, _n("dcterms", "publisher"), publisher), ox.Triple(publisher, a, _n("foaf", "Agent")),
           ox.Triple(publisher, _n("foaf", "name"), ox.Literal("policygraph curators")),
           ox.Triple(ds, _n("void", "sparqlEndpoint"), endpoint), ox.Triple(service, a, _n("dcat", "DataService")),
           ox.Triple(service, _n("dcat", "endpointURL"), endpoint),
           ox.Triple(service, _n("dcterms", "title"), ox.Literal("SPARQL 1.1 endpoint", language="en")),
           ox.Triple(service, _n("dcat", "servesDataset"), ds), ox.Triple(ds, _n("dcat", "accessService"), service),
           ox.Triple(ds, _n("void", "uriSpace"), ox.Literal(str(ID))),
           ox.Triple(ds, _n("void", "dataDump"), ox.NamedNode(d.base + "/dumps/policygraph.nq"))]
    for lang, title in d.site.title.items():
        out.append(ox.Triple(ds, ox.NamedNode(dcterms + "title"), ox.Literal(title, language=lang)))
    for lang, rights in d.site.rights.items():
        out.append(ox.Triple(ds, ox.NamedNode(dcterms + "rights"), ox.Literal(rights, language=lang)))
    out += [ox.Triple(ds, _n("dcterms", "description"), ox.Literal(d.description(lang), language=lang))
            for lang in DESCRIPTION]
    if d.site.licence:
        out.append(ox.Triple(ds, _n("dcterms", "license"), ox.NamedNode(d.site.licence)))
    if d.built:
        out.append(ox.Triple(ds, _n("dcterms", "modified"), ox.Literal(d.built, datatype=_n("xsd", "dateTime"))))
        out.append(ox.Triple(ds, _n("dcterms", "issued"), ox.Literal(d.built[:10], datatype=_n("xsd", "date"))))
    out += [ox.Triple(ds, _n("void", "exampleResource"), ox.NamedNode(e)) for e in d.examples]
    out += [ox.Triple(ds, _n("void", "vocabulary"), ox.NamedNode(v)) for v in VOCABULARIES]
    return out


def _subsets(d: Description, ds: ox.NamedNode) -> list[ox.Triple]:
    out = [ox.Triple(ds, _n("void", "triples"), _integer(sum(n for _, n in d.graphs)))]
    for g, n in d.graphs:
        sub = ox.NamedNode(g)
        out += [ox.Triple(ds, _n("void", "subset"), sub), ox.Triple(sub, _n("rdf", "type"), _n("void", "Dataset")),
                ox.Triple(sub, _n("sd", "name"), sub), ox.Triple(sub, _n("void", "triples"), _integer(n))]
    return out


def _sources(d: Description, ds: ox.NamedNode) -> list[ox.Triple]:
    out = []
    for row in d.sources:
        doc = ox.NamedNode(row["doc"]["value"])
        out += [ox.Triple(ds, _n("dcterms", "source"), doc),
                ox.Triple(doc, _n("dcterms", "title"), ox.Literal(row["title"]["value"], language="ja")),
                ox.Triple(doc, _n("dcterms", "rights"),
                          ox.Literal(row["licence"]["value"] if "licence" in row else NO_TERMS, language="en"))]
        if "url" in row:
            out.append(ox.Triple(doc, _n("foaf", "page"), ox.NamedNode(row["url"]["value"])))
        if "file" in row:
            out.append(ox.Triple(doc, _n("dcterms", "identifier"), ox.Literal(row["file"]["value"])))
        if "parent" in row:
            out.append(ox.Triple(doc, _n("dcterms", "isPartOf"), ox.NamedNode(row["parent"]["value"])))
    return out


def _distributions(d: Description, ds: ox.NamedNode) -> list[ox.Triple]:
    out = []
    for f in d.distributions:
        node, url = ox.NamedNode(f"{d.base}/dumps/{f.name}#distribution"), f"{d.base}/dumps/{f.name}"
        out += [ox.Triple(ds, _n("dcat", "distribution"), node),
                ox.Triple(node, _n("rdf", "type"), _n("dcat", "Distribution")),
                ox.Triple(node, _n("dcat", "downloadURL"), ox.NamedNode(url)),
                ox.Triple(node, _n("dcat", "mediaType"),
                          ox.NamedNode(f"https://www.iana.org/assignments/media-types/{f.media_type}")),
                ox.Triple(node, _n("dcterms", "format"), ox.Literal(f.media_type)),
                ox.Triple(node, _n("dcat", "byteSize"), _integer(f.size, "nonNegativeInteger"))]
        if d.site.licence:
            out.append(ox.Triple(node, _n("dcterms", "license"), ox.NamedNode(d.site.licence)))
    return out


def to_rdf(d: Description) -> list[ox.Triple]:
    """The description as VoID and DCAT triples."""
    ds = ox.NamedNode(DATASET)
    return _about(d, ds) + _subsets(d, ds) + _sources(d, ds) + _distributions(d, ds)


@router.get("/dataset", summary="VoID and DCAT description of the dataset")
async def dataset(request: Request, dist: Annotated[Path | None, Depends(dist_of)]) -> Response:
    fmt = choose(request)
    d = await describe(request, dist)
    if fmt == "html":
        context = {"d": d, "no_terms": NO_TERMS, "site": d.site}
        return render(request, "dataset.html", context, headers={"Vary": "Accept"})
    return Response(ox.serialize(to_rdf(d), format=RDF_FORMATS[fmt]), media_type=media_type(fmt),
                    headers={"Vary": "Accept"})


@router.get("/dumps/{name}", summary="Download the dataset")
async def dump(name: str, dist: Annotated[Path | None, Depends(dist_of)]) -> FileResponse:
    if dist is None or name not in DUMPS or not (dist / name).exists():
        raise Problem(404, "not found", f"no dump {name!r}; available: {', '.join(DUMPS)}")
    return FileResponse(dist / name, media_type=DUMPS[name][1], filename=name)
