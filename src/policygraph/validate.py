"""SHACL validation with pyshacl, and reports people and machines can read.

The data graph is the union of the dataset's graphs (the ontology included, so sh:class
sees the class hierarchy); shapes come from shapes/*.ttl. Results are grouped by shape,
each with its focus node's Japanese label, the path, the value and the message in both
languages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH

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


def read_rdf(paths: list[Path]) -> Graph:
    """Read RDF files of any common syntax into one graph (named graphs merged).

    pyoxigraph parses: it is fast and its syntax errors give line and column.
    """
    merged = Graph()
    for path in paths:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: unknown RDF syntax for extension {path.suffix!r} "
                             f"(use one of {', '.join(sorted(FORMATS))})")
        try:
            quads = list(ox.parse(path=str(path), format=fmt))
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
        except SyntaxError as e:
            raise InputError(f"{path}: not valid {fmt.name}: {e}") from e
        nt = "".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads)
        merged.parse(data=nt, format="nt")
    return merged


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


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Run pyshacl (SHACL-AF on, for SPARQL targets; no inference: entailments are already materialised)."""
    conforms, report, _ = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, abort_on_first=False)
    results = []
    for res in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(res, SH.focusNode)
        label = next((str(o) for o in data.objects(focus, RDFS.label) if getattr(o, "language", None) == "ja"), None)
        messages = {getattr(m, "language", None): str(m) for m in report.objects(res, SH.resultMessage)}
        value = report.value(res, SH.value)
        results.append(Result(
            shape=_shape_name(report, shapes, report.value(res, SH.sourceShape)),
            focus=_short(focus), focus_label=label,
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
