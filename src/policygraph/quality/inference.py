"""Materialise the ontology's OWL 2 RL entailments over the data into a graph of their own.

A query for all pg:PublicProgram members, or for dcterms:hasPart, then finds what the data
states with pg:NationalProgram or pg:hasComponent, on any SPARQL store, with no reasoner at
query time. Only new triples about our own resources are kept: the closure's bookkeeping
(owl:sameAs x x, rdfs:Resource, facts about the standard vocabularies) is noise to a user.
"""

from __future__ import annotations

import owlrl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from policygraph.transform.ids import BASE

_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")
_NOISE_OBJECTS = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}


class InconsistencyError(ValueError):
    """The data contradicts the ontology (owl:Nothing members, disjoint classes shared)."""


def _ours(s) -> bool:
    return isinstance(s, URIRef) and str(s).startswith(BASE + "id/")


def entailments(asserted: Graph) -> Graph:
    """The new triples OWL 2 RL derives from ``asserted`` (ontology + data)."""
    closure = Graph()
    for t in asserted:
        closure.add(t)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(closure)
    errors = [str(o) for s in closure.subjects(RDF.type, _ERROR)
              for o in closure.objects(s, URIRef("http://www.daml.org/2002/03/agents/agent-ont#error"))]
    nothing = [str(s) for s in closure.subjects(RDF.type, OWL.Nothing) if not isinstance(s, BNode)]
    if errors or nothing:
        raise InconsistencyError("the graph is inconsistent with the ontology:\n  " +
                                 "\n  ".join(errors + [f"{n} is a member of owl:Nothing" for n in nothing]))
    inferred = Graph()
    for s, p, o in closure:
        if (s, p, o) in asserted or not _ours(s) or isinstance(o, BNode):
            continue
        if p == OWL.sameAs or (p == RDF.type and o in _NOISE_OBJECTS):
            continue
        if isinstance(o, Literal) and p == RDF.type:
            continue
        inferred.add((s, p, o))
    return inferred
