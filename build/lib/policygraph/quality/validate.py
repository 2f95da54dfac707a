"""SHACL validation, and reports people and machines can read.

Two engines give the same results (but for numbers, which Oxigraph shows in canonical form):
``oxigraph`` (the default; shacl_oxigraph.py, one SPARQL query per constraint over the whole
graph, for graphs of any size) and ``pyshacl`` (rdflib, focus node by focus node: slow beyond
some thousands of triples). The data graph is the union of the dataset's graphs (the ontology
included, so sh:class sees the class hierarchy); shapes come from shapes/*.ttl. Results are
grouped by shape, each with its focus node's Japanese label, the path, the value and the
message in both languages.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH

from policygraph.quality import shacl_oxigraph
from policygraph.transform import ids
from policygraph.transform.graphs import union_graph
from policygraph.records.limits import InputFileError, check_rdf_file
from policygraph.quality.shacl_oxigraph import UnsupportedShape  # noqa: F401 (raised by validate_store)

ENGINES = ("oxigraph", "pyshacl")
SHAPES_IRI = URIRef("https://w3id.org/policygraph/shapes")


@dataclass(frozen=True)
class Result:
    shape: str
    focus: str
    focus_label: str | None
    path: str | None
    value: str | None
    severity: str
    component: str
    message_ja: str | None
    message_en: str | None


@dataclass
class Report:
    conforms: bool
    results: list[Result]
    graph: Graph  # the sh:ValidationReport as RDF

    def by_shape(self) -> dict[str, list[Result]]:
        groups: dict[str, list[Result]] = defaultdict(list)
        for r in self.results:
            groups[r.shape].append(r)
        return dict(sorted(groups.items()))


class InputError(ValueError):
    """A file that cannot be read as RDF: the message names the file and the position."""


FORMATS = {
    ".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS, ".nt": ox.RdfFormat.N_TRIPLES,
    ".ttl": ox.RdfFormat.TURTLE, ".jsonld": ox.RdfFormat.JSON_LD, ".json": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML, ".owl": ox.RdfFormat.RDF_XML, ".xml": ox.RdfFormat.RDF_XML,
}


def _quads(path: Path) -> Iterator[ox.Quad]:
    """The file's quads; pyoxigraph parses: it is fast and its syntax errors give line and column."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown RDF syntax for extension {path.suffix!r} "
                         f"(use one of {', '.join(sorted(FORMATS))})")
    try:
        check_rdf_file(path, fmt)  # nesting and entity limits first: pyoxigraph can crash on them
    except InputFileError as e:
        raise InputError(str(e)) from None
    try:
        yield from ox.parse(path=str(path), format=fmt)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    except SyntaxError as e:
        raise InputError(f"{path}: not valid {fmt.name}: {e}") from e


def read_rdf(paths: list[Path]) -> Graph:
    """Read RDF files of any common syntax into one rdflib graph (named graphs merged)."""
    merged = Graph()
    for path in paths:
        quads = list(_quads(path))
        nt = "".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads)
        merged.parse(data=nt, format="nt")
    return merged


def read_store(paths: list[Path]) -> ox.Store:
    """Read RDF files of any common syntax into one pyoxigraph store (all in its default graph: merged)."""
    store = ox.Store()
    for path in paths:
        store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in _quads(path))
    return store


def load_shapes(root: Path) -> Graph:
    g = Graph()
    for ttl in sorted((root / "shapes").glob("*.ttl")):
        g.parse(ttl, format="turtle")
    return g


def _short(node) -> str | None:
    if node is None:
        return None
    if isinstance(node, BNode):
        return "(blank node)"
    return str(node)


def _shape_name(report: Graph, shapes: Graph, shape) -> str:
    """A property shape is a blank node: name it by its node shape and path."""
    if isinstance(shape, URIRef):
        return str(shape)
    parent = next(shapes.subjects(SH.property, shape), None)
    path = shapes.value(shape, SH.path)
    if parent is not None:
        return f"{parent} / {path.n3(shapes.namespace_manager) if path is not None else '?'}"
    return "(anonymous shape)"


def _report(conforms: bool, report: Graph, shapes: Graph, label: Callable[[object], str | None]) -> Report:
    """The results of a sh:ValidationReport, with ``label`` giving a focus node's Japanese label."""
    results = []
    for res in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(res, SH.focusNode)
        messages = {getattr(m, "language", None): str(m) for m in report.objects(res, SH.resultMessage)}
        value = report.value(res, SH.value)
        results.append(Result(
            shape=_shape_name(report, shapes, report.value(res, SH.sourceShape)),
            focus=_short(focus) or "(no focus node)", focus_label=label(focus),
            path=_short(report.value(res, SH.resultPath)),
            value=(str(value) if isinstance(value, Literal) else _short(value)),
            severity=str(report.value(res, SH.resultSeverity)).rsplit("#", 1)[-1],
            component=str(report.value(res, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            message_ja=messages.get("ja") or messages.get(None),
            message_en=messages.get("en") or messages.get(None),
        ))
    # a property shape shared by two node shapes reports the same fault twice: keep one
    results = sorted(set(results), key=lambda r: (r.shape, r.focus, r.path or "", r.value or "", r.component))
    return Report(bool(conforms), results, report)


def _template_pattern(message: Literal) -> re.Pattern:
    return re.compile("(?s)" + ".*".join(map(re.escape, re.split(r"\{[?$]\w+\}", str(message)))))


def _restore_languages(report: Graph, shapes: Graph) -> None:
    """pyshacl drops the language tag of a SPARQL constraint's sh:message when it fills in the {?var}
    placeholders: give each message back the tag of the one template it was made from."""
    for res, constraint in list(report.subject_objects(SH.sourceConstraint)):
        templates = [m for m in shapes.objects(constraint, SH.message) if isinstance(m, Literal) and m.language]
        for m in list(report.objects(res, SH.resultMessage)):
            languages = {t.language for t in templates if _template_pattern(t).fullmatch(str(m))}
            if isinstance(m, Literal) and not m.language and len(languages) == 1:
                report.remove((res, SH.resultMessage, m))
                report.add((res, SH.resultMessage, Literal(str(m), lang=languages.pop())))


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Run pyshacl (SHACL-AF on, for SPARQL targets; no inference: entailments are already materialised)."""
    conforms, report, _ = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, abort_on_first=False)
    _restore_languages(report, shapes)

    def label(focus):
        return min((str(o) for o in data.objects(focus, RDFS.label) if getattr(o, "language", None) == "ja"),
                   default=None)
    return _report(conforms, report, shapes, label)


def validate_store(store: ox.Store, shapes: Graph) -> Report:
    """Validate the union of a pyoxigraph store's graphs with the Oxigraph engine (shacl_oxigraph.py).

    Raises UnsupportedShape if the shapes use SHACL that engine does not implement."""
    conforms, report = shacl_oxigraph.validate(store, shapes)
    label_predicate = ox.NamedNode(str(RDFS.label))

    def label(focus):
        node = ox.NamedNode(str(focus)) if isinstance(focus, URIRef) else ox.BlankNode(str(focus))
        return min((q.object.value for q in store.quads_for_pattern(node, label_predicate, None)
                    if isinstance(q.object, ox.Literal) and q.object.language == "ja"), default=None)
    return _report(conforms, report, shapes, label)


def validate_data(data: Graph | ox.Store, shapes: Graph) -> Report:
    """pyshacl for an rdflib graph, the Oxigraph engine for a pyoxigraph store."""
    return validate_store(data, shapes) if isinstance(data, ox.Store) else validate_graph(data, shapes)


def read_data(paths: list[Path], engine: str = "oxigraph") -> Graph | ox.Store:
    """RDF files as the data the engine reads."""
    return read_store(paths) if engine == "oxigraph" else read_rdf(paths)


def build_data(build, engine: str = "oxigraph") -> Graph | ox.Store:
    """A build's graphs but the shapes, as the data the engine reads (``build`` is a build.Build)."""
    if engine == "oxigraph":
        return shacl_oxigraph.merged_store(build.store, without=[ox.NamedNode(str(ids.G_SHAPES))])
    return union_graph(build.dataset, with_shapes=False)


def render_text(report: Report) -> str:
    if report.conforms:
        return "valid: no SHACL violations"
    lines = [f"{len(report.results)} SHACL result(s) in {len(report.by_shape())} shape(s):"]
    for shape, results in report.by_shape().items():
        lines.append(f"\n{shape}  ({len(results)})")
        for r in results:
            focus = f"{r.focus_label} <{r.focus}>" if r.focus_label else f"<{r.focus}>"
            lines.append(f"  - {r.severity} ({r.component}): {focus}")
            if r.path:
                lines.append(f"      path:  {r.path}")
            if r.value is not None:
                lines.append(f"      value: {r.value}")
            for msg in dict.fromkeys(m for m in (r.message_ja, r.message_en) if m):
                lines.append(f"      {msg}")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps({"conforms": report.conforms, "results": [asdict(r) for r in report.results]},
                      ensure_ascii=False, indent=2)


def render_turtle(report: Report) -> str:
    return report.graph.serialize(format="turtle")
