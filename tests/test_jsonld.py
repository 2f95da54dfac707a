"""JSON-LD people can read: compacted with the ontology's prefixes as its @context, in the dumps,
the resource pages and CONSTRUCT answers, and read back to the same triples."""

from __future__ import annotations

import json
from collections import Counter

import pyoxigraph as ox
from rdflib import Dataset, Graph

from policygraph.transform.ids import JSONLD_CONTEXT

NAGANO = "https://w3id.org/policygraph/id/prefecture/20"


def test_a_resource_in_json_ld_is_compact_and_the_same_triples_as_in_turtle(client):
    answer = client.get("/id/prefecture/20", headers={"Accept": "application/ld+json"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/ld+json")
    doc = answer.json()
    assert doc["@context"] == JSONLD_CONTEXT
    text = answer.text
    assert '"rdfs:label"' in text and '"skos:notation"' in text and "http://www.w3.org/2000/01/rdf-schema#" not in \
        text.split('"@context"')[1].split("}", 1)[1]  # full IRIs only in the context itself
    turtle = client.get("/id/prefecture/20", headers={"Accept": "text/turtle"}).text
    assert Graph().parse(data=text, format="json-ld").isomorphic(Graph().parse(data=turtle, format="turtle"))


def test_a_construct_answer_in_json_ld_is_compact(client):
    query = f"CONSTRUCT {{ <{NAGANO}> ?p ?o }} WHERE {{ <{NAGANO}> ?p ?o }}"
    answer = client.get("/sparql", params={"query": query, "format": "jsonld"})
    assert answer.status_code == 200 and answer.json()["@context"]["pg"] == "https://w3id.org/policygraph/def#"
    assert len(Graph().parse(data=answer.text, format="json-ld")) == int(answer.headers["x-result-rows"])


def test_the_json_ld_dump_is_compact_and_holds_every_quad_of_the_n_quads_dump(dist):
    text = (dist / "policygraph.jsonld").read_text(encoding="utf-8")
    assert json.loads(text)["@context"] == JSONLD_CONTEXT
    back = Dataset()
    back.parse(data=text, format="json-ld")
    per_graph = Counter(str(g) for _, _, _, g in back.quads((None, None, None, None)))
    expected = Counter(q.graph_name.value for q in ox.parse(path=str(dist / "policygraph.nq"),
                                                            format=ox.RdfFormat.N_QUADS))
    assert per_graph == expected

    def ground(quads):  # quads without blank nodes, as N-Triples-like strings
        return {" ".join(t.n3() for t in q) for q in quads if not any(t.n3().startswith("_:") for t in q)}
    nquads = Dataset()
    nquads.parse(dist / "policygraph.nq", format="nquads")
    assert ground(back.quads((None, None, None, None))) == ground(nquads.quads((None, None, None, None)))
