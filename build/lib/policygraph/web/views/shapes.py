"""The SHACL shapes' documentation as data, read from the shapes graph's triples: each node shape's
targets, severity and comment, each property constraint (its path and parameters, said in words by the
template through the interface strings ``sh-…``), each SPARQL constraint with its message and query.

A parameter this module has no words for is still listed, under its own name: nothing the graph
states is left out of the page."""

from __future__ import annotations

from dataclasses import dataclass, field

from policygraph.web.graph import Binding
from policygraph.web.views.ontology import OWL, RDF, RDFS, TYPE, Triples, anchor, iris, rdf_list, texts

SH = "http://www.w3.org/ns/shacl#"
# Parameters with words of their own: sh:… → interface string (sh-<name>); lists take their members.
WORDED = ("class", "datatype", "nodeKind", "pattern", "in", "languageIn", "minInclusive", "maxInclusive",
          "minExclusive", "maxExclusive", "minLength", "maxLength", "hasValue", "node", "uniqueLang",
          "equals", "disjoint", "lessThan", "lessThanOrEquals", "closed", "ignoredProperties")
LISTS = ("in", "languageIn", "ignoredProperties")
NESTED = ("not", "and", "or", "xone")
# Said elsewhere on the page (the path, the message, the counts …) or structure of the shape itself.
SHOWN = {RDF + "type", RDFS + "comment", RDFS + "label"} | {SH + p for p in (
    "path", "message", "severity", "name", "description", "order", "group", "deactivated", "minCount",
    "maxCount", "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint",
    "property", "sparql", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "target",
    "flags", "declare", "prefixes", "select")}
PATH_OPS = (("inversePath", "^{}"), ("zeroOrMorePath", "{}*"), ("oneOrMorePath", "{}+"), ("zeroOrOnePath", "{}?"))


@dataclass
class Constraint:
    key: str                                   # interface string: sh-class, sh-count …
    args: dict[str, str] = field(default_factory=dict)
    values: list[Binding] = field(default_factory=list)
    nested: list[Constraint] = field(default_factory=list)


@dataclass
class Rule:
    """A property constraint (path and parameters) or a SPARQL constraint (query)."""
    iri: str = ""                              # a named, reusable property shape's IRI
    path: list[tuple[str, str]] = field(default_factory=list)   # ("iri", IRI) or ("text", "^" …)
    constraints: list[Constraint] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    severity: str = ""
    query: str = ""


@dataclass
class Target:
    key: str                                   # sh-target-class …
    values: list[Binding] = field(default_factory=list)
    query: str = ""


@dataclass
class ShapeDoc:
    iri: str
    comments: dict[str, str]
    messages: dict[str, str]
    severity: str
    targets: list[Target]
    constraints: list[Constraint]              # on the focus node itself
    properties: list[Rule]
    sparql: list[Rule]

    @property
    def id(self) -> str:
        return anchor(self.iri)


@dataclass
class ShapesDoc:
    iri: str
    titles: dict[str, str]
    imports: list[str]
    shapes: list[ShapeDoc]
    reusable: list[Rule]                       # property shapes with IRIs, which shapes share

    def by_target(self) -> list[tuple[str, list[ShapeDoc]]]:
        """Each target class with the shapes that check its instances."""
        found: dict[str, list[ShapeDoc]] = {}
        for shape in self.shapes:
            for target in shape.targets:
                if target.key == "sh-targetClass":
                    for v in target.values:
                        found.setdefault(v["value"], []).append(shape)
        return sorted(found.items())


def severity(iri: str) -> str:
    """The interface string of a SHACL severity (sh:Violation when none is given), or "" for another IRI."""
    name = iri.removeprefix(SH) if iri else "Violation"
    return f"sh-severity-{name}" if name in ("Violation", "Warning", "Info") else ""


def _one(po: dict[str, list[Binding]], name: str) -> str:
    values = po.get(SH + name, [])
    return values[0]["value"] if values else ""


def path_of(triples: Triples, node: Binding, depth: int = 0) -> list[tuple[str, str]]:
    """A SHACL property path as tokens: IRIs, and operators as text (^p, p*, a / b, a | b)."""
    if node["type"] == "uri" or depth > 8:
        return [("iri", node["value"])]
    members = rdf_list(triples, node)
    if members:
        return _joined(triples, members, " / ", depth)
    po = triples.get(node["value"], {})
    if po.get(SH + "alternativePath"):
        return _joined(triples, rdf_list(triples, po[SH + "alternativePath"][0]), " | ", depth)
    for op, form in PATH_OPS:
        if po.get(SH + op):
            before, after = form.split("{}")
            inner = path_of(triples, po[SH + op][0], depth + 1)
            return [("text", before + ("(" if len(inner) > 1 else "")), *inner,
                    ("text", (")" if len(inner) > 1 else "") + after)]
    return [("text", "?")]


def _joined(triples: Triples, members: list[Binding], sep: str, depth: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, m in enumerate(members):
        out += ([("text", sep)] if i else []) + path_of(triples, m, depth + 1)
    return out


def _counts(po: dict[str, list[Binding]], low: str, high: str) -> list[Constraint]:
    least, most = _one(po, low), _one(po, high)
    if least and least == most:
        return [Constraint("sh-exactly", {"n": least})]
    return ([Constraint("sh-min-count", {"n": least})] if least else []) + \
           ([Constraint("sh-max-count", {"n": most})] if most else [])


def constraints(triples: Triples, node: str, depth: int = 0) -> list[Constraint]:
    """The constraints a shape node states, in the order a reader wants them: counts, then values."""
    po = triples.get(node, {})
    out = _counts(po, "minCount", "maxCount")
    for name in WORDED:
        for v in po.get(SH + name, []):
            values = rdf_list(triples, v) if name in LISTS else [v]
            args = {"flags": _one(po, "flags")} if name == "pattern" else {}
            out.append(Constraint("sh-" + name, args, values))
    for name in NESTED:
        for v in po.get(SH + name, []):
            shapes = rdf_list(triples, v) if name != "not" else [v]
            out.append(Constraint("sh-" + name, nested=[c for s in shapes for c in _nested(triples, s, depth)]))
    for v in po.get(SH + "qualifiedValueShape", []):
        nested = _nested(triples, v, depth)
        out += [Constraint(f"sh-qualified-{end}", {"n": n}, nested=nested)
                for end, n in (("min", _one(po, "qualifiedMinCount")), ("max", _one(po, "qualifiedMaxCount"))) if n]
    known = SHOWN | {SH + n for n in (*WORDED, *NESTED)}
    for p, values in sorted(po.items()):
        if p not in known:
            out.append(Constraint("sh-other", {"name": p}, values))
    return out


def _nested(triples: Triples, node: Binding, depth: int) -> list[Constraint]:
    if node["type"] == "uri" or depth > 4:
        return [Constraint("sh-node", values=[node])]
    return constraints(triples, node["value"], depth + 1)


def _rule(triples: Triples, node: Binding) -> Rule:
    po = triples.get(node["value"], {})
    path = path_of(triples, po[SH + "path"][0]) if po.get(SH + "path") else []
    return Rule(node["value"] if node["type"] == "uri" else "", path, constraints(triples, node["value"]),
                texts(po.get(SH + "message", [])), texts(po.get(SH + "name", [])), _one(po, "severity"),
                _one(po, "select"))


def _targets(triples: Triples, po: dict[str, list[Binding]]) -> list[Target]:
    out = [Target("sh-" + name, po[SH + name]) for name in ("targetClass", "targetNode", "targetSubjectsOf",
                                                            "targetObjectsOf") if po.get(SH + name)]
    for t in po.get(SH + "target", []):
        out.append(Target("sh-target", [t], _one(triples.get(t["value"], {}), "select")))
    return out


def _shape(triples: Triples, iri: str) -> ShapeDoc:
    po = triples[iri]
    sort = lambda r: ("".join(v for _, v in r.path), r.iri)  # noqa: E731 — by path, then name
    return ShapeDoc(iri, texts(po.get(RDFS + "comment", [])), texts(po.get(SH + "message", [])),
                    _one(po, "severity"), _targets(triples, po), constraints(triples, iri),
                    sorted((_rule(triples, p) for p in po.get(SH + "property", [])), key=sort),
                    [_rule(triples, s) for s in sorted(po.get(SH + "sparql", []), key=lambda b: b["value"])])


def build(triples: Triples) -> ShapesDoc:
    """The documentation of the shapes graph's triples: node shapes by name, then the reusable property shapes."""
    typed = lambda kind: sorted(s for s, po in triples.items()  # noqa: E731
                                if not s.startswith("_:") and {"type": "uri", "value": SH + kind} in po.get(TYPE, []))
    header = next((s for s in typed_owl(triples)), "")
    po = triples.get(header, {})
    return ShapesDoc(header, texts(po.get("http://purl.org/dc/terms/title", [])), iris(po.get(OWL + "imports", [])),
                     [_shape(triples, s) for s in typed("NodeShape")],
                     [_rule(triples, {"type": "uri", "value": s}) for s in typed("PropertyShape")])


def typed_owl(triples: Triples) -> list[str]:
    return sorted(s for s, po in triples.items() if {"type": "uri", "value": OWL + "Ontology"} in po.get(TYPE, []))
