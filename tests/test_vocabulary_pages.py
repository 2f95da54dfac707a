"""The ontology and shapes documentation (/ontology, /ontology/diagram.svg, /shapes) against the graph it documents.

Every expectation is read from the built graph with SPARQL (the store fixture), never written out here:
the pages must show what the ontology and shapes graphs state, all of it, and nothing else.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from conftest import CHROMEDRIVER, CHROMIUM, ROOT, Server, chromium, select
from pages import by_id, find, hrefs, soup, unique_ids

from policygraph.store.embedded import EmbeddedEngine, StoreSource
from policygraph.store.named_queries import load_queries
from policygraph.web.app import Settings, create_app

ONTOLOGY_GRAPH = "https://w3id.org/policygraph/graph/ontology"
SHAPES_GRAPH = "https://w3id.org/policygraph/graph/shapes"
PG = "https://w3id.org/policygraph/def#"
SVG = "{http://www.w3.org/2000/svg}"


def page(client, path: str, lang: str = "ja") -> BeautifulSoup:
    r = client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:300]
    client.cookies.clear()   # ?lang= sets a cookie: each call says its language
    doc = soup(r.text)
    unique_ids(doc)
    return doc


@pytest.fixture(scope="module")
def ontology_page(client) -> BeautifulSoup:
    return page(client, "/ontology")


def local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


def test_every_pg_term_has_its_anchor(store, ontology_page):
    declared = select(store, f"""SELECT DISTINCT ?t WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?t a ?kind
        FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty)) }} }}""")
    used = select(store, f"""SELECT DISTINCT ?t WHERE {{ {{ ?s ?t ?o }} UNION {{ ?s ?p ?t }} UNION {{ ?t ?p ?o }}
        FILTER(isIRI(?t) && STRSTARTS(STR(?t), "{PG}")) }}""")
    terms = {r["t"] for r in declared} | {r["t"] for r in used}
    assert len(declared) > 50
    for iri in terms:
        assert ontology_page.find(id=local(iri)) is not None, f"/ontology has no id={local(iri)} for {iri}"
        assert iri in by_id(ontology_page, local(iri)).get_text()


def test_metadata_as_the_graph_states_it(store, ontology_page):
    ontology = "https://w3id.org/policygraph/def"
    facts = {r["p"]: r["o"] for r in select(store, f"""SELECT ?p ?o WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        <{ontology}> ?p ?o }} }}""")}
    version = facts["http://www.w3.org/2002/07/owl#versionInfo"]
    licence = facts["http://purl.org/dc/terms/license"]
    assert version in by_id(ontology_page, "meta-version-info").get_text()
    assert licence in hrefs(by_id(ontology_page, "meta-licence"))
    assert facts["http://www.w3.org/2002/07/owl#versionIRI"] in hrefs(by_id(ontology_page, "meta-version-iri"))
    for key, prop in (("creator", "creator"), ("modified", "modified"), ("issued", "issued")):
        row = by_id(ontology_page, f"meta-{key}").get_text()
        if f"http://purl.org/dc/terms/{prop}" in facts:
            assert facts[f"http://purl.org/dc/terms/{prop}"] in row
        else:   # a field the ontology lacks is said to be absent, not filled in
            assert "記載なし" in row


def test_namespaces_table_lists_the_namespaces_used(store, ontology_page):
    rows = select(store, f"""SELECT DISTINCT ?i WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        {{ ?i ?p ?o }} UNION {{ ?s ?i ?o }}
        UNION {{ ?s ?p ?i FILTER(?p NOT IN (dcterms:license, rdfs:seeAlso, owl:versionIRI)) }}
        UNION {{ ?s ?p ?o BIND(DATATYPE(?o) AS ?i) FILTER(isLiteral(?o)) }}
        FILTER(isIRI(?i) && ?i != <https://w3id.org/policygraph/def>) }} }}""")
    used = {r["i"] for r in rows if r["i"]}
    section = next(s for s in find(ontology_page, "section") if s.attrs.get("aria-labelledby") == "sec-namespaces")
    listed = [c.get_text() for c in find(section, "code", class_="namespace")]
    assert listed
    for iri in used:
        assert any(iri.startswith(ns) for ns in listed), f"no namespace of {iri} in the table"
    for ns in listed:
        assert any(iri.startswith(ns) for iri in used), f"{ns} is listed but the ontology uses none of it"
    for ns in ("https://w3id.org/policygraph/def#", "http://www.w3.org/2004/02/skos/core#",
               "http://www.w3.org/2002/07/owl#"):
        assert ns in listed


def test_class_domain_and_range_lists_equal_the_axioms(store, ontology_page):
    classes = [r["c"] for r in select(store, f"""SELECT ?c WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?c a owl:Class }}
        FILTER(STRSTARTS(STR(?c), "{PG}")) }}""")]
    axioms = select(store, f"""SELECT ?p ?axiom ?c ?other WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        ?p ?axiom ?c FILTER(?axiom IN (rdfs:domain, rdfs:range))
        OPTIONAL {{ ?p ?opposite ?other
                    FILTER(?opposite IN (rdfs:domain, rdfs:range) && ?opposite != ?axiom) }} }} }}""")
    for c in classes:
        article = by_id(ontology_page, local(c))
        for axiom, cls in (("domain", "domain-of"), ("range", "range-of")):
            expected: dict[str, set[str]] = {}
            for r in axioms:
                if r["c"] == c and r["axiom"].endswith(axiom):
                    expected.setdefault(r["p"], set()).update({r["other"]} if r["other"] else set())
            tables = find(article, "table", class_=cls)
            shown = {}
            for tr in (find(tables[0], "tr")[1:] if tables else []):
                prop = hrefs(find(tr, "th")[0])[0]
                shown[PG + prop.removeprefix("#")] = {h for h in hrefs(find(tr, "td")[0])}
            assert set(shown) == set(expected), f"{c} {axiom}"
            for p, others in expected.items():   # the other end of each property, linked
                assert {h.removeprefix("#") for h in shown[p]} >= {local(o) for o in others if o.startswith(PG)}


def test_every_concept_of_every_code_list(store, ontology_page):
    concepts = select(store, """SELECT ?scheme ?c (SAMPLE(?n) AS ?notation) (SAMPLE(?ja) AS ?label) WHERE {
        ?scheme a skos:ConceptScheme FILTER NOT EXISTS { ?scheme a pg:SupportPlan }
        FILTER NOT EXISTS { ?i skos:inScheme ?scheme ; a pg:Indicator }
        ?c skos:inScheme ?scheme OPTIONAL { ?c skos:notation ?n }
        OPTIONAL { ?c skos:prefLabel ?ja FILTER(lang(?ja) = "ja") } } GROUP BY ?scheme ?c""")
    schemes = {r["scheme"] for r in concepts}
    assert "https://w3id.org/policygraph/id/code/budget-stage" in schemes and len(concepts) > 100
    rows = {tr.attrs["data-iri"]: tr for tr in find(ontology_page, "tr") if "data-iri" in tr.attrs}
    for r in concepts:
        row = rows[r["c"]]
        if r["notation"]:
            assert r["notation"] in [c.get_text() for c in find(row, "code", class_="notation")]
        assert r["label"] is None or r["label"] in row.get_text()
        assert r["c"].removeprefix("https://w3id.org/policygraph") in hrefs(row)[0]   # the concept's own page
    for scheme in schemes:
        assert ontology_page.find(id=scheme.removeprefix("https://w3id.org/policygraph/")) is not None


def test_class_diagram_is_svg_with_a_box_per_class_and_an_arrow_per_subclass(store, client, ontology_page):
    r = client.get("/ontology/diagram.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    svg = ET.fromstring(r.content)
    assert svg.tag == SVG + "svg" and svg.get("role") == "graphics-document" and svg.find(SVG + "title").text
    classes = {r["c"] for r in select(store, f"SELECT ?c WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?c a owl:Class }} }}")}
    boxes = [g.get("data-iri") for g in svg.iter(SVG + "g") if "node" in (g.get("class") or "").split()]
    assert len(boxes) == len(set(boxes)) and classes <= set(boxes)
    subclass = select(store, f"""SELECT ?s ?o WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        ?s rdfs:subClassOf ?o . ?s a owl:Class }} }}""")
    arrows = [(p.get("data-from"), p.get("data-to")) for p in svg.iter(SVG + "path")
              if (p.get("class") or "").split()[:2] == ["edge", "subclass"]]
    assert sorted(arrows) == sorted((r["s"], r["o"]) for r in subclass)
    props = select(store, f"""SELECT ?p ?d ?r WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?p a owl:ObjectProperty ;
        rdfs:domain ?d ; rdfs:range ?r }} }}""")
    drawn = {(p.get("data-from"), p.get("data-to")): p.findtext(SVG + "title") or "" for p in svg.iter(SVG + "path")
             if "property" in (p.get("class") or "").split()}
    labels = " ".join(t.text or "" for t in svg.iter(SVG + "tspan"))
    for row in props:
        assert (row["d"], row["r"]) in drawn and local(row["p"]) in labels
    inline = by_id(ontology_page, "sec-diagram")
    assert inline is not None
    html = client.get("/ontology", headers={"Accept": "text/html"}).text
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="class-diagram"')
    figure = html[start:html.index("</svg>", start) + 6]
    assert ET.fromstring(figure).get("aria-labelledby")   # the inline copy is well-formed XML too


def test_shapes_page_lists_every_node_shape_with_its_target(store, client, ontology_page):
    sh = "PREFIX sh: <http://www.w3.org/ns/shacl#> "
    shapes = select(store, sh + f"""SELECT ?shape ?target WHERE {{ GRAPH <{SHAPES_GRAPH}> {{
        ?shape a sh:NodeShape OPTIONAL {{ ?shape sh:targetClass ?target }} }} }}""")
    messages = select(store, sh + f"""SELECT ?shape ?ja ?en WHERE {{ GRAPH <{SHAPES_GRAPH}> {{
        ?shape sh:property/sh:message ?ja, ?en
        FILTER(lang(?ja) = "ja" && lang(?en) = "en") }} }}""")
    ja, en = page(client, "/shapes"), page(client, "/shapes", "en")
    assert len({r["shape"] for r in shapes}) > 20
    for r in shapes:
        article = by_id(ja, r["shape"].rsplit("#", 1)[-1])
        if r["target"]:
            assert f"/ontology#{local(r['target'])}" in hrefs(article)
            # and the class's documentation names the shapes that check it
            assert f"/shapes#{r['shape'].rsplit('#', 1)[-1]}" in hrefs(by_id(ontology_page, local(r["target"])))
    for r in messages:
        name = r["shape"].rsplit("#", 1)[-1]
        assert r["ja"] in by_id(ja, name).get_text() and r["en"] in by_id(en, name).get_text()
        assert r["en"] not in by_id(ja, name).get_text()   # the page's language, not both


def test_english_page_puts_english_first(client):
    en, ja = page(client, "/ontology", "en"), page(client, "/ontology", "ja")
    for tree, first, second in ((en, "public program", "公的施策・事業"), (ja, "公的施策・事業", "public program")):
        spans = find(by_id(tree, "PublicProgram-h"), "span")
        assert [s.get_text() for s in spans if s.attrs.get("lang")][:2] == [first, second]
    assert find(en, "h1")[0].get_text() == "policygraph ontology"
    draft = next(tr for tr in find(en, "tr") if tr.attrs.get("data-iri", "").endswith("budget-stage/draft"))
    assert [td.get_text() for td in find(draft, "td")][:2] == ["draft budget", "予算案"]


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_no_horizontal_overflow_on_a_phone(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    driver = chromium()
    try:
        with Server(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as site:
            driver.set_window_size(390, 900)
            for path in ("/ontology", "/shapes", "/ontology?lang=en"):
                driver.get(site.url + path)
                width = driver.execute_script("return window.innerWidth")
                assert driver.execute_script("return document.documentElement.scrollWidth") <= width, path
            driver.get(site.url + "/ontology")
            box = driver.execute_script(
                "return document.querySelector('svg.class-diagram').getBoundingClientRect().width")
            assert 0 < box <= 390
    finally:
        driver.quit()
        engine.close()
