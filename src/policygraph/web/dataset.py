"""The dataset describes itself: VoID and DCAT, built from the store and the build's record."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pyoxigraph as ox
from fastapi import Request

from policygraph.build.dataset import DUMPS
from policygraph.transform.ids import ID
from policygraph.transform.metadata import LICENCE_NOTE_EN, LICENCE_NOTE_JA, LICENCE_URL
from policygraph.web.html import layout, link

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#", "dcterms": "http://purl.org/dc/terms/", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "foaf": "http://xmlns.com/foaf/0.1/", "sd": "http://www.w3.org/ns/sparql-service-description#",
}
DATASET = ID["dataset/policygraph"]
EXAMPLES = ["prefecture/20", "prefectural-project/20/070201", "sub-project/20/070201/2",
            "national-program/2008/3-2-2-a", "alignment/regional-hub-one-stop-network", "fiscal-year/2025"]
VOCABULARIES = ["https://w3id.org/policygraph/def#", "http://www.w3.org/2004/02/skos/core#", "http://www.w3.org/ns/org#",
                "http://www.w3.org/ns/prov#", "http://purl.org/dc/terms/", "http://purl.org/linked-data/cube#",
                "http://www.w3.org/ns/shacl#"]


# Every document and web page the graph was read from, with what is known of its terms of use (a page
# takes its page set's); the curated files are policygraph's own and come under the dataset's licence.
SOURCES = """SELECT ?doc ?title ?url ?file ?licence ?parent WHERE {
  ?doc a <https://w3id.org/policygraph/def#SourceDocument> .
  OPTIONAL { ?doc <http://purl.org/dc/terms/title> ?t FILTER (lang(?t) = "ja") }
  OPTIONAL { ?doc <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER (lang(?l) = "ja") }
  BIND (COALESCE(?t, ?l, STR(?doc)) AS ?title)
  OPTIONAL { ?doc <https://w3id.org/policygraph/def#pageUrl> ?url }
  OPTIONAL { ?doc <https://w3id.org/policygraph/def#fileName> ?file }
  OPTIONAL { ?doc <http://purl.org/dc/terms/isPartOf> ?parent }
  OPTIONAL { ?doc (<http://purl.org/dc/terms/isPartOf>?)/<https://w3id.org/policygraph/def#licenceNote> ?licence }
} ORDER BY ?parent ?title ?url"""
NO_TERMS = "terms of use not recorded in data/"


def _n(prefix: str, local: str) -> ox.NamedNode:
    return ox.NamedNode(NS[prefix] + local)


async def describe(request: Request, dist: Path | None) -> list[ox.Triple]:
    from policygraph.web.resources import _select
    base = f"{request.url.scheme}://{request.url.netloc}"
    ds = ox.NamedNode(str(DATASET))
    info = json.loads((dist / "build-info.json").read_text()) if dist and (dist / "build-info.json").exists() else {}
    counts = await _select(request, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    out: list[ox.Triple] = []

    def add(s, p, o):
        out.append(ox.Triple(s, p, o))

    a = _n("rdf", "type")
    add(ds, a, _n("void", "Dataset"))
    add(ds, a, _n("dcat", "Dataset"))
    add(ds, _n("dcterms", "title"), ox.Literal("policygraph：日本の中小企業政策の知識グラフ", language="ja"))
    add(ds, _n("dcterms", "title"), ox.Literal("policygraph: a knowledge graph of Japanese SME policy", language="en"))
    add(ds, _n("dcterms", "description"), ox.Literal(
        "国の中小企業支援計画（平成20年度）と長野県の事業改善シート（令和7年度、事業番号07 02 01）を転記し、"
        "鳥取県の予算編成過程の公開ページ（平成19〜令和8年度、89ページ）の数値を加えて、"
        "事業・予算・成果指標・計画目標と国と県の事業の対応関係を記述したデータ。", language="ja"))
    add(ds, _n("dcterms", "description"), ox.Literal(
        "The FY2008 national SME support plan and Nagano prefecture's FY2025 review sheet for project 07 02 01, "
        "transcribed, with the figures of 89 of Tottori prefecture's budget-compilation pages (FY2007-FY2026): "
        "programs, budgets by year and stage, KPIs, plan goals, and curated alignments.", language="en"))
    add(ds, _n("dcterms", "license"), ox.NamedNode(LICENCE_URL))
    add(ds, _n("dcterms", "rights"), ox.Literal(LICENCE_NOTE_JA, language="ja"))
    add(ds, _n("dcterms", "rights"), ox.Literal(LICENCE_NOTE_EN, language="en"))
    publisher = ox.NamedNode(str(ID["agent/policygraph-curators"]))
    add(ds, _n("dcterms", "publisher"), publisher)
    add(publisher, a, _n("foaf", "Agent"))
    add(publisher, _n("foaf", "name"), ox.Literal("policygraph curators"))
    if info.get("built"):
        add(ds, _n("dcterms", "modified"), ox.Literal(info["built"], datatype=_n("xsd", "dateTime")))
        add(ds, _n("dcterms", "issued"), ox.Literal(info["built"][:10], datatype=_n("xsd", "date")))
    endpoint = ox.NamedNode(base + "/sparql")
    add(ds, _n("void", "sparqlEndpoint"), endpoint)
    service = ox.NamedNode(base + "/sparql#service")
    add(service, a, _n("dcat", "DataService"))
    add(service, _n("dcat", "endpointURL"), endpoint)
    add(service, _n("dcterms", "title"), ox.Literal("SPARQL 1.1 endpoint", language="en"))
    add(service, _n("dcat", "servesDataset"), ds)
    add(ds, _n("dcat", "accessService"), service)
    add(ds, _n("void", "uriSpace"), ox.Literal(str(ID)))
    add(ds, _n("void", "dataDump"), ox.NamedNode(base + "/dumps/policygraph.nq"))
    for e in EXAMPLES:
        add(ds, _n("void", "exampleResource"), ox.NamedNode(str(ID[e])))
    for v in VOCABULARIES:
        add(ds, _n("void", "vocabulary"), ox.NamedNode(v))
    total = 0
    for row in counts:
        g, n = row["g"]["value"], int(row["n"]["value"])
        total += n
        sub = ox.NamedNode(g)
        add(ds, _n("void", "subset"), sub)
        add(sub, a, _n("void", "Dataset"))
        add(sub, _n("sd", "name"), sub)
        add(sub, _n("void", "triples"), ox.Literal(str(n), datatype=_n("xsd", "integer")))
    add(ds, _n("void", "triples"), ox.Literal(str(total), datatype=_n("xsd", "integer")))
    for row in await _select(request, SOURCES):
        doc = ox.NamedNode(row["doc"]["value"])
        add(ds, _n("dcterms", "source"), doc)
        add(doc, _n("dcterms", "title"), ox.Literal(row["title"]["value"], language="ja"))
        if "url" in row:
            add(doc, _n("foaf", "page"), ox.NamedNode(row["url"]["value"]))
        if "file" in row:
            add(doc, _n("dcterms", "identifier"), ox.Literal(row["file"]["value"]))
        if "parent" in row:
            add(doc, _n("dcterms", "isPartOf"), ox.NamedNode(row["parent"]["value"]))
        add(doc, _n("dcterms", "rights"), ox.Literal(row["licence"]["value"] if "licence" in row else NO_TERMS, language="en"))
    for name, (_, media) in DUMPS.items():
        if dist is None or not (dist / name).exists():
            continue
        d = ox.NamedNode(f"{base}/dumps/{name}#distribution")
        add(ds, _n("dcat", "distribution"), d)
        add(d, a, _n("dcat", "Distribution"))
        add(d, _n("dcat", "downloadURL"), ox.NamedNode(f"{base}/dumps/{name}"))
        add(d, _n("dcat", "mediaType"), ox.NamedNode(f"https://www.iana.org/assignments/media-types/{media}"))
        add(d, _n("dcterms", "format"), ox.Literal(media))
        add(d, _n("dcat", "byteSize"), ox.Literal(str((dist / name).stat().st_size), datatype=_n("xsd", "nonNegativeInteger")))
        add(d, _n("dcterms", "license"), ox.NamedNode(LICENCE_URL))
    return out


def html_page(graph: list[ox.Triple], lang: str) -> str:
    def values(p: str, s: str = str(DATASET)):
        return [t.object for t in graph if t.subject.value == s and t.predicate.value == p]

    def text(p: str) -> str:
        vals = values(p)
        chosen = [v for v in vals if getattr(v, "language", None) == lang] or vals
        return chosen[0].value if chosen else ""

    subsets = [(t.object.value, next((x.object.value for x in graph if x.subject == t.object
                                      and x.predicate.value == NS["void"] + "triples"), "?"))
               for t in graph if t.predicate.value == NS["void"] + "subset"]
    dists = [t.object.value for t in graph if t.predicate.value == NS["dcat"] + "distribution"]
    dist_rows = "".join(
        f'<tr><td>{link(d.split("#")[0], d.split("/")[-1].split("#")[0])}</td>'
        f'<td>{escape(values(NS["dcterms"] + "format", d)[0].value)}</td>'
        f'<td class="num">{int(values(NS["dcat"] + "byteSize", d)[0].value):,}</td></tr>' for d in dists)
    graph_rows = "".join(f'<tr><td id="graph-{escape(g.rsplit("graph/", 1)[-1])}"><code>{escape(g)}</code></td>'
                         f'<td class="num">{int(n):,}</td></tr>' for g, n in subsets)
    endpoint = values(NS["void"] + "sparqlEndpoint")[0].value
    examples = "".join(f'<li><a href="/id/{escape(e)}">{escape(e)}</a></li>' for e in EXAMPLES)
    sources = [t.object.value for t in graph if t.predicate.value == NS["dcterms"] + "source"]

    def one(p: str, subject: str) -> str:
        vals = values(p, subject)
        return vals[0].value if vals else ""
    source_rows = "".join(
        f'<tr><td>{link(d, one(NS["dcterms"] + "title", d))}</td>'
        f'<td>{link(one(NS["foaf"] + "page", d), one(NS["foaf"] + "page", d)) if one(NS["foaf"] + "page", d) else escape(one(NS["dcterms"] + "identifier", d))}</td>'
        f'<td>{escape(one(NS["dcterms"] + "rights", d))}</td></tr>' for d in sources)
    body = f"""<h1>{escape(text(NS['dcterms'] + 'title'))}</h1><p>{escape(text(NS['dcterms'] + 'description'))}</p>
<dl><dt>SPARQL endpoint</dt><dd>{link(endpoint, endpoint)} (<a href="/query">query page</a>)</dd>
<dt>Licence</dt><dd><a href="{LICENCE_URL}">CC BY 4.0</a> — {escape(text(NS['dcterms'] + 'rights'))}</dd>
<dt>Modified</dt><dd>{escape(text(NS['dcterms'] + 'modified'))}</dd>
<dt>Machine-readable</dt><dd><a href="/dataset?format=ttl">Turtle</a> · <a href="/dataset?format=jsonld">JSON-LD</a></dd></dl>
<h2>Downloads</h2><table class="props"><tr><th>file</th><th>media type</th><th>bytes</th></tr>{dist_rows}</table>
<h2 id="sources">Sources</h2><p>{len(sources)} documents and pages; a page's terms are those of its site.</p>
<table class="props sources"><tr><th>source</th><th>URL / file</th><th>terms of use</th></tr>{source_rows}</table>
<h2>Named graphs</h2><table class="props"><tr><th>graph</th><th>triples</th></tr>{graph_rows}</table>
<h2>Example resources</h2><ul>{examples}</ul>"""
    return layout("dataset", body, lang, "/dataset")
