"""Materialise the ontology's OWL 2 RL entailments over the data into a graph of their own.

A query for all pg:PublicProgram members, or for dcterms:hasPart, then finds what the data
states with pg:NationalProgram or pg:hasComponent, on any SPARQL store, with no reasoner at
query time. Only new triples about our own resources are kept: the closure's bookkeeping
(owl:sameAs x x, rdfs:Resource, facts about the standard vocabularies) is noise to a user.

Two ways to the same triples. owlrl (the reference, a full OWL 2 RL closure) takes 12-18 s on the
shipped graph, most of every build. The rules our ontology actually uses (sub-class, sub-property,
domain, range, inverse, symmetric, property chains, disjointness) applied to a fixpoint in
``_closure`` take well under a second and give the identical triples (tests/test_inference.py
compares them on the shipped data and on every construct). Whenever a graph needs more than those
rules (an OWL construct outside that list, owl:sameAs, or a functional property with two values,
which makes owlrl equate them), the reference runs instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import owlrl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from policygraph.transform.ids import BASE

Triple = tuple[Node, Node, Node]

_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")
_NOISE_OBJECTS = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
# what _closure implements; any other OWL term in a graph sends it to owlrl
_SUPPORTED_OWL = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Ontology,
                  OWL.versionIRI, OWL.versionInfo, OWL.FunctionalProperty, OWL.SymmetricProperty,
                  OWL.inverseOf, OWL.propertyChainAxiom, OWL.disjointWith, OWL.Thing, OWL.NamedIndividual}


class InconsistencyError(ValueError):
    """The data contradicts the ontology (owl:Nothing members, disjoint classes shared)."""


def _ours(s: Node) -> bool:
    return isinstance(s, URIRef) and str(s).startswith(BASE + "id/")


def entailments(asserted: Graph) -> Graph:
    """The new triples OWL 2 RL derives from ``asserted`` (ontology + data)."""
    closure = _closure(asserted)
    if closure is None:
        closure = set(_owlrl_closure(asserted))
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


def _owlrl_closure(asserted: Graph) -> Graph:
    closure = Graph()
    for t in asserted:
        closure.add(t)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(closure)
    errors = [str(o) for s in closure.subjects(RDF.type, _ERROR)
              for o in closure.objects(s, URIRef("http://www.daml.org/2002/03/agents/agent-ont#error"))]
    nothing = [str(s) for s in closure.subjects(RDF.type, OWL.Nothing) if not isinstance(s, BNode)]
    _refuse(errors + [f"{n} is a member of owl:Nothing" for n in nothing])
    return closure


def _refuse(problems: list[str]) -> None:
    if problems:
        raise InconsistencyError("the graph is inconsistent with the ontology:\n  " + "\n  ".join(problems))


class _Schema:
    """The axioms the fast rules use, read from the graph (T-box and data are one graph here)."""

    def __init__(self, g: Graph):
        self.super_classes = _reflexive_closure(g, RDFS.subClassOf)
        self.super_properties = _reflexive_closure(g, RDFS.subPropertyOf)
        self.domains = _objects_by_subject(g, RDFS.domain)
        self.ranges = _objects_by_subject(g, RDFS.range)
        self.inverses = _objects_by_subject(g, OWL.inverseOf)
        for p, qs in list(self.inverses.items()):
            for q in qs:
                self.inverses[q].add(p)
        self.symmetric = set(g.subjects(RDF.type, OWL.SymmetricProperty))
        self.functional = set(g.subjects(RDF.type, OWL.FunctionalProperty))
        self.chains = [(p, list(Collection(g, lst))) for p, lst in g.subject_objects(OWL.propertyChainAxiom)]
        self.disjoint = set(g.subject_objects(OWL.disjointWith))


def _objects_by_subject(g: Graph, predicate: URIRef) -> defaultdict[Node, set[Node]]:
    out: defaultdict[Node, set[Node]] = defaultdict(set)
    for s, o in g.subject_objects(predicate):
        out[s].add(o)
    return out


def _reflexive_closure(g: Graph, predicate: URIRef) -> defaultdict[Node, set[Node]]:
    """Every term's ancestors along ``predicate`` (itself included): scm-sco / scm-spo."""
    direct = _objects_by_subject(g, predicate)
    closed: defaultdict[Node, set[Node]] = defaultdict(set)
    for start in list(direct):
        seen, todo = {start}, [start]
        while todo:
            for nxt in direct.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closed[start] = seen
    return closed


def _needs_reference(g: Graph) -> bool:
    """Whether the graph uses OWL beyond what _closure implements."""
    owl = str(OWL)
    for _s, p, o in g:
        if p == OWL.sameAs or (str(p).startswith(owl) and p not in _SUPPORTED_OWL):
            return True
        if p == RDF.type and isinstance(o, URIRef) and str(o).startswith(owl) and o not in _SUPPORTED_OWL:
            return True
    return False


def _closure(asserted: Graph) -> set[Triple] | None:
    """The OWL 2 RL closure by the rules our ontology uses, or None when the graph needs owlrl."""
    if _needs_reference(asserted):
        return None
    schema = _Schema(asserted)
    facts: set[Triple] = set(asserted)
    new: set[Triple] = set(facts)
    while new:
        derived = set(_derive(new, facts, schema)) - facts
        facts |= derived
        new = derived
    if _functional_clash(facts, schema):
        return None  # owlrl equates the two values (owl:sameAs) and copies every triple across: leave it to it
    nothing = [f"{s} is a member of owl:Nothing" for s, p, o in facts
               if p == RDF.type and o == OWL.Nothing and not isinstance(s, BNode)]
    _refuse(nothing + [f"{s} is a member of both {a} and {b}, which are disjoint"
                       for s, a, b in _disjoint_members(facts, schema)])
    return facts


def _derive(new: set[Triple], facts: set[Triple], schema: _Schema) -> Iterable[Triple]:
    """One round of the rules over the triples found in the last round (semi-naive)."""
    for s, p, o in new:
        if p == RDF.type:
            for c in schema.super_classes.get(o, ()):  # cax-sco
                yield s, RDF.type, c
            continue
        for q in schema.super_properties.get(p, ()):  # prp-spo1
            yield s, q, o
        for c in schema.domains.get(p, ()):  # prp-dom
            yield s, RDF.type, c
        for c in schema.ranges.get(p, ()):  # prp-rng
            yield o, RDF.type, c
        for q in schema.inverses.get(p, ()):  # prp-inv1/2
            yield o, q, s
        if p in schema.symmetric:  # prp-symp
            yield o, p, s
    yield from _chains(new, facts, schema)


def _chains(new: set[Triple], facts: set[Triple], schema: _Schema) -> Iterable[Triple]:
    """prp-spo2: a chain p1 … pn of links gives one link of its property (any link may be new)."""
    if not schema.chains:
        return
    by_property: defaultdict[Node, defaultdict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    for s, p, o in facts:
        by_property[p][s].add(o)
    touched = {p for _, p, _ in new}
    for prop, steps in schema.chains:
        if not touched.intersection(steps):
            continue
        for start in list(by_property[steps[0]]):
            ends = {start}
            for step in steps:
                ends = {o for x in ends for o in by_property[step].get(x, ())}
            for end in ends:
                yield start, prop, end


def _functional_clash(facts: set[Triple], schema: _Schema) -> bool:
    values: defaultdict[tuple[Node, Node], set[Node]] = defaultdict(set)
    for s, p, o in facts:
        if p in schema.functional:
            values[(s, p)].add(o)
    return any(len(v) > 1 for v in values.values())


def _disjoint_members(facts: set[Triple], schema: _Schema) -> list[tuple[Node, Node, Node]]:
    types: defaultdict[Node, set[Node]] = defaultdict(set)
    for s, p, o in facts:
        if p == RDF.type:
            types[s].add(o)
    return sorted((s, a, b) for a, b in schema.disjoint for s, ts in types.items() if a in ts and b in ts)
