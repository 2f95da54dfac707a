"""The fast entailment rules give exactly owlrl's triples (the reference), on the shipped data and
on each OWL construct, and hand a graph to owlrl whenever it needs more than they implement."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef

from policygraph.quality import inference
from policygraph.quality.inference import InconsistencyError, entailments

PREFIXES = """
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix pg: <https://w3id.org/policygraph/def#> . @prefix id: <https://w3id.org/policygraph/id/> .
"""
ONTOLOGY_GRAPH = URIRef("https://w3id.org/policygraph/graph/ontology")


def by_owlrl(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> Graph:
    with monkeypatch.context() as m:
        m.setattr(inference, "_closure", lambda g: None)
        return entailments(graph)


def graph(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


CASES = {
    "sub-class chain": "pg:A rdfs:subClassOf pg:B . pg:B rdfs:subClassOf pg:C . id:x a pg:A .",
    "sub-property with domain and range": """pg:p rdfs:subPropertyOf pg:q . pg:q rdfs:domain pg:D ; rdfs:range pg:R .
        pg:D rdfs:subClassOf pg:E . id:x pg:p id:y . id:z pg:p "literal" .""",
    "inverse both ways": "pg:p owl:inverseOf pg:q . id:x pg:p id:y . id:z pg:q id:w .",
    "symmetric under a sub-property": "pg:s a owl:SymmetricProperty . pg:t rdfs:subPropertyOf pg:s . id:x pg:t id:y .",
    "property chain": """pg:link owl:propertyChainAxiom (pg:a pg:b) . pg:link rdfs:subPropertyOf pg:top .
        pg:b rdfs:subPropertyOf pg:c . id:x pg:a id:m . id:m pg:b id:y . id:m pg:c id:n .""",
    "inverse feeding a chain": """pg:link owl:propertyChainAxiom (pg:a pg:b) . pg:ai owl:inverseOf pg:a .
        id:m pg:ai id:x . id:m pg:b id:y .""",
    "functional with one value": "pg:f a owl:FunctionalProperty ; rdfs:domain pg:F . id:x pg:f id:y .",
    # the fast rules do not equate values: these go to owlrl
    "functional with two values": "pg:f a owl:FunctionalProperty . id:x pg:f id:y, id:z . id:y pg:q id:w .",
    "equivalent classes": "pg:A owl:equivalentClass pg:B . id:x a pg:A .",
    "sameAs": "id:x owl:sameAs id:y . id:y pg:p id:z .",
}


@pytest.mark.parametrize("name", CASES)
def test_the_fast_rules_give_owlrls_triples(name, monkeypatch):
    g = graph(CASES[name])
    fast = entailments(g)
    assert set(fast) == set(by_owlrl(g, monkeypatch))
    assert len(fast) > 0


@pytest.mark.parametrize("name", ["functional with two values", "equivalent classes", "sameAs"])
def test_what_the_fast_rules_do_not_implement_goes_to_owlrl(name):
    assert inference._closure(graph(CASES[name])) is None


def test_disjoint_members_are_refused_by_both(monkeypatch):
    g = graph("pg:A owl:disjointWith pg:B . pg:C rdfs:subClassOf pg:B . id:x a pg:A , pg:C .")
    with pytest.raises(InconsistencyError, match="id/x"):
        entailments(g)
    with pytest.raises(InconsistencyError):
        by_owlrl(g, monkeypatch)


@pytest.mark.slow
def test_the_fast_rules_give_owlrls_triples_on_the_shipped_data(build, monkeypatch):
    """owlrl takes 12-18 s on the shipped graph: run in CI's slow pass."""
    asserted = Graph()
    for g in build.dataset.graphs():
        if g.identifier not in (URIRef("https://w3id.org/policygraph/graph/shapes"),
                                URIRef("https://w3id.org/policygraph/graph/inferred")):
            for t in g:
                asserted.add(t)
    assert inference._closure(asserted) is not None  # the shipped data takes the fast path
    inferred = set(build.dataset.graph(URIRef("https://w3id.org/policygraph/graph/inferred")))
    assert inferred == set(by_owlrl(asserted, monkeypatch))
    assert len(inferred) > 1000
