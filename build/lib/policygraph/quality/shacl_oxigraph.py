"""SHACL validation on Oxigraph: each constraint of each shape is one SPARQL query over the whole graph.

Why this exists: pyshacl walks the focus nodes one by one in rdflib and runs every SPARQL-based
constraint once per focus node, which takes seconds on the shipped 7,000 triples and minutes at
tens of thousands. Here every (shape, constraint) pair is compiled into a single SELECT that returns all of
its violations at once: the shape's targets become a subquery binding ?this, core constraints
become FILTERs on the value nodes, and a sh:sparql query runs with $this unbound, joined with the
targets. Oxigraph evaluates them, and the results come back as the sh:ValidationReport pyshacl
would write.

Only the part of SHACL that shapes/ uses is implemented (see the tables below). Anything else in a
shapes graph raises UnsupportedShape naming the shape and the feature: nothing is skipped silently.

Two things Oxigraph does differently from rdflib: it stores numbers, booleans and dates in
canonical form ("65491.0"^^xsd:decimal is read back as "65491"), so values and filled-in messages
show canonical lexical forms; and it stores the integer subtypes (xsd:int, xsd:nonNegativeInteger
…) as xsd:integer, so sh:datatype with those is refused rather than answered wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, Variable


class UnsupportedShape(ValueError):
    """A shapes graph uses SHACL this engine does not implement."""

    def __init__(self, shapes: Graph, shape, feature: str):
        super().__init__(f"shape {_describe(shapes, shape)}: {feature} is not supported by the Oxigraph "
                         f"SHACL engine (use the pyshacl engine for this shapes graph)")


# ------------------------------------------------------------------ what is supported

# Properties that say nothing about validity (SHACL 2.3's non-validating properties, types, comments).
NON_VALIDATING = {RDF.type, RDFS.comment, RDFS.label, SH.message, SH.name, SH.description, SH.order, SH.group,
                  SH.defaultValue}
TARGETS = {SH.targetClass, SH.targetSubjectsOf, SH.target}
SHAPE_TYPES = {SH.NodeShape, SH.PropertyShape}

SUBCLASS_OF_STAR = f"<{RDF.type}>/<{RDFS.subClassOf}>*"

# Datatypes Oxigraph can cast to: a literal of one is well formed when the cast of its lexical form succeeds.
CASTABLE = {XSD[t] for t in ("boolean", "decimal", "integer", "float", "double", "date", "dateTime", "time", "gYear",
                             "gYearMonth", "gMonth", "gDay", "gMonthDay", "duration", "dayTimeDuration",
                             "yearMonthDuration")}
# Datatypes Oxigraph rewrites on load (to xsd:integer or xsd:dateTime): sh:datatype cannot see them.
REWRITTEN = {XSD[t] for t in ("int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                              "nonPositiveInteger", "negativeInteger", "unsignedInt", "unsignedLong",
                              "unsignedShort", "unsignedByte", "dateTimeStamp")}
NODE_KINDS = {SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
              SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
              SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
              SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))"}


def _term(node) -> str:
    """An rdflib IRI or literal in SPARQL syntax."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise TypeError(f"no SPARQL syntax for {node!r}")


# Each value-node constraint is a SPARQL expression true when the value node ({v}) satisfies it.
# Where SPARQL raises an error (a comparison of a string with a number, lang() of an IRI …) the
# constraint is not satisfied: that is SHACL's rule for every one of these components.

def _class(shapes, shape, c, v):
    return f"EXISTS {{ {v} {SUBCLASS_OF_STAR} {_term(c)} }}"


def _datatype(shapes, shape, dt, v):
    if dt in REWRITTEN:
        raise UnsupportedShape(shapes, shape, f"sh:datatype {dt.n3(shapes.namespace_manager)} "
                                              "(Oxigraph stores such literals as xsd:integer/xsd:dateTime)")
    well_formed = f" && isLiteral({_term(dt)}(STR({v})))" if dt in CASTABLE else ""
    return f"(isLiteral({v}) && datatype({v}) = {_term(dt)}{well_formed})"


def _in(shapes, shape, members, v):
    items = list(Collection(shapes, members))
    if any(isinstance(m, BNode) for m in items):
        raise UnsupportedShape(shapes, shape, "a blank node in sh:in")
    return "(" + (" || ".join(f"sameTerm({v}, {_term(m)})" for m in items) or "false") + ")"


def _language_in(shapes, shape, tags, v):
    return "(" + (" || ".join(f"langMatches(lang({v}), {_term(Literal(str(t)))})"
                              for t in Collection(shapes, tags)) or "false") + ")"


def _node_kind(shapes, shape, kind, v):
    if kind not in NODE_KINDS:
        raise UnsupportedShape(shapes, shape, f"sh:nodeKind {kind}")
    return NODE_KINDS[kind].format(v=v)


def _min_inclusive(shapes, shape, limit, v):
    return f"{v} >= {_term(limit)}"


def _max_inclusive(shapes, shape, limit, v):
    return f"{v} <= {_term(limit)}"


def _min_length(shapes, shape, n, v):
    return f"(!isBlank({v}) && STRLEN(STR({v})) >= {int(n)})"


def _pattern(shapes, shape, pattern, v):
    if (shape, SH.flags, None) in shapes:
        raise UnsupportedShape(shapes, shape, "sh:flags")
    return f"(!isBlank({v}) && REGEX(STR({v}), {_term(Literal(str(pattern)))}))"


def _not(shapes, shape, inner, v):
    return f"!({_conforms(shapes, inner, v)})"


VALUE_CHECKS = {  # parameter → (expression builder, constraint component)
    SH["class"]: (_class, SH.ClassConstraintComponent),
    SH.datatype: (_datatype, SH.DatatypeConstraintComponent),
    SH["in"]: (_in, SH.InConstraintComponent),
    SH.languageIn: (_language_in, SH.LanguageInConstraintComponent),
    SH.nodeKind: (_node_kind, SH.NodeKindConstraintComponent),
    SH.minInclusive: (_min_inclusive, SH.MinInclusiveConstraintComponent),
    SH.maxInclusive: (_max_inclusive, SH.MaxInclusiveConstraintComponent),
    SH.minLength: (_min_length, SH.MinLengthConstraintComponent),
    SH.pattern: (_pattern, SH.PatternConstraintComponent),
    SH["not"]: (_not, SH.NotConstraintComponent),
}
COUNTS = {SH.minCount: ("<", SH.MinCountConstraintComponent), SH.maxCount: (">", SH.MaxCountConstraintComponent)}

# What each kind of node may say; anything else is an UnsupportedShape.
COMMON = NON_VALIDATING | set(VALUE_CHECKS) | {SH.sparql, SH.severity, SH.deactivated}
NODE_SHAPE = COMMON | TARGETS | {SH.property}
PROPERTY_SHAPE = COMMON | TARGETS | {SH.path} | set(COUNTS) | {SH.qualifiedValueShape, SH.qualifiedMinCount}
INNER_SHAPE = NON_VALIDATING | set(VALUE_CHECKS)  # the shape of sh:not and sh:qualifiedValueShape
SPARQL_CONSTRAINT = NON_VALIDATING | {SH.select, SH.prefixes, SH.deactivated}
SPARQL_TARGET = NON_VALIDATING | {SH.select, SH.prefixes}
CLASSES = {RDFS.Class, OWL.Class}


def _ok(shapes, shape, param, arg, v: str) -> str:
    """The constraint as an expression that is never an error: true when value ``v`` satisfies it."""
    build, _ = VALUE_CHECKS[param]
    return f"COALESCE({build(shapes, shape, arg, v)}, false)"


def _conforms(shapes, inner, v: str) -> str:
    """Value ``v`` conforms to ``inner``, a shape of value-node constraints only (under sh:not and the like)."""
    _require(shapes, inner, INNER_SHAPE)
    parts = [_ok(shapes, inner, p, o, v) for p, o in _sorted(shapes.predicate_objects(inner)) if p in VALUE_CHECKS]
    return " && ".join(parts) or "true"


# ------------------------------------------------------------------ reading the shapes graph

def _describe(shapes: Graph, shape) -> str:
    if isinstance(shape, URIRef):
        return shape.n3(shapes.namespace_manager)
    for link in (SH.property, SH["not"], SH.qualifiedValueShape, SH.sparql, SH.target):
        parent = next(shapes.subjects(link, shape), None)
        if parent is not None:
            path = shapes.value(shape, SH.path)
            at = f" (sh:path {path.n3(shapes.namespace_manager)})" if path is not None else ""
            return f"{_describe(shapes, parent)} → {link.n3(shapes.namespace_manager)} [ ]{at}"
    return "[ ] (a blank node shape)"


def _require(shapes: Graph, node, allowed: set, types: set = SHAPE_TYPES) -> None:
    """UnsupportedShape unless every property of ``node`` is in ``allowed`` and every type in ``types``."""
    for p, o in shapes.predicate_objects(node):
        if p not in allowed:
            raise UnsupportedShape(shapes, node, p.n3(shapes.namespace_manager))
        if p == RDF.type and o not in types:
            hint = " (a shape that is a class targets its instances)" if o in CLASSES else ""
            raise UnsupportedShape(shapes, node, f"rdf:type {o.n3(shapes.namespace_manager)}{hint}")


def _deactivated(shapes: Graph, node) -> bool:
    return any(o.toPython() is True for o in shapes.objects(node, SH.deactivated) if isinstance(o, Literal))


def _path(shapes: Graph, shape) -> URIRef | None:
    paths = list(shapes.objects(shape, SH.path))
    if len(paths) > 1:
        raise UnsupportedShape(shapes, shape, "more than one sh:path")
    if not paths:
        return None
    path = paths[0]
    if not isinstance(path, URIRef):
        raise UnsupportedShape(shapes, shape, "a sh:path that is not a single property IRI "
                                              "(inverse, sequence, alternative and * + ? paths)")
    return path


def _prefixes(shapes: Graph, node) -> dict[str, str]:
    """The PREFIX declarations a sh:select may use: sh:declare of its sh:prefixes."""
    found = {}
    for source in shapes.objects(node, SH.prefixes):
        for decl in shapes.objects(source, SH.declare):
            found[str(shapes.value(decl, SH.prefix))] = str(shapes.value(decl, SH.namespace))
    return found


@dataclass(frozen=True)
class Sparql:
    """A piece of a query and the prefixes it needs."""
    text: str
    prefixes: tuple[tuple[str, str], ...] = ()


def _target_patterns(shapes: Graph, shape) -> list[Sparql]:
    patterns = []
    for c in shapes.objects(shape, SH.targetClass):
        patterns.append(Sparql(f"?this {SUBCLASS_OF_STAR} {_term(c)}"))
    for p in shapes.objects(shape, SH.targetSubjectsOf):
        patterns.append(Sparql(f"?this {_term(p)} []"))
    for target in shapes.objects(shape, SH.target):
        _require(shapes, target, SPARQL_TARGET, {SH.SPARQLTarget})
        select = _select(shapes, target)
        prefixes = _prefixes(shapes, target)
        if Variable("this") not in _algebra(shapes, target, select, prefixes).PV:
            raise UnsupportedShape(shapes, target, "a SPARQL target that does not select ?this")
        patterns.append(Sparql(select, tuple(sorted(prefixes.items()))))
    return patterns


def _select(shapes: Graph, node) -> str:
    text = shapes.value(node, SH.select)
    if text is None:
        raise UnsupportedShape(shapes, node, "a SPARQL constraint or target without sh:select")
    if not re.match(r"\s*(#[^\n]*\n\s*)*SELECT\b", str(text), re.IGNORECASE):
        raise UnsupportedShape(shapes, node, "a sh:select that does not start with SELECT (own PREFIX or BASE lines)")
    return str(text)


# ------------------------------------------------------------------ $this as a join variable

THIS = Variable("this")


def _algebra(shapes, node, select: str, prefixes: dict[str, str]):
    header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())
    try:
        return translateQuery(parseQuery(header + select)).algebra
    except Exception as e:  # rdflib's parser raises several kinds
        raise UnsupportedShape(shapes, node, f"a sh:select rdflib cannot parse ({e})") from None


def _mentions(x, var: Variable) -> bool:
    if isinstance(x, Variable):
        return x == var
    if isinstance(x, CompValue):
        return any(_mentions(v, var) for k, v in x.items() if k != "_vars")
    if isinstance(x, (list, tuple, set)):
        return any(_mentions(v, var) for v in x)
    return False


def _certain(node) -> set[Variable]:  # noqa: PLR0911 - one return per algebra operator
    """Variables bound in every solution of an algebra pattern (an under-estimate)."""
    name = node.name
    if name == "BGP":
        return {t for triple in node.triples for t in triple if isinstance(t, Variable)}
    if name == "Join":
        return _certain(node.p1) | _certain(node.p2)
    if name in ("LeftJoin", "Minus"):
        return _certain(node.p1)
    if name == "Union":
        return _certain(node.p1) & _certain(node.p2)
    if name == "Project":
        return _certain(node.p) & set(node.PV)
    if name == "Extend":  # BIND (?x AS ?y) keeps ?y bound when ?x is
        inner = _certain(node.p)
        return inner | {node.var} if isinstance(node.expr, Variable) and node.expr in inner else inner
    if name == "AggregateJoin":  # GROUP BY keys, and the SAMPLE() rdflib takes of them
        keys = {e for e in node.p.expr or [] if isinstance(e, Variable)} & _certain(node.p.p)
        return keys | {a.res for a in node.A
                       if a.name == "Aggregate_Sample" and isinstance(a.vars, Variable) and a.vars in keys}
    if name in ("Filter", "Distinct", "Reduced", "OrderBy", "ToMultiSet", "Group", "Graph"):
        return _certain(node.p)
    return set()


def _this_unsafe_at(node) -> str | None:
    """Where running the query with $this unbound and joining could differ from pre-binding $this.

    It cannot when every part of the query that uses ?this binds it itself (so a solution for one
    focus node never mixes with another's) and no LIMIT/OFFSET cuts across focus nodes. EXISTS is
    evaluated with the outer solution substituted, so it is left out of the walk."""
    if not _mentions(node, THIS):
        return None
    if node.name == "Slice" or THIS not in _certain(node):
        return node.name
    for key in ("p", "p1", "p2"):
        child = node.get(key)
        if isinstance(child, CompValue) and (found := _this_unsafe_at(child)):
            return found
    return None


def _check_joinable(shapes, constraint, select: str, prefixes: dict[str, str]) -> None:
    algebra = _algebra(shapes, constraint, select, prefixes)
    if THIS not in algebra.PV:
        raise UnsupportedShape(shapes, constraint, "a SPARQL constraint that does not select $this")
    for var in ("shapesGraph", "currentShape"):
        if _mentions(algebra, Variable(var)):
            raise UnsupportedShape(shapes, constraint, f"${var} in a SPARQL constraint")
    if Variable("message") in algebra.PV:
        raise UnsupportedShape(shapes, constraint, "a SPARQL constraint selecting ?message")
    if where := _this_unsafe_at(algebra.p):
        raise UnsupportedShape(shapes, constraint, f"a SPARQL constraint whose {where} uses $this without binding "
                                                   "it (it cannot run once with $this unbound)")


# ------------------------------------------------------------------ compiling shapes into queries

@dataclass(frozen=True)
class Check:
    """One constraint of one shape, as one SELECT over the whole graph."""
    shape: Node                     # the shape node in the shapes graph (an IRI or a blank node)
    component: URIRef
    query: str
    path: URIRef | None
    severity: URIRef
    messages: tuple[Literal, ...]
    constraint: Node | None = None  # the sh:sparql node, for SPARQL-based constraints


def _focus(patterns: list[Sparql]) -> Sparql:
    union = " UNION ".join(f"{{ {p.text}\n}}" for p in patterns)  # \n: a SPARQL target may end in a # comment
    prefixes = tuple(sorted({kv for p in patterns for kv in p.prefixes}))
    return Sparql(f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}", prefixes)


def _query(shapes, shape, focus: Sparql, body: str, prefixes: dict[str, str] | None = None) -> str:
    """``body`` with the PREFIX lines that it and the focus subquery need."""
    declared: dict[str, str] = {}
    for p, ns in [*focus.prefixes, *(prefixes or {}).items()]:
        if declared.setdefault(p, ns) != ns:
            raise UnsupportedShape(shapes, shape, f"prefix {p}: declared as both <{declared[p]}> and <{ns}>")
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(declared.items())) + body


def _value_query(focus: str, path: URIRef | None, ok: str) -> str:
    values = f"?this {_term(path)} ?value ." if path else "BIND (?this AS ?value)"
    return f"SELECT DISTINCT ?this ?value WHERE {{ {focus} {values} FILTER (!{ok}) }}"


def _count_query(focus: str, path: URIRef | None, op: str, n: int, condition: str = "true") -> str:
    """Focus nodes with fewer ("<") or more (">") than ``n`` values satisfying ``condition`` (on a
    property shape: _require refuses counts on a node shape, which has no path).

    The common cases, at least one and at most one, avoid GROUP BY: two to three times faster."""
    values = f"?this {_term(path)} ?value FILTER ({condition})"
    if op == "<" and n == 1:
        return f"SELECT DISTINCT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {values} }} }}"
    if op == ">" and n == 1 and condition == "true":
        return (f"SELECT DISTINCT ?this WHERE {{ {focus} ?this {_term(path)} ?value, ?other "
                f"FILTER (!sameTerm(?value, ?other)) }}")
    return (f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ {values} }} }} "
            f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) {op} {n})")


def _sparql_query(shapes, shape, constraint, focus: str, path: URIRef | None) -> tuple[str, dict[str, str]]:
    _require(shapes, constraint, SPARQL_CONSTRAINT, {SH.SPARQLConstraint})
    select = _select(shapes, constraint)
    if "$PATH" in select:
        if path is None:
            raise UnsupportedShape(shapes, constraint, "$PATH in a node shape's SPARQL constraint")
        select = re.sub(r"\$PATH\b", lambda _: _term(path), select)
    prefixes = _prefixes(shapes, constraint)
    _check_joinable(shapes, constraint, select, prefixes)
    return f"SELECT * WHERE {{ {focus} {{ {select}\n}} }}", prefixes  # \n: the select may end in a # comment


def _int(shapes, shape, param, arg) -> int:
    if not (isinstance(arg, Literal) and isinstance(arg.toPython(), int)):
        raise UnsupportedShape(shapes, shape, f"{param.n3(shapes.namespace_manager)} {arg!r} (not an integer)")
    return arg.toPython()


def _sorted(pairs):
    return sorted(pairs, key=lambda pair: tuple(map(str, pair)))


def _shape_checks(shapes: Graph, shape, focus: Sparql) -> Iterator[Check]:
    """The checks of one shape whose focus nodes ``focus`` selects."""
    path = _path(shapes, shape)
    _require(shapes, shape, NODE_SHAPE if path is None else PROPERTY_SHAPE)
    severity = shapes.value(shape, SH.severity) or SH.Violation
    messages = tuple(shapes.objects(shape, SH.message))
    f = focus.text

    def check(component, body, prefixes=None, constraint=None):
        extra = tuple(shapes.objects(constraint, SH.message)) if constraint is not None else ()
        return Check(shape, component, _query(shapes, shape, focus, body, prefixes), path, severity,
                     extra + messages, constraint)

    for param, arg in _sorted(shapes.predicate_objects(shape)):
        if param in VALUE_CHECKS:
            yield check(VALUE_CHECKS[param][1], _value_query(f, path, _ok(shapes, shape, param, arg, "?value")))
        elif param in COUNTS:
            op, component = COUNTS[param]
            yield check(component, _count_query(f, path, op, _int(shapes, shape, param, arg)))
        elif param == SH.qualifiedValueShape:
            n = shapes.value(shape, SH.qualifiedMinCount)
            if n is None or len(list(shapes.objects(shape, SH.qualifiedValueShape))) > 1:
                raise UnsupportedShape(shapes, shape, "sh:qualifiedValueShape other than one with sh:qualifiedMinCount")
            condition = _conforms(shapes, arg, "?value")
            yield check(SH.QualifiedMinCountConstraintComponent,
                        _count_query(f, path, "<", _int(shapes, shape, SH.qualifiedMinCount, n), condition))
        elif param == SH.sparql and not _deactivated(shapes, arg):
            body, prefixes = _sparql_query(shapes, shape, arg, f, path)
            yield check(SH.SPARQLConstraintComponent, body, prefixes, constraint=arg)


def _with_targets(shapes: Graph) -> list:
    return sorted({s for t in TARGETS for s in shapes.subjects(t, None)}, key=str)


def compile_shapes(shapes: Graph) -> list[Check]:
    """Every check the shapes graph asks for; UnsupportedShape for anything this engine cannot run.

    A property shape is checked on the focus nodes of every node shape that holds it (one query
    for all of them) and on its own targets, if it has any."""
    focus: dict[object, list[Sparql]] = {}
    for shape in _with_targets(shapes):
        if _deactivated(shapes, shape):
            continue
        patterns = _target_patterns(shapes, shape)
        members = [shape] + [p for p in shapes.objects(shape, SH.property) if not _deactivated(shapes, p)]
        for member in members:
            if member != shape and (member, SH.property, None) in shapes:
                raise UnsupportedShape(shapes, member, "sh:property inside a property shape")
            focus.setdefault(member, [])
            focus[member] += [p for p in patterns if p not in focus[member]]
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(RDF.type, SH.PropertyShape)):
        if shape not in focus:  # never validated, but a feature it uses must not pass unnoticed
            _require(shapes, shape, NODE_SHAPE | PROPERTY_SHAPE)
    return [c for shape, patterns in sorted(focus.items(), key=lambda kv: str(kv[0]))
            for c in _shape_checks(shapes, shape, _focus(patterns))]


# ------------------------------------------------------------------ running the checks

def _rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unexpected term in a SHACL result: {term!r}")


def _fill(template: Literal, bindings: dict) -> Literal:
    """A message with {?var} and {$var} replaced by the variables' values (as pyshacl does: the
    string value of the term), keeping the template's language."""
    text = str(template)
    for name, value in bindings.items():
        text = text.replace(f"{{?{name}}}", str(value)).replace(f"{{${name}}}", str(value))
    return Literal(text, lang=template.language)


@dataclass(frozen=True)
class Violation:
    focus: Node
    path: Node | None
    value: Node | None
    messages: tuple[Literal, ...]


def _violations(store: ox.Store, check: Check, node_shape: bool) -> Iterator[Violation]:
    solutions = store.query(check.query, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)  # every check is a SELECT
    names = [v.value for v in solutions.variables]
    seen = set()
    for row in solutions:
        bound = {n: _rdflib(row[n]) for n in names if row[n] is not None}
        key = tuple(sorted(bound.items()))
        if key in seen:
            continue
        seen.add(key)
        focus = bound["this"]
        if check.constraint is None:
            yield Violation(focus, check.path, bound.get("value"), check.messages)
            continue
        path = bound.get("path", check.path)
        value = bound.get("value", focus if node_shape else None)
        filled = {**bound, "this": focus, **({"path": path} if path is not None else {}),
                  **({"value": value} if value is not None else {})}
        yield Violation(focus, path, value, tuple(_fill(m, filled) for m in check.messages))


def _copy_description(source: Graph, node, target: Graph) -> None:
    """Copy a blank node's triples (and its blank objects', recursively), as pyshacl does for shapes."""
    if not isinstance(node, BNode) or (node, None, None) in target:
        return
    for p, o in source.predicate_objects(node):
        target.add((node, p, o))
        _copy_description(source, o, target)


def _add_result(report: Graph, root, shapes: Graph, check: Check, v: Violation) -> None:
    r = BNode()
    report.add((root, SH.result, r))
    report.add((r, RDF.type, SH.ValidationResult))
    report.add((r, SH.focusNode, v.focus))
    report.add((r, SH.resultSeverity, check.severity))
    report.add((r, SH.sourceShape, check.shape))
    report.add((r, SH.sourceConstraintComponent, check.component))
    for predicate, node in ((SH.resultPath, v.path), (SH.value, v.value), (SH.sourceConstraint, check.constraint)):
        if node is not None:
            report.add((r, predicate, node))
    for m in v.messages:
        report.add((r, SH.resultMessage, m))
    for node in (check.shape, check.constraint):
        _copy_description(shapes, node, report)


def merged_store(store: ox.Store, without=()) -> ox.Store:
    """A new store holding the triples of all of ``store``'s graphs (but ``without``) in its default graph."""
    skip = set(without)
    merged = ox.Store()
    merged.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in store if q.graph_name not in skip)
    return merged


def _one_graph(store: ox.Store) -> ox.Store:
    """Oxigraph's union of graphs keeps a triple stored in two graphs twice, and SPARQL aggregates in
    sh:sparql would count it twice. SHACL validates a set of triples: merge when there are several graphs."""
    graphs = list(store.named_graphs())
    default_used = next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None
    return store if len(graphs) + default_used <= 1 else merged_store(store)


def validate(store: ox.Store, shapes: Graph) -> tuple[bool, Graph]:
    """Validate the union of the store's graphs: (conforms, the sh:ValidationReport as an rdflib graph).

    Conforms means no result of severity sh:Violation (warnings and infos are allowed, as validate.py
    asks of pyshacl)."""
    checks = compile_shapes(shapes)
    store = _one_graph(store)
    report = Graph()
    report.bind("sh", SH)
    for prefix, ns in shapes.namespaces():
        report.bind(prefix, ns, override=False)
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    conforms = True
    for check in checks:
        node_shape = check.path is None
        for violation in _violations(store, check, node_shape):
            _add_result(report, root, shapes, check, violation)
            conforms = conforms and check.severity != SH.Violation
    report.add((root, SH.conforms, Literal(conforms)))
    return conforms, report
