"""Linked Data publication: dereferenceable IRIs, pages, ontology docs, dataset description, dumps."""

from __future__ import annotations

import dataclasses
import html
import json

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS, VOID

from policygraph.web.app import Settings, create_app
from policygraph.store.named_queries import load_queries
from policygraph.store.query_check import Limits
from policygraph.store.embedded import EmbeddedEngine, StoreSource

from conftest import ROOT

ID = "https://w3id.org/policygraph/id/"
RESOURCES = ["prefecture/20", "prefectural-project/20/070201", "sub-project/20/070201/2", "initiative/20/070201/1/2",
             "national-program/2008/3-2-2-a", "alignment/regional-hub-one-stop-network", "fiscal-year/2019",
             "kpi/20/070201/1", "code/budget-stage/draft"]
FORMATS = [("text/turtle", "turtle", "ttl"), ("application/ld+json", "json-ld", "jsonld"),
           ("application/n-triples", "nt", "nt"), ("application/rdf+xml", "xml", "rdf")]


@pytest.fixture(autouse=True)
def _no_language_carried_over(request):
    """The module's client keeps cookies: a test that chose English must not leave the next one in English."""
    yield
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("accept,fmt,param", FORMATS)
def test_content_negotiation(client, path, accept, fmt, param):
    iri = URIRef(ID + path)
    responses = (client.get(f"/id/{path}", headers={"Accept": accept}),
                 client.get(f"/id/{path}", params={"format": param}))
    for r in responses:
        assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
        assert "Accept" in r.headers["vary"]
        g = Graph().parse(data=r.text, format=fmt)
        assert len(g) > 0 and set(g.subjects()) == {iri}, "the triples whose subject is the IRI"
    assert 'rel="alternate"' in r.headers["link"] and "format=ttl" in r.headers["link"]


def test_turtle_about_nagano(client):
    r = client.get("/id/prefecture/20", headers={"Accept": "text/turtle"})
    g = Graph().parse(data=r.text, format="turtle")
    assert (URIRef(ID + "prefecture/20"), RDFS.label, Literal("長野県", lang="ja")) in g


def test_html_page_of_nagano_links_to_the_project(client):
    r = client.get("/id/prefecture/20", headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("text/html") and '<html lang="ja">' in r.text
    assert "長野県" in r.text and 'href="/id/prefectural-project/20/070201"' in r.text
    assert "中小企業経営支援関連事業費" in r.text
    en = client.get("/id/prefecture/20", params={"lang": "en"}, headers={"Accept": "text/html"})
    assert "<h1>Nagano Prefecture</h1>" in en.text and '<html lang="en">' in en.text


def test_project_page_has_budget_table_chart_and_provenance(client):
    html = client.get("/id/prefectural-project/20/070201", headers={"Accept": "text/html"}).text
    assert 'id="budget"' in html and "368,078" in html and "1,029,173" in html and "<svg" in html
    assert "事業改善シート" in html and "出典" in html and "参照元" in html
    assert "https://cdn" not in html and "//fonts.googleapis" not in html  # no external asset
    assert "CC BY 4.0" in html


def test_pages_are_paginated(client):
    # ~140 observations link here
    first = client.get("/id/code/funding-source/all", headers={"Accept": "text/html"}).text
    assert 'rel="next"' in first
    second = client.get("/id/code/funding-source/all", params={"page": 2}, headers={"Accept": "text/html"}).text
    assert 'rel="prev"' in second


def test_unknown_iri_is_404(client):
    r = client.get("/id/prefecture/99", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "見つかりません" in r.text and "/queries/search" in r.text
    r = client.get("/id/prefecture/99", headers={"Accept": "text/turtle"})
    assert r.status_code == 404 and r.json()["error"] == "not found"
    assert client.get("/id/bad%20path>").status_code == 404


def test_ontology_by_content_negotiation_and_docs(client):
    g = Graph().parse(data=client.get("/ontology", headers={"Accept": "text/turtle"}).text, format="turtle")
    assert (URIRef("https://w3id.org/policygraph/def"), URIRef("http://www.w3.org/2002/07/owl#versionIRI"), None) in g
    assert client.get("/def", headers={"Accept": "application/ld+json"}).status_code == 200
    html = client.get("/ontology", headers={"Accept": "text/html"}).text
    assert 'id="PublicProgram"' in html and "公的施策・事業" in html and "public program" in html
    shapes = client.get("/shapes", headers={"Accept": "text/html"}).text
    assert "ComponentSumShape" in shapes and "BudgetObservationShape" in shapes
    sg = Graph().parse(data=client.get("/shapes", params={"format": "ttl"}).text, format="turtle")
    assert (None, RDF.type, URIRef("http://www.w3.org/ns/shacl#NodeShape")) in sg


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/ld+json", "json-ld")])
def test_dataset_description(client, accept, fmt, build):
    g = Graph().parse(data=client.get("/dataset", headers={"Accept": accept}).text, format=fmt)
    ds = URIRef(ID + "dataset/policygraph")
    assert (ds, RDF.type, VOID.Dataset) in g and (ds, RDF.type, DCAT.Dataset) in g
    assert str(g.value(ds, VOID.sparqlEndpoint)).endswith("/sparql")
    assert g.value(ds, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert {str(o) for o in g.objects(ds, VOID.vocabulary)} >= {"https://w3id.org/policygraph/def#"}
    counts = {str(s): int(g.value(s, VOID.triples)) for s in g.objects(ds, VOID.subset)}
    assert counts == build.counts
    dists = list(g.objects(ds, DCAT.distribution))
    assert len(dists) == 5
    for d in dists:
        assert int(g.value(d, DCAT.byteSize)) > 1000 and g.value(d, DCAT.downloadURL) and g.value(d, DCAT.mediaType)
    assert g.value(ds, DCTERMS.modified) is not None and list(g.objects(ds, VOID.exampleResource))
    page = client.get("/dataset", headers={"Accept": "text/html"}).text
    assert "/sparql" in page and "CC BY 4.0" in page


@pytest.mark.parametrize("name,fmt,media", [("policygraph.trig", "trig", "application/trig"),
                                            ("policygraph.nt", "nt", "application/n-triples"),
                                            ("policygraph.ttl", "turtle", "text/turtle"),
                                            ("policygraph.jsonld", "json-ld", "application/ld+json")])
def test_dumps(client, name, fmt, media):
    r = client.get(f"/dumps/{name}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    if fmt in ("trig", "json-ld"):
        from rdflib import Dataset
        assert len(list(Dataset().parse(data=r.content, format=fmt).graphs())) >= 7
    else:
        assert len(Graph().parse(data=r.content, format=fmt)) > 5000
    assert client.get("/dumps/secret.txt").status_code == 404


def test_home_and_query_pages(client):
    home = client.get("/").text
    for link in ("/id/prefecture/20", "/id/national-plan/2008", "/query", "/docs", "/dumps/policygraph.trig",
                 "/dataset"):
        assert f'href="{link}"' in home
    page = client.get("/query").text
    assert 'src="/static/query.js"' in page and "national-programs" in page
    assert client.get("/static/query.js").status_code == 200 and client.get("/static/style.css").status_code == 200
    examples = json.loads(page.split('<script id="example-data" type="application/json">')[1].split("</script>")[0])
    assert "VALUES" in examples["budget-trend"]
    # the page opens with the named query tagged "start", not with a query written into the code
    editor = page.split('<textarea id="query"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert html.unescape(editor) == examples["sub-project-budgets"]


@pytest.mark.parametrize("header, lang", [
    ("en-US,en;q=0.9", "en"), ("ja,en;q=0.8", "ja"), ("en;q=0.5, ja;q=0.9", "ja"), ("fr, en-GB;q=0.7", "en"),
    ("fr, de", "ja"), ("", "ja"), ("en;q=0", "ja"), ("en;q=abc, ja", "ja"), ("*", "ja"),
])
def test_accept_language_picks_the_page_language(header, lang):
    from policygraph.web.html import _accepted_language
    assert _accepted_language(header) == lang


def test_the_language_choice_sticks_across_links(dist):
    engine = EmbeddedEngine(StoreSource(dist / "policygraph.nq"), workers=1)
    with TestClient(create_app(engine, Settings(), load_queries(ROOT / "queries"), dist)) as c:
        assert c.get("/id/prefecture/20", headers={"Accept": "text/html"}).headers["content-language"] == "ja"
        first = c.get("/?lang=en")
        assert first.cookies.get("lang") == "en" and 'lang="en"' in first.text
        page = c.get("/id/prefecture/20", headers={"Accept": "text/html"})  # no ?lang=: the cookie decides
        assert page.headers["content-language"] == "en" and "Nagano" in page.text
        assert {"Accept", "Accept-Language", "Cookie"} <= {v.strip() for v in page.headers["vary"].split(",")}
        assert c.get("/?lang=ja").cookies.get("lang") == "ja"
        assert c.get("/query").headers["content-language"] == "ja"
        with TestClient(c.app) as fresh:  # a new visitor, no cookie: the browser's language
            page = fresh.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
            assert page.headers["content-language"] == "en" and "lang" not in page.cookies
    engine.close()


def test_the_query_page_opens_the_query_in_its_address(client):
    hostile = 'SELECT * { ?s ?p "</textarea><script>alert(1)</script>" }'
    page = client.get("/query", params={"query": hostile}).text
    editor = page.split('<textarea id="query"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert html.unescape(editor) == hostile and "<script>alert" not in page
    settings = client.app.state.settings  # the default limit (256 KiB) is past what a URL may hold
    client.app.state.settings = dataclasses.replace(settings, limits=Limits(max_chars=100))
    try:
        too_long = client.get("/query", params={"query": "#" * 101})
    finally:
        client.app.state.settings = settings
    assert too_long.status_code == 400 and too_long.json()["error"] == "query too long"


def test_a_download_is_a_file_excel_reads_as_utf8(client):
    query = 'SELECT ?name WHERE { <https://w3id.org/policygraph/id/prefecture/20> rdfs:label ?name }'
    query = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" + query
    plain = client.get("/sparql", params={"query": query, "format": "csv"})
    saved = client.get("/sparql", params={"query": query, "format": "csv", "download": "1"})
    assert not plain.content.startswith(b"\xef\xbb\xbf") and "content-disposition" not in plain.headers
    assert saved.content == b"\xef\xbb\xbf" + plain.content and "長野県" in saved.content.decode("utf-8-sig")
    assert saved.headers["content-disposition"] == 'attachment; filename="query-results.csv"'
    assert saved.headers["etag"] != plain.headers["etag"]
    as_json = client.get("/sparql", params={"query": query, "format": "json", "download": "1"})
    assert as_json.content.startswith(b"{") and as_json.headers["content-disposition"].endswith('.srj"')
    bad = client.get("/sparql", params={"query": query, "download": "yes"})
    assert bad.status_code == 400 and "download" in bad.json()["detail"]


def test_every_dump_states_the_licence(dist):
    g = Graph().parse(dist / "policygraph.nt")
    ds = URIRef(ID + "dataset/policygraph")
    assert g.value(ds, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert {o.language for o in g.objects(ds, DCTERMS.rights)} == {"ja", "en"}
