"""Search (/search) against SPARQL over the same store: one row per resource, with its labels, types
and prefecture as the graph holds them; relevance order, paging and filters; bad input is a 400."""

from __future__ import annotations

import pytest
from conftest import select


PG = "https://w3id.org/policygraph/def#"
TEXT = "支援"   # a word many names share: several pages of results
# the resources whose label in any language contains a text (what search must find, each once)
CONTAINS = """SELECT DISTINCT ?r WHERE {{ ?r rdfs:label|skos:prefLabel|skos:altLabel ?l {extra}
  FILTER(STRSTARTS(STR(?r), "https://w3id.org/policygraph/id/") && CONTAINS(LCASE(STR(?l)), LCASE("{text}"))) }}"""
# a resource with two of our types and a generic one, labels in Japanese and English, and a prefecture
# (its own or its program's)
MANY = """SELECT ?r (SAMPLE(?ja) AS ?label) WHERE {
  ?r pg:prefecture|pg:indicatorOf/pg:prefecture ?p ; rdfs:label ?ja , ?en ; a ?t1 , ?t2 , ?t3 .
  FILTER(lang(?ja) = "ja" && lang(?en) = "en" && ?t1 != ?t2 && !STRSTARTS(STR(?t3), STR(pg:)))
  FILTER(STRSTARTS(STR(?t1), STR(pg:)) && STRSTARTS(STR(?t2), STR(pg:)))
  FILTER(STRSTARTS(STR(?r), "https://w3id.org/policygraph/id/"))
} GROUP BY ?r ORDER BY ?r LIMIT 1"""


def found(client, **params) -> dict:
    r = client.get("/search", params={**params, "format": "json"})
    assert r.status_code == 200, r.text
    return r.json()


def every_page(client, **params) -> list[dict]:
    results, page = [], 1
    while True:
        doc = found(client, **params, page=page)
        results += doc["results"]
        if not doc["next"]:
            return results
        page += 1


def test_a_resource_with_several_types_and_labels_is_one_row(client, store):
    subject = select(store, MANY)[0]
    iri = subject["r"]
    label = 'SELECT ?l WHERE {{ <{}> rdfs:label ?l FILTER(lang(?l) = "{}") }}'
    labels = {lang: {r["l"] for r in select(store, label.format(iri, lang))} for lang in ("ja", "en")}
    types = {r["t"] for r in select(store, f"SELECT ?t WHERE {{ <{iri}> a ?t }}")}
    code = select(store, f"SELECT ?c WHERE {{ <{iri}> (pg:prefecture|pg:indicatorOf/pg:prefecture)/skos:notation ?c }}"
                  )[0]["c"]
    assert len(types) >= 3 and labels["ja"] and labels["en"], "the subject has several types and labels"
    results = every_page(client, q=subject["label"])
    rows = [r for r in results if r["iri"] == iri]
    assert len(rows) == 1, "listed once, whatever the number of its types and labels"
    row = rows[0]
    assert row["label"]["ja"] in labels["ja"] and row["label"]["en"] in labels["en"]
    assert {t["iri"] for t in row["types"]} == {t for t in types if t.startswith(PG)}, "our types, no generic ones"
    assert row["prefecture"]["code"] == code and row["prefecture"]["label"]["ja"]
    assert row["match"] == "exact" and results[0]["match"] == "exact"
    assert len({r["iri"] for r in results}) == len(results), "no resource twice"
    # the page shows the same single row with both labels and a link
    html = client.get("/search", params={"q": subject["label"]}, headers={"Accept": "text/html"}).text
    assert html.count(f'data-iri="{iri}"') == 1
    assert row["label"]["en"] in html and f'href="{row["url"]}"' in html


def test_finds_what_the_graph_holds_in_relevance_order_across_pages(client, store):
    results = every_page(client, q=TEXT)
    expected = {r["r"] for r in select(store, CONTAINS.format(text=TEXT, extra=""))}
    assert len(expected) > 50, "more than one page"
    assert [r["iri"] for r in results] and {r["iri"] for r in results} == expected
    assert len(results) == len(expected) == found(client, q=TEXT)["total"]
    ranks = [("exact", "prefix", "contains").index(r["match"]) for r in results]
    assert ranks == sorted(ranks), "exact matches first, then prefixes, then the rest"
    assert len(found(client, q=TEXT)["results"]) == 50


def test_type_and_prefecture_filters(client, store):
    by_type = every_page(client, q=TEXT, type="pg:PrefecturalProject")
    expected = {r["r"] for r in select(store, CONTAINS.format(text=TEXT, extra=". ?r a pg:PrefecturalProject"))}
    assert expected and {r["iri"] for r in by_type} == expected
    assert all(PG + "PrefecturalProject" in {t["iri"] for t in r["types"]} for r in by_type)
    in_nagano = every_page(client, q=TEXT, prefecture="20")
    expected = {r["r"] for r in select(store, CONTAINS.format(
        text=TEXT, extra=". ?r pg:prefecture|pg:indicatorOf/pg:prefecture id:prefecture\\/20"))}
    assert expected and {r["iri"] for r in in_nagano} == expected
    assert all(r["prefecture"]["code"] == "20" for r in in_nagano)
    everything = {r["iri"] for r in every_page(client, q=TEXT)}
    assert {r["iri"] for r in in_nagano} < everything and {r["iri"] for r in by_type} < everything


def test_html_for_browsers_json_for_api_clients(client):
    html = client.get("/search", params={"q": TEXT}, headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<caption>" in html.text and '<th scope="col">' in html.text and '<th scope="row"' in html.text
    assert '<label for="search-q">' in html.text and 'rel="next"' in html.text
    doc = client.get("/search", params={"q": TEXT}, headers={"Accept": "application/json"})
    assert doc.headers["content-type"].startswith("application/json") and doc.json()["total"] > 50


def test_no_text_shows_the_empty_form(client):
    for params in ({}, {"q": ""}, {"q": "   "}):
        r = client.get("/search", params=params, headers={"Accept": "text/html"})
        assert r.status_code == 200 and 'id="search-q"' in r.text and "search-results" not in r.text
    assert found(client, q="")["results"] == []


@pytest.mark.parametrize("text", ['"} } SELECT * WHERE { ?s ?p ?o', "\\", "'", "a\nb", ")) FILTER(true", "\u0000"])
def test_hostile_text_is_only_text(client, text):
    doc = found(client, q=text)
    assert all(text.strip().lower() in (r["label"]["ja"] or "").lower() + (r["label"]["en"] or "").lower()
               for r in doc["results"] if "\n" not in text)


@pytest.mark.parametrize("params,name", [
    ({"q": "a" * 201}, "q"), ({"q": "支" * 201}, "q"), ({"q": TEXT, "type": "pg:Nothing"}, "type"),
    ({"q": TEXT, "prefecture": "99"}, "prefecture"), ({"q": TEXT, "prefecture": "２０"}, "prefecture"),
    ({"q": TEXT, "page": "0"}, "page"), ({"q": TEXT, "page": "x"}, "page"), ({"q": TEXT, "format": "xml"}, "format"),
])
def test_bad_parameters_are_400_naming_them(client, params, name):
    r = client.get("/search", params=params, headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["parameter"] == name
    r = client.get("/search", params=params, headers={"Accept": "text/html"})
    assert r.status_code == 400 and f"{name}:" in r.text
    assert client.get("/search", params={**params, "q": "a" * 200} if name == "q" else {"q": TEXT}).status_code == 200
