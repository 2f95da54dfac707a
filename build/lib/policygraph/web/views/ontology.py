"""The ontology's documentation as data: its metadata, namespaces, classes, properties, data structure
definitions and code lists, read from the triples of the ontology graph (and, for the code lists kept
with the data, from the concept schemes of the other graphs). Nothing here is written by hand: a term
or a field the graph does not state is absent, and the page says so."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from policygraph.transform.ids import BASE, PREFIXES
from policygraph.web.graph import Binding, Row

PG = "https://w3id.org/policygraph/def#"
ONTOLOGY = BASE + "def"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
QB = "http://purl.org/linked-data/cube#"
TYPE = RDF + "type"
# Prefixes of the vocabularies a policygraph file may use: the project's own (transform.ids) and those its
# Turtle files declare besides (ontology/*.ttl, shapes/*.ttl).
KNOWN = {**{p: str(ns) for p, ns in PREFIXES.items()}, "foaf": "http://xmlns.com/foaf/0.1/",
         "vann": "http://purl.org/vocab/vann/", "sh": "http://www.w3.org/ns/shacl#",
         "pgsh": BASE + "shapes#", "obeu-budgetphase": "http://data.openbudgets.eu/resource/codelist/budget-phase/"}
KINDS = (OWL + "Class", OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "AnnotationProperty",
         QB + "DataStructureDefinition")
# Where an IRI is only a value of these, it names a document about the ontology, not a term it uses.
DOCUMENT_LINKS = (DCT + "license", RDFS + "seeAlso", OWL + "versionIRI", OWL + "priorVersion")
ALWAYS = {"title", "version-iri", "version-info", "licence", "creator", "contributor", "created", "modified",
          "issued", "imports"}
METADATA = (("title", DCT + "title"), ("description", DCT + "description"), ("version-iri", OWL + "versionIRI"),
            ("version-info", OWL + "versionInfo"), ("licence", DCT + "license"), ("creator", DCT + "creator"),
            ("contributor", DCT + "contributor"), ("publisher", DCT + "publisher"), ("created", DCT + "created"),
            ("modified", DCT + "modified"), ("issued", DCT + "issued"), ("imports", OWL + "imports"),
            ("prefix", "http://purl.org/vocab/vann/preferredNamespacePrefix"),
            ("namespace", "http://purl.org/vocab/vann/preferredNamespaceUri"), ("see-also", RDFS + "seeAlso"))
MAPPINGS = tuple(SKOS + m for m in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch"))

Triples = dict[str, dict[str, list[Binding]]]   # subject → predicate → objects


def index(rows: list[Row]) -> Triples:
    """SELECT ?s ?p ?o rows by subject and predicate (blank nodes keep the labels of their one answer)."""
    triples: Triples = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["o"] not in triples[r["s"]["value"]][r["p"]["value"]]:
            triples[r["s"]["value"]][r["p"]["value"]].append(r["o"])
    return triples


def texts(values: list[Binding]) -> dict[str, str]:
    """Literals by language tag ("" for none), the first of each."""
    out: dict[str, str] = {}
    for v in values:
        if v["type"] == "literal":
            out.setdefault(v.get("xml:lang", ""), v["value"])
    return out


def iris(values: list[Binding]) -> list[str]:
    return sorted({v["value"] for v in values if v["type"] == "uri"})


def anchor(iri: str) -> str:
    """The id of a term on its page: a pg: or pgsh: term's local name (pages link /ontology#LocalName and
    /shapes#LocalName), for any other IRI of ours its path (id/code/budget-stage/draft: the slashes keep
    it apart from local names)."""
    if iri.startswith(BASE) and "#" in iri:   # pg:X → X, pgsh:X → X (as safe_href links them)
        return iri.split("#", 1)[1]
    if iri.startswith(BASE):
        return iri[len(BASE):]
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def ordered(texts_by_lang: dict[str, str], lang: str) -> list[tuple[str, str]]:
    """(language, text) with the page's language first, then Japanese, English and any other."""
    rank = {"ja": 1, "en": 2, lang: 0}   # the page's language last, so it wins
    return sorted(texts_by_lang.items(), key=lambda kv: (rank.get(kv[0], 3), kv[0]))


@dataclass
class Term:
    iri: str
    labels: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return anchor(self.iri)


@dataclass
class PropertyDoc(Term):
    kind: str = ""
    domains: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    supers: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)
    inverses: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)   # owl:FunctionalProperty …, qb:DimensionProperty …
    chains: list[list[str]] = field(default_factory=list)
    code_lists: list[str] = field(default_factory=list)


@dataclass
class ClassDoc(Term):
    supers: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)
    disjoint: list[str] = field(default_factory=list)
    domain_of: list[PropertyDoc] = field(default_factory=list)
    range_of: list[PropertyDoc] = field(default_factory=list)
    inherited: list[tuple[str, list[PropertyDoc]]] = field(default_factory=list)   # (ancestor, its domain properties)


@dataclass
class Component:
    role: str            # dimension, measure or attribute
    prop: str
    order: str = ""
    required: bool = False


@dataclass
class StructureDoc(Term):
    components: list[Component] = field(default_factory=list)


@dataclass
class Concept(Term):
    notations: list[str] = field(default_factory=list)
    broader: list[str] = field(default_factory=list)
    mappings: list[tuple[str, str]] = field(default_factory=list)   # (skos mapping property, IRI)
    first: bool = True   # the concept's first appearance on the page carries its anchor


@dataclass
class Scheme(Term):
    graph: str = ""
    concepts: list[Concept] = field(default_factory=list)


@dataclass
class Namespace:
    prefix: str
    iri: str
    terms: int   # distinct IRIs of the ontology graph in it


@dataclass
class Field:
    """A row of the metadata table: language-tagged texts, or other values (IRIs, dates, plain strings)."""
    key: str
    texts: dict[str, str]
    values: list[Binding]
    always: bool   # shown even when the ontology does not state it, to say so


@dataclass
class OntologyDoc:
    iri: str
    metadata: list[Field]
    namespaces: list[Namespace]
    classes: list[ClassDoc]
    properties: dict[str, list[PropertyDoc]]   # by kind (owl:ObjectProperty …)
    structures: list[StructureDoc]
    external: list[str]   # classes of other vocabularies the ontology's axioms name

    def texts(self, key: str) -> dict[str, str]:
        """The ontology's texts of a metadata field (title, description) by language."""
        return next((m.texts for m in self.metadata if m.key == key), {})


def _term(cls: type[Term], iri: str, po: dict[str, list[Binding]]) -> Term:
    labels = texts(po.get(SKOS + "prefLabel", [])) or texts(po.get(RDFS + "label", []))
    return cls(iri, labels, texts(po.get(SKOS + "definition", [])), texts(po.get(RDFS + "comment", [])))


def _ours(triples: Triples, kind: str) -> list[str]:
    return sorted(s for s, po in triples.items() if s.startswith(PG) and {"type": "uri", "value": kind} in po[TYPE])


def rdf_list(triples: Triples, node: Binding) -> list[Binding]:
    """The members of an RDF collection (rdf:first / rdf:rest), bounded against a cyclic list."""
    out: list[Binding] = []
    while node["type"] == "bnode" and len(out) < 10_000:
        po = triples.get(node["value"], {})
        if not po.get(RDF + "first") or not po.get(RDF + "rest"):
            break
        out.append(po[RDF + "first"][0])
        node = po[RDF + "rest"][0]
    return out


def _property(triples: Triples, iri: str, kind: str) -> PropertyDoc:
    po = triples[iri]
    p = _term(PropertyDoc, iri, po)
    assert isinstance(p, PropertyDoc)
    p.kind, p.domains, p.ranges = kind, iris(po.get(RDFS + "domain", [])), iris(po.get(RDFS + "range", []))
    p.supers = iris(po.get(RDFS + "subPropertyOf", []))
    me = {"type": "uri", "value": iri}
    p.subs = sorted(s for s, spo in triples.items() if me in spo.get(RDFS + "subPropertyOf", []))
    p.inverses = sorted({*iris(po.get(OWL + "inverseOf", [])),
                         *(s for s, spo in triples.items() if me in spo.get(OWL + "inverseOf", []))})
    p.characteristics = [t for t in iris(po[TYPE]) if t not in KINDS]
    p.chains = [[m["value"] for m in rdf_list(triples, c)] for c in po.get(OWL + "propertyChainAxiom", [])]
    p.code_lists = iris(po.get(QB + "codeList", []))
    return p


def _classes(triples: Triples, props: list[PropertyDoc]) -> list[ClassDoc]:
    out = []
    for iri in _ours(triples, OWL + "Class"):
        po = triples[iri]
        c = _term(ClassDoc, iri, po)
        assert isinstance(c, ClassDoc)
        me = {"type": "uri", "value": iri}
        c.supers = iris(po.get(RDFS + "subClassOf", []))
        c.subs = sorted(s for s, spo in triples.items() if me in spo.get(RDFS + "subClassOf", []))
        c.disjoint = sorted({*iris(po.get(OWL + "disjointWith", [])),
                             *(s for s, spo in triples.items() if me in spo.get(OWL + "disjointWith", []))})
        c.domain_of = [p for p in props if iri in p.domains]
        c.range_of = [p for p in props if iri in p.ranges]
        out.append(c)
    by_iri = {c.iri: c for c in out}
    for c in out:
        c.inherited = [(a, [p for p in props if a in p.domains]) for a in ancestors(by_iri, c.iri)]
        c.inherited = [(a, ps) for a, ps in c.inherited if ps]
    return out


def ancestors(classes: dict[str, ClassDoc], iri: str) -> list[str]:
    """Every superclass of a class, nearest first (the ontology's own subClassOf statements, cycles ignored)."""
    seen: list[str] = []
    todo = list(classes[iri].supers) if iri in classes else []
    while todo:
        a = todo.pop(0)
        if a not in seen and a != iri:
            seen.append(a)
            todo += classes[a].supers if a in classes else []
    return seen


def _structures(triples: Triples) -> list[StructureDoc]:
    out = []
    for iri in _ours(triples, QB + "DataStructureDefinition"):
        s = _term(StructureDoc, iri, triples[iri])
        assert isinstance(s, StructureDoc)
        for node in triples[iri].get(QB + "component", []):
            spec = triples.get(node["value"], {})
            for role in ("dimension", "measure", "attribute"):
                for prop in iris(spec.get(QB + role, [])):
                    order = spec.get(QB + "order", [{"value": ""}])[0]["value"]
                    required = spec.get(QB + "componentRequired", [{"value": ""}])[0]["value"] == "true"
                    s.components.append(Component(role, prop, order, required))
        s.components.sort(key=lambda c: (("dimension", "measure", "attribute").index(c.role), c.order.zfill(4), c.prop))
        out.append(s)
    return out


def namespace_of(iri: str) -> str:
    """The namespace an IRI is in: the longest known one that it starts with, else up to its last # or /."""
    known = [ns for ns in KNOWN.values() if iri.startswith(ns)]
    if known:
        return max(known, key=len)
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[:cut + 1]


def used_iris(triples: Triples, ontology: str = ONTOLOGY) -> set[str]:
    """The IRIs the ontology graph uses as terms: every IRI in it but the ontology itself and the documents
    its metadata points to (its licence, version IRI, see-also pages)."""
    used: set[str] = set()
    for s, po in triples.items():
        for p, objects in po.items():
            used |= {s, p} if not s.startswith("_:") else {p}
            for o in objects:
                if o["type"] == "uri" and p not in DOCUMENT_LINKS:
                    used.add(o["value"])
                elif o["type"] == "literal" and o.get("datatype"):
                    used.add(o["datatype"])
    return {i for i in used if i != ontology and "://" in i}


def namespaces(triples: Triples) -> list[Namespace]:
    counts: dict[str, int] = defaultdict(int)
    for i in used_iris(triples):
        counts[namespace_of(i)] += 1
    prefix = {ns: p for p, ns in KNOWN.items()}
    rows = [Namespace(prefix.get(ns, ""), ns, n) for ns, n in counts.items()]
    return sorted(rows, key=lambda r: (r.prefix != "pg", r.prefix == "", r.prefix, r.iri))


def build(triples: Triples) -> OntologyDoc:
    """The documentation of the ontology graph's triples."""
    props = {kind: [_property(triples, i, kind) for i in _ours(triples, kind)] for kind in KINDS[1:4]}
    every = [p for ps in props.values() for p in ps]
    classes = _classes(triples, every)
    mentioned = {i for c in classes for i in c.supers} | {i for p in props[OWL + "ObjectProperty"]
                                                          for i in (*p.domains, *p.ranges)}
    ontology = next((s for s, po in triples.items() if {"type": "uri", "value": OWL + "Ontology"} in po.get(TYPE, [])),
                    ONTOLOGY)
    po = triples.get(ontology, {})
    metadata = [Field(key, {k: v for k, v in texts(po.get(p, [])).items() if k},
                      [v for v in po.get(p, []) if not v.get("xml:lang")], key in ALWAYS) for key, p in METADATA]
    return OntologyDoc(ontology, [m for m in metadata if m.always or m.texts or m.values], namespaces(triples),
                       classes, props, _structures(triples), sorted(mentioned - {c.iri for c in classes}))


def schemes(rows: list[Row], lang: str) -> list[Scheme]:
    """Code lists from rows of ?scheme ?g ?s ?p ?o (the scheme's own statements and its concepts'), those of
    the ontology graph first; concepts by notation, else label."""
    found: dict[str, Scheme] = {}
    concepts: dict[str, Triples] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in rows:
        scheme = r["scheme"]["value"]
        found.setdefault(scheme, Scheme(scheme, graph=r["g"]["value"]))
        if r["s"]["value"] != scheme:
            concepts[scheme][r["s"]["value"]][r["p"]["value"]].append(r["o"])
        elif r["o"] not in (bucket := concepts[scheme][""][r["p"]["value"]]):
            bucket.append(r["o"])
    seen: set[str] = set()
    for scheme, s in found.items():
        own = concepts[scheme].pop("", {})
        s.labels = texts(own.get(SKOS + "prefLabel", [])) or texts(own.get(RDFS + "label", []))
        s.definitions = texts(own.get(SKOS + "definition", []))
        s.concepts = sorted((_concept(i, po, seen) for i, po in concepts[scheme].items()),
                            key=lambda c: (c.notations[:1] == [], [_by_number(n) for n in c.notations],
                                           c.labels.get(lang) or c.labels.get("ja", ""), c.iri))
    ontology_graph = BASE + "graph/ontology"
    return sorted(found.values(), key=lambda s: (s.graph != ontology_graph, s.iri))


def _by_number(notation: str) -> tuple[int, str]:
    """Notations in order: numbers by value (2 before 10), others by their letters."""
    return (0, notation.zfill(12)) if notation.isdigit() else (1, notation)


def _concept(iri: str, po: dict[str, list[Binding]], seen: set[str]) -> Concept:
    c = _term(Concept, iri, po)
    assert isinstance(c, Concept)
    c.notations = sorted({v["value"] for v in po.get(SKOS + "notation", [])})
    c.broader = iris(po.get(SKOS + "broader", []))
    c.mappings = [(m, i) for m in MAPPINGS for i in iris(po.get(m, []))]
    c.first = iri not in seen
    seen.add(iri)
    return c
